package org.kerrighed.scheduler;

import java.util.List;

/**
 * What a {@link Probe} sees of its node at one instant.
 *
 * @param node          the node's id
 * @param nanoTime      the node's monotonic clock, in nanoseconds (simulated time in the simulator)
 * @param cpus          processors available to the node's JVM
 * @param jvmCpu        the node JVM's recent CPU use, 0-1 of the machine, or -1 when unknown
 * @param heapUsed      bytes of heap in use
 * @param heapMax       the heap's limit in bytes
 * @param processes     the processes that run on the node
 * @param lastMigration when a process last moved to or from the node (on {@code nanoTime}'s clock), or
 *                      {@link Long#MIN_VALUE} if none did
 */
public record NodeSample(int node, long nanoTime, int cpus, double jvmCpu, long heapUsed, long heapMax,
                         List<ProcessSample> processes, long lastMigration) {
    public NodeSample {
        processes = List.copyOf(processes);
    }

    /** The processes that are running or ready to run. */
    public int runnable() {
        int n = 0;
        for (ProcessSample p : processes) {
            if (p.runnable()) {
                n++;
            }
        }
        return n;
    }
}
