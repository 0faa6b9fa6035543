package org.kerrighed.scheduler;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The node a {@link SchedulerEngine} schedules: a real node ({@link ClusterScheduler} over the process layer), or a
 * virtual node of the {@link org.kerrighed.scheduler.sim.Simulator}. Every method is called with the engine's lock
 * held and must not block.
 */
public interface SchedulerHost {
    /** This node's id. */
    int self();

    /** The live nodes, sorted. */
    int[] liveNodes();

    /** The monotonic clock, in nanoseconds. */
    long nanoTime();

    /** The node and its processes now. */
    NodeSample sample();

    /**
     * Node {@code node}'s last published values of {@code keys} ({@code PROBE/SOURCE}); a key it has no value for
     * is left out. Fails when the node does not answer.
     */
    CompletableFuture<Map<String, Double>> poll(int node, Set<String> keys);

    /** Moves local process {@code pid} to {@code node}; completes when it runs there, or exceptionally. */
    CompletableFuture<?> migrate(int pid, int node);
}
