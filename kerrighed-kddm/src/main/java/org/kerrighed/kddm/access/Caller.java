package org.kerrighed.kddm.access;

/**
 * Who holds a lock, a semaphore undo or a pipe end: a cluster-wide process ({@code pid > 0}) where there is
 * one, so that the holding survives the process's migration; else a thread ({@code thread}, its
 * {@link Thread#threadId()}) on node {@code node}.
 */
public record Caller(int node, long pid, long thread) {
    /** True when this is a process (its holdings follow it from node to node). */
    public boolean isProcess() {
        return pid > 0;
    }

    /** True when {@code other} is the same holder: the same process, or the same thread of the same node. */
    public boolean sameHolder(Caller other) {
        if (other == null) {
            return false;
        }
        return isProcess() ? pid == other.pid : !other.isProcess() && node == other.node && thread == other.thread;
    }

    @Override
    public String toString() {
        return isProcess() ? "process " + pid : "thread " + thread + " on node " + node;
    }
}
