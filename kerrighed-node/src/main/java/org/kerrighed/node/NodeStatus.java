package org.kerrighed.node;

/**
 * One node as {@code krg nodes} shows it.
 *
 * @param nodeId        0-255
 * @param rpcAddress    RPC address (host:port)
 * @param discovery     discovery (Hazelcast) address
 * @param state         JOINING, ONLINE, LEAVING (or FAILED/LEFT for departed nodes)
 * @param epoch         the view epoch in which it entered that state
 * @param uptimeMillis  since its current incarnation started (-1 if unknown)
 * @param load          the node JVM's recent CPU use, 0.0-1.0 (-1 if unknown)
 * @param heapUsedBytes heap in use (-1 if unknown)
 * @param rttMicros     heartbeat round trip from the node that answered (-1 for itself or unknown)
 */
public record NodeStatus(int nodeId, String rpcAddress, String discovery, String state, long epoch,
                         long uptimeMillis, double load, long heapUsedBytes, long rttMicros) {
    /** Whether the node is a member (joining, online or leaving), not a departed one (FAILED, LEFT). */
    public boolean live() {
        return !state.equals("FAILED") && !state.equals("LEFT");
    }
}
