package org.kerrighed.scheduler.sim;

/**
 * The virtual cluster at one instant of a {@link Simulator} run. A node's load is its runnable processes divided by
 * its processors (1.0: every processor busy), as the {@code mosix} probe counts it.
 *
 * @param seconds     simulated time since the start
 * @param processes   live processes, those migrating included
 * @param migrating   processes migrating now (they run on no node)
 * @param maxLoad     the highest node load
 * @param meanLoad    live processes (migrating ones included) divided by the cluster's processors: the load every
 *                    node would have if they were spread evenly
 * @param maxRunnable the most runnable processes on one node
 * @param minRunnable the fewest runnable processes on one node
 * @param overloaded  the nodes with more runnable processes than 10 % above their fair share allows ({@link Simulator}
 *                    defines it)
 * @param migrations  migrations completed since the start
 */
public record SimPoint(double seconds, int processes, int migrating, double maxLoad, double meanLoad,
                       int maxRunnable, int minRunnable, int overloaded, long migrations) {
    /** Whether the cluster is within 10 % of balance: no node is overloaded. */
    public boolean balanced() {
        return overloaded == 0;
    }

    /** {@code maxLoad / meanLoad}: 1.0 is perfect balance; NaN when no process is left. */
    public double maxOverMean() {
        return meanLoad == 0 ? Double.NaN : maxLoad / meanLoad;
    }
}
