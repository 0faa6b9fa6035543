package org.kerrighed.mm;

/** {@link SharedMemory#EXCLUSIVE} was asked and a segment already has the key (SysV {@code EEXIST}). */
public class SegmentExistsException extends IllegalStateException {
    public SegmentExistsException(String message) {
        super(message);
    }
}
