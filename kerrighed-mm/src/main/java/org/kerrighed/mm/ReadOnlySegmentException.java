package org.kerrighed.mm;

/** A write to a segment attached with {@link SharedMemory#READ_ONLY}. */
public class ReadOnlySegmentException extends UnsupportedOperationException {
    public ReadOnlySegmentException(String message) {
        super(message);
    }
}
