package org.kerrighed.ipc.internal;

import java.util.List;

/** The messages and the KDDM object of cluster queues (wire types 5100-5119). */
public final class QueueWire {
    private QueueWire() {
    }

    /**
     * A queue's directory entry (KDDM set {@link ChannelsService#QUEUE_META_SET}, replicated): its name, element
     * type, capacity, and where its items live ({@code home}) and are mirrored ({@code backup}, -1 for none).
     * {@code gen} counts home changes.
     */
    public record QueueMeta(String name, String type, int capacity, int home, int backup, long gen) {
    }

    /** Reply statuses. */
    public static final int OK = 0;
    public static final int NOT_HOME = 1;
    public static final int PARKED = 2;

    /**
     * Items a producer node offers (one batch of its outgoing buffer), sequence numbers {@code firstSeq...} in
     * the producer's {@code stream}: a batch retried on a new home after a failure is applied once.
     * {@code waiters[i]} is the sleeper id to wake when item i is refused because the queue is full (0: none).
     */
    public record Append(long queue, int node, long stream, long firstSeq, List<Object> items, long[] waiters) {
    }

    /** {@code accepted}: how many items of the batch (a prefix) are in the queue. */
    public record AppendReply(int status, int accepted) {
    }

    /**
     * A consumer node asks for up to {@code max} items under its delivery id; with {@code park}, an empty queue
     * registers it and the home pushes the items later ({@link Push}). Asking again with the same delivery id
     * (after a failure) returns the same items. {@code max < 0} gives delivery {@code delivery} back: its items
     * from index {@code keep} on return to the queue's head. {@code acks}: deliveries the node has consumed.
     */
    public record Take(long queue, int node, long delivery, int max, boolean park, int keep, long[] acks) {
        Take(long queue, int node, long delivery, int max, boolean park) {
            this(queue, node, delivery, max, park, 0, NO_ACKS);
        }
    }

    static final long[] NO_ACKS = new long[0];

    public record TakeReply(int status, List<Object> items) {
    }

    /** Items the home pushes to a parked consumer. */
    public record Push(long queue, long delivery, List<Object> items) {
    }

    /** The consumer gives up a delivery (timeout, interrupt): whatever it was given goes back to the queue's head. */
    public record Cancel(long queue, int node, long delivery) {
    }

    /** The consumer has the items of these deliveries: the home forgets them. */
    public record Ack(long queue, int node, long[] deliveries) {
    }

    /** Inspections and changes other than offer and take ({@code what}: the INSPECT_* codes). */
    public record Inspect(long queue, int what, Object arg) {
    }

    public static final int INSPECT_ITEMS = 0;
    public static final int INSPECT_PEEK = 1;
    public static final int INSPECT_SIZE = 2;
    public static final int INSPECT_REMOVE = 3;
    public static final int INSPECT_CLEAR = 4;
    public static final int INSPECT_CONTAINS = 5;
    /** Room left: capacity minus queued items minus delivered items not yet acknowledged. */
    public static final int INSPECT_REMAINING = 6;

    public record InspectReply(int status, List<Object> items, long value) {
    }

    /** One state change, home to backup, in the home's order ({@code op} numbers them). */
    public record Repl(long queue, long op, int kind, int node, long a, long b, List<Object> items) {
    }

    public static final int R_APPEND = 0;
    public static final int R_DELIVER = 1;
    public static final int R_ACK = 2;
    public static final int R_REQUEUE = 3;
    public static final int R_NODE_GONE = 4;
    public static final int R_CLEAR = 5;
    public static final int R_REMOVE_AT = 6;

    /** A delivered, not yet acknowledged batch of items (kept until the consumer acks). */
    public record Memo(int node, long delivery, List<Object> items) {
    }

    /** The whole state, home to a new backup. */
    public record Snapshot(long queue, long op, List<Object> items, long[] streams, List<Memo> memos) {
    }

    /** A backup's answer to a {@link Repl}: false when it needs a {@link Snapshot} first. */
    public record ReplReply(boolean applied) {
    }
}
