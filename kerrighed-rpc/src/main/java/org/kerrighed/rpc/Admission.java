package org.kerrighed.rpc;

/**
 * Decides whether a peer that proved the cluster secret may use a link: membership installs one to fence
 * nodes declared failed (their old incarnation is refused until they rejoin as a new one). Called on I/O
 * threads during handshakes, on both the accepting and the dialing side; must be fast and thread-safe.
 */
@FunctionalInterface
public interface Admission {
    /** Admits everyone who knows the secret. */
    Admission ALL = (nodeId, incarnation) -> null;

    /**
     * @param nodeId      the peer's node id (clients are not checked)
     * @param incarnation the peer's incarnation: a random number drawn each time a node starts
     * @return null to admit, or the reason of the refusal (sent to the peer and logged)
     */
    String refuse(int nodeId, long incarnation);
}
