package org.kerrighed.epm;

/**
 * Chooses the node for a new process whose spawn options name none: the hook the scheduler fills. Called on the
 * parent's node, on the spawning thread; keep it fast and non-blocking. The default places round robin over the
 * live nodes. A choice that is not a live node, or an exception, falls back to the parent's node (as Kerrighed
 * falls back to a local fork).
 */
@FunctionalInterface
public interface Placement {
    /**
     * @param self    the parent's node
     * @param live    the live nodes, sorted
     * @param command the new process's command (program and arguments)
     * @return the node to start it on
     */
    int place(int self, int[] live, String command);
}
