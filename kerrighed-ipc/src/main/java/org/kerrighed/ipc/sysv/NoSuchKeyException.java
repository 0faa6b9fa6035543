package org.kerrighed.ipc.sysv;

/** {@code get} without {@link Sysv#IPC_CREAT} found no object under the key (Linux {@code ENOENT}). */
public class NoSuchKeyException extends SysvException {
    public NoSuchKeyException(String message) {
        super("ENOENT", message);
    }
}
