package org.kerrighed.rpc;

/**
 * The link handshake was refused: different protocol versions, type-registry fingerprints or cluster
 * names, or a peer that could not prove it knows the cluster secret. The message names both sides' values.
 */
public class HandshakeException extends LinkClosedException {
    public HandshakeException(int peer, String message) {
        super(peer, message);
    }
}
