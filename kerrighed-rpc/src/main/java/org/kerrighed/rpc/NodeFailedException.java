package org.kerrighed.rpc;

/**
 * Membership declared the peer failed (or it left): its links were closed and fenced. Pending calls and
 * conversations with it fail with this exception at once.
 */
public class NodeFailedException extends LinkClosedException {
    public NodeFailedException(int peer, String message) {
        super(peer, message);
    }
}
