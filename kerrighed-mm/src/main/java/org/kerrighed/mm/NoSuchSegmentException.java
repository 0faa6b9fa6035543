package org.kerrighed.mm;

import java.util.NoSuchElementException;

/** No segment has this key or id (SysV {@code ENOENT} / {@code EINVAL}/{@code EIDRM} for a removed id). */
public class NoSuchSegmentException extends NoSuchElementException {
    public NoSuchSegmentException(String message) {
        super(message);
    }
}
