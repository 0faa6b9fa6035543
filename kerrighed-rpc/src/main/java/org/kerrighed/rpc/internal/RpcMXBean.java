package org.kerrighed.rpc.internal;

import org.kerrighed.rpc.RpcStats;

/** The JMX view of an endpoint's counters ({@code org.kerrighed:type=Rpc,cluster=NAME,node=ID}). */
public interface RpcMXBean {
    int getNodeId();

    /** Every counter: per service and per peer. */
    RpcStats getStats();

    long getRefusedHandshakes();

    /** Other nodes with an open link (tools not counted). */
    int getConnectedPeers();

    /** Tools ({@code RpcClient}s) connected to this node. */
    int getConnectedTools();
}
