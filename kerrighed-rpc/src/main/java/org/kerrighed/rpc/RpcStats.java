package org.kerrighed.rpc;

import java.util.List;

/**
 * A snapshot of an endpoint's counters: per service and per peer, calls, bytes, errors and call latency
 * (measured at the caller, from send to reply). Also exported through JMX as
 * {@code org.kerrighed:type=Rpc,cluster=NAME,node=ID}.
 */
public record RpcStats(int nodeId, List<ServiceStats> services, List<PeerStats> peers) {

    /** Latency percentiles in microseconds over every call since start. */
    public record Latency(long count, long p50Micros, long p90Micros, long p99Micros, long maxMicros) {
    }

    /**
     * @param callsOut requests and one-ways this node sent for the service
     * @param callsIn  requests and one-ways it received
     * @param errors   failed calls, as caller (remote errors, timeouts, closed links) and as handler
     */
    public record ServiceStats(int serviceId, String name, long callsOut, long callsIn, long errors,
                               long bytesOut, long bytesIn, Latency latency) {
    }

    /**
     * @param rejectedFrames frames from this peer rejected as malformed or naming unknown types
     */
    public record PeerStats(int peer, boolean connected, long framesOut, long framesIn, long bytesOut,
                            long bytesIn, long errors, long rejectedFrames, Latency latency) {
    }
}
