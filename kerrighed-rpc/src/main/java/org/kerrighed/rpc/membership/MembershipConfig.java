package org.kerrighed.rpc.membership;

import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.HostAndPort;

import java.time.Duration;
import java.util.List;

/**
 * Settings of the membership layer. Immutable.
 *
 * @param discoveryBind      host and port of the embedded Hazelcast member (port 0: ephemeral)
 * @param seeds              RPC addresses of existing members to join through; empty: start a new cluster
 * @param requestedNodeId    the id to join with, or -1 to be given the smallest free one
 * @param silenceBeforeSuspect a node not heard from (heartbeats flow every second) for this long is
 *                           suspected; default 2.5 s, so a 1 s GC pause is tolerated
 * @param joinTimeout        bound on every step of a join
 */
public record MembershipConfig(HostAndPort discoveryBind, List<HostAndPort> seeds, int requestedNodeId,
                               Duration silenceBeforeSuspect, Duration joinTimeout) {
    public MembershipConfig {
        Checks.notNull(discoveryBind, "discoveryBind");
        seeds = List.copyOf(Checks.notNull(seeds, "seeds"));
        if (requestedNodeId < -1 || requestedNodeId > 255) {
            throw new IllegalArgumentException("node.id: must be in 0-255 (or absent), got " + requestedNodeId);
        }
        Checks.positive(silenceBeforeSuspect, "silenceBeforeSuspect");
        Checks.positive(joinTimeout, "joinTimeout");
    }

    /** Defaults: ephemeral discovery port on {@code host}, 2.5 s silence, 15 s join steps. */
    public static MembershipConfig of(String host, List<HostAndPort> seeds, int requestedNodeId) {
        return new MembershipConfig(new HostAndPort(host, 0), seeds, requestedNodeId, Duration.ofMillis(2500),
                Duration.ofSeconds(15));
    }
}
