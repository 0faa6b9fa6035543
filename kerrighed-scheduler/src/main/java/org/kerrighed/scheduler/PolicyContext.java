package org.kerrighed.scheduler;

import java.util.List;
import java.util.Map;

/**
 * What a {@link Policy} reads, during one call: its ports' values, the nodes and processes it schedules, and its
 * parameters. Never sends a message (remote values are polled in the background by the port's
 * {@code remote_cache} filter). Valid only during the call it was given to.
 */
public interface PolicyContext {
    /** This node. */
    int node();

    /** The live nodes of the scheduler's node set, sorted (this node among them only if it is in the set). */
    int[] nodes();

    /** The node's monotonic clock in nanoseconds (simulated time in the simulator). */
    long nanoTime();

    /** The last number published through {@code port} on this node, or NaN when none yet (or unlinked). */
    double value(String port);

    /**
     * The last number of {@code port}'s source polled from {@code node} by the port's {@code remote_cache} filter,
     * or NaN when none came yet (or the port polls no other node). For this node: {@link #value}.
     */
    double remote(String port, int node);

    /**
     * How long ago the poll that brought {@link #remote}'s value was sent, in nanoseconds (the node published the value
     * up to one probe period before): {@link Long#MAX_VALUE} when there is none.
     */
    long remoteAge(String port, int node);

    /**
     * How many processes this node sent to {@code node} after {@code sinceNanos} (on {@link #nanoTime}'s clock):
     * processes any of its schedulers placed there and moves they asked for, over the last 30 s. A policy adds them
     * to a remote value polled before they went ({@code nanoTime() - remoteAge(port, node)}).
     */
    default int sentSince(int node, long sinceNanos) {
        return 0;
    }

    /** The last per-process values published through {@code port} (pid to value); empty when none. */
    Map<Integer, Double> perProcess(String port);

    /**
     * The processes of the scheduler's process set on this node that it may move: runnable, with
     * {@code CAN_MIGRATE}, not moving now, and not refused by a move in the last 30 s.
     */
    List<ProcessSample> movable();

    /** Parameter {@code name} of the scheduler ({@code krg sched set}), or {@code otherwise}. */
    String param(String name, String otherwise);

    /**
     * Parameter {@code name} as a number, or {@code otherwise}.
     *
     * @throws IllegalArgumentException when it is set but not a number
     */
    double param(String name, double otherwise);
}
