package org.kerrighed.rpc;

/**
 * The remote handler failed. Errors cross the wire as data (the remote exception's class name and
 * message), never as serialized {@code Throwable}s, so this exception carries the remote error's type
 * name rather than the remote exception itself.
 */
public class RemoteException extends KerrighedException {
    private final int peer;
    private final String remoteType;

    public RemoteException(int peer, String remoteType, String message) {
        super("node " + peer + ": " + remoteType + (message == null ? "" : ": " + message));
        this.peer = peer;
        this.remoteType = remoteType;
    }

    /** The node whose handler failed. */
    public int peer() {
        return peer;
    }

    /** Fully qualified class name of the exception the remote handler threw (or a protocol error name). */
    public String remoteType() {
        return remoteType;
    }
}
