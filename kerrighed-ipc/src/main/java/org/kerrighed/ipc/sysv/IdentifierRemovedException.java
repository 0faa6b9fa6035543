package org.kerrighed.ipc.sysv;

/** The object was removed ({@code IPC_RMID}) while the caller waited on it (Linux {@code EIDRM}). A call that starts after the removal gets {@code EINVAL} (no such id) instead. */
public class IdentifierRemovedException extends SysvException {
    public IdentifierRemovedException(String message) {
        super("EIDRM", message);
    }
}
