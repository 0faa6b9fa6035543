package org.kerrighed.scheduler;

import java.util.List;
import java.util.Set;

/**
 * A scheduler's decision maker (Kerrighed's policies): it reads values through named <em>ports</em>, which the
 * configuration links to probe sources through filters, and decides where new processes start and which
 * processes move where. Every node runs its own instance of each scheduler's policy, which decides for that node
 * only: placement of the processes its processes start, and moves of the processes that run on it (decentralised,
 * like MOSIX).
 *
 * <p>Calls come one at a time (the node's scheduler holds a lock around them), from the spawning thread for
 * {@link #place} and from the scheduler thread for {@link #decide}. Neither may block: read values from the
 * context, which never sends a message. An exception is logged and counted; after three in a row the scheduler
 * is disabled on that node (shown by {@code krg sched stats}) until its configuration changes. Policies of a
 * plugin are made by its {@link PolicyFactory}.
 */
public interface Policy {
    /** Answer of {@link #place} when the policy has no opinion (the next scheduler, or round robin, decides). */
    int NO_CHOICE = -1;

    /** The names of its input ports; fixed for its life. */
    Set<String> ports();

    /**
     * The ports whose new values make it {@link #decide} (Kerrighed's publish-subscribe links); the others are only
     * read. All of {@link #ports()} unless overridden.
     */
    default Set<String> triggers() {
        return ports();
    }

    /**
     * The node to start {@code process} on, among {@link PolicyContext#nodes()}, or {@link #NO_CHOICE}. Only asked
     * for processes of the scheduler's process set that may start on another node ({@code DISTANT_FORK}).
     */
    default int place(NewProcess process, PolicyContext ctx) {
        return NO_CHOICE;
    }

    /**
     * Called when a number published on {@code port}, one of {@link #triggers()}, passed the port's filters.
     * Returns the moves to make now, in order (empty for none): each must name a process of
     * {@link PolicyContext#movable()} and a node of {@link PolicyContext#nodes()} other than this one; others are
     * dropped and counted as errors.
     */
    default List<Move> decide(String port, PolicyContext ctx) {
        return List.of();
    }
}
