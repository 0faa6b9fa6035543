package org.kerrighed.epm;

/**
 * Chooses the node for a new process whose spawn options name none: the hook the scheduler fills. Called on the
 * parent's node, on the spawning thread; keep it fast and non-blocking. Without a hook (or when it answers
 * {@link #NO_CHOICE}) the process layer places round robin over the live nodes. A choice that is not a live node,
 * or an exception, falls back to the parent's node (as Kerrighed falls back to a local fork).
 */
@FunctionalInterface
public interface Placement {
    /** The hook's answer when it has no opinion: the process layer's round robin decides. */
    int NO_CHOICE = -1;

    /** @return the node to start the process on, or {@link #NO_CHOICE} */
    int place(Request request);

    /**
     * A process about to be started.
     *
     * @param self    the parent's node
     * @param live    the live nodes, sorted (do not modify)
     * @param command the new process's command (program and arguments)
     * @param ppid    its parent ({@link Pids#INIT} when a node starts it)
     * @param pgid    its process group (0: it leads a new one)
     * @param sid     its session (0: it leads a new one)
     * @param uid     its user
     */
    record Request(int self, int[] live, String command, int ppid, int pgid, int sid, int uid) {
    }
}
