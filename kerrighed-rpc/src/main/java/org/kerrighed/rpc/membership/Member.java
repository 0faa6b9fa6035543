package org.kerrighed.rpc.membership;

import org.kerrighed.rpc.HostAndPort;

/**
 * One node as the cluster sees it. Immutable.
 *
 * @param nodeId           0-255
 * @param incarnation      drawn when the node's process (or rejoin) started; a rejoined node has a new one
 * @param rpcAddress       where its RPC endpoint listens (the advertised address)
 * @param discoveryAddress its Hazelcast member address
 * @param state            its state in the view that carries this record
 * @param sinceEpoch       the view epoch in which it entered this state
 * @param startedAtMillis  wall-clock time its current incarnation started
 */
public record Member(int nodeId, long incarnation, HostAndPort rpcAddress, HostAndPort discoveryAddress,
                     NodeState state, long sinceEpoch, long startedAtMillis) {

    public Member withState(NodeState s, long epoch) {
        return new Member(nodeId, incarnation, rpcAddress, discoveryAddress, s, epoch, startedAtMillis);
    }

    /** True for the states in which the node takes part in the cluster (joining, online, leaving). */
    public boolean isLive() {
        return state == NodeState.JOINING || state == NodeState.ONLINE || state == NodeState.LEAVING;
    }
}
