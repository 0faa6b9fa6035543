package org.kerrighed.kddm;

import java.util.Set;

/**
 * Told of each view KDDM installs, after KDDM applied it: services built on KDDM use it to drop waiters of dead
 * nodes, break barriers and wake sleepers. Each listener is called on a thread of its own, in view order; it may
 * block (KDDM operations wait until the view is reconciled), which delays its own next notices but no other
 * listener's. Listeners are not ordered with one another.
 */
@FunctionalInterface
public interface ViewListener {
    /**
     * @param epoch   the view's epoch
     * @param members the members (joining, online, leaving)
     * @param failed  the nodes declared failed since the previous view (empty for joins and leaves)
     */
    void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed);
}
