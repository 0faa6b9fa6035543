package org.kerrighed.rpc.membership;

/**
 * A service's reaction to membership changes. On every node, add hooks run in ascending
 * {@link #priority()} (infrastructure first: rpc 0, kddm 100, ..., services last) and leave and failure
 * hooks in descending priority (services first, infrastructure last), all on the membership thread,
 * one view at a time. A view is acknowledged to the master only after every hook returned, so when a
 * node is ONLINE every node has run its add hooks. Hooks should be quick; a hook that throws is logged
 * and counted, and the others still run.
 */
public interface HotplugHook {
    /** Lower runs first on add and last on removal. */
    int priority();

    /** A node was admitted (its state is JOINING). Runs on every node, the new one included. */
    default void nodeAdded(Member member, View view) {
    }

    /** A node is leaving gracefully (state LEAVING): take over what it owns while it still answers. */
    default void nodeLeaving(Member member, View view) {
    }

    /** A node was declared failed: it is fenced; recover what it held from replicas and checkpoints. */
    default void nodeFailed(Member member, View view) {
    }

    /**
     * A view was installed on this node (after the add, leave and failure hooks of that view ran). Services
     * that keep per-epoch state (KDDM's default owners, its recovery) re-examine it here. Runs for every
     * view this node installs, its first one included.
     */
    default void viewInstalled(View view) {
    }

    /** This node was declared failed by the others (it was paused or cut off): stop serving at once. */
    default void fenced(View lastView) {
    }
}
