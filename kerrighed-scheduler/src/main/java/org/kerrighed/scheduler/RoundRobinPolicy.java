package org.kerrighed.scheduler;

import java.util.Set;

/** Kerrighed's {@code round_robin_balancer}: places new processes on the nodes of its node set in turn. */
final class RoundRobinPolicy implements Policy {
    private int next;

    @Override
    public Set<String> ports() {
        return Set.of();
    }

    @Override
    public int place(NewProcess process, PolicyContext ctx) {
        int[] nodes = ctx.nodes();
        return nodes.length == 0 ? NO_CHOICE : nodes[Math.floorMod(next++, nodes.length)];
    }
}
