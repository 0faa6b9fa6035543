package org.kerrighed.rpc;

/**
 * The link to a peer closed (connection lost, peer shut down, fault injected, handshake refused) while a
 * call or conversation with that peer was pending. Every call and conversation pending on the link fails
 * with this exception at the moment the link closes; none waits for its deadline. The request may or may
 * not have been processed by the peer.
 */
public class LinkClosedException extends KerrighedException {
    private final int peer;

    public LinkClosedException(int peer, String message) {
        super(message);
        this.peer = peer;
    }

    public LinkClosedException(int peer, String message, Throwable cause) {
        super(message, cause);
        this.peer = peer;
    }

    /** The node id (or client id) of the peer whose link closed. */
    public int peer() {
        return peer;
    }
}
