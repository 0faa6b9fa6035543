package org.kerrighed.ipc.sysv;

/**
 * A SysV-style IPC operation failed for a reason Linux reports with an errno; {@link #errno()} names it. The
 * subclasses are the ones callers usually handle; {@code EINVAL} and {@code ERANGE} come as this class.
 * Permission failures are {@link org.kerrighed.kddm.access.PermissionDeniedException}s ({@code EACCES},
 * {@code EPERM}).
 */
public class SysvException extends RuntimeException {
    private final String errno;

    public SysvException(String errno, String message) {
        super(message);
        this.errno = errno;
    }

    /** Linux's name for the error: ENOENT, EEXIST, EIDRM, EINVAL, EAGAIN, ENOMSG, E2BIG, ERANGE, ENOSPC. */
    public String errno() {
        return errno;
    }

    /** The exception of {@code errno}'s class (used to rethrow an error that crossed the wire). */
    public static SysvException of(String errno, String message) {
        return switch (errno) {
            case "ENOENT" -> new NoSuchKeyException(message);
            case "EEXIST" -> new KeyExistsException(message);
            case "EIDRM" -> new IdentifierRemovedException(message);
            case "EAGAIN", "ENOMSG" -> new WouldBlockException(errno, message);
            case "E2BIG" -> new MessageTooBigException(message);
            default -> new SysvException(errno, message);
        };
    }
}
