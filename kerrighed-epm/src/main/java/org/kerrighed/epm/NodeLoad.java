package org.kerrighed.epm;

/**
 * One node's load, from its own processes and its own JVM (nodes that share a machine share its OS load
 * average, so that is not used), or the cluster's aggregate ({@code node} = -1: sums, and means of the CPU use).
 *
 * @param processes      live processes on the node
 * @param runnable       processes whose thread is running or ready to run, now
 * @param load1          exponentially weighted mean of {@code runnable} over about 1, 5 and 15 minutes, sampled
 *                       each second (the Unix load average, for this node's processes only)
 * @param jvmCpu         the node JVM's recent CPU use, 0-1 of the machine (-1 when unknown)
 * @param cpus           processors available to the JVM
 */
public record NodeLoad(int node, int processes, int runnable, double load1, double load5, double load15,
                       double jvmCpu, int cpus, long heapUsedBytes, long heapMaxBytes) {
    /** The aggregate of {@code loads} (node -1), as {@link Epm#clusterLoad} computes it: sums, mean known CPU use. */
    public static NodeLoad aggregate(java.util.Collection<NodeLoad> loads) {
        return LoadSampler.aggregate(loads);
    }
}
