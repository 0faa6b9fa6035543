package org.kerrighed.rpc.testing;

/**
 * Decides the fate of each frame a node sends after the handshake: deliver it, drop it, or delay it.
 * Consulted on the sending path for every frame, so implementations must be fast and thread-safe.
 * Used by tests through {@link LinkFaults}; production configurations have none.
 */
@FunctionalInterface
public interface FaultInjector {
    /**
     * @param from the sending node
     * @param to   the receiving node (or client id)
     * @return what to do with the frame; {@link FaultAction#DELIVER} for normal operation
     */
    FaultAction onSend(int from, int to);
}
