package org.kerrighed.ipc.sysv;

/** {@code get} with {@link Sysv#IPC_CREAT} and {@link Sysv#IPC_EXCL} found an object under the key (Linux {@code EEXIST}). */
public class KeyExistsException extends SysvException {
    public KeyExistsException(String message) {
        super("EEXIST", message);
    }
}
