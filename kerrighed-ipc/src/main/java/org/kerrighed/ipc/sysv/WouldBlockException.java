package org.kerrighed.ipc.sysv;

/**
 * The operation would have to wait and {@link Sysv#IPC_NOWAIT} was given: {@code EAGAIN} for {@code semop} and
 * {@code send}, {@code ENOMSG} for {@code receive} (as on Linux). Nothing was changed.
 */
public class WouldBlockException extends SysvException {
    public WouldBlockException(String errno, String message) {
        super(errno, message);
    }
}
