package org.kerrighed.ipc.internal;

import org.kerrighed.kddm.Kddm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.ServiceKey;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's part of cluster cyclic barriers: the rounds of the barriers this node coordinates (a
 * {@link BarrierHome} each, by barrier id) and the services through which parties of other nodes reach them, both
 * non-blocking: arrivals are one-way messages (135, {@code ipc.barrier.arrive}), the rarer operations calls (136,
 * {@code ipc.barrier}). The coordinator tells a party how its round ended with a {@link Sleepers} wake-up, the
 * parties of one node in one message. Thread-safe.
 */
public final class BarrierService {
    /** An operation of party {@code party} (null for {@link #RESET} and {@link #STATUS}) on barrier {@code barrier}. */
    public record Op(long barrier, int kind, WaiterRef party, boolean flag) {
    }

    /** A coordinator's answer: a status, and an index ({@link #TRIPPED}) or a count ({@link #STATUS}). */
    public record Reply(int status, int value) {
    }

    /** Op: a party arrives; {@code flag}: its node has an action to run if it is the last. */
    public static final int ARRIVE = 1;
    /** Op: the last party ran its action; {@code flag}: without throwing. */
    public static final int ACTION_DONE = 2;
    /** Op: a waiting party timed out or was interrupted. */
    public static final int GIVE_UP = 3;
    /** Op: a thread interrupted before it arrived. */
    public static final int INTERRUPT = 4;
    /** Op: break the round, and start afresh. */
    public static final int RESET = 5;
    /** Op: whether the barrier is broken, and how many parties wait. */
    public static final int STATUS = 6;

    /** Status: the party sleeps until a wake-up tells it the outcome. */
    public static final int WAIT = 1;
    /** Status and wake-up code: the round tripped; the value is the party's arrival index. */
    public static final int TRIPPED = 2;
    /** Status and wake-up code: the barrier is broken. */
    public static final int BROKEN = 3;
    /** Status and wake-up code: the party is the round's last: it runs its action, then sends {@link #ACTION_DONE}. */
    public static final int LAST = 4;
    /** Status: the party's giving up (or interrupt) broke the barrier. */
    public static final int YOU_BROKE = 5;
    /** Status: the party's round had ended; its wake-up, sent before this reply, tells how. */
    public static final int ENDED = 6;
    /** Status and wake-up code: this node does not coordinate the barrier (it lost its state: it restarted). */
    public static final int NOT_COORDINATOR = 7;
    /** Status: done (reset; status of a barrier that is not broken). */
    public static final int OK = 8;

    static final ServiceKey<Op, Void> ARRIVALS = ServiceKey.oneWay(135, "ipc.barrier.arrive", Op.class);
    static final ServiceKey<Op, Reply> OPS = ServiceKey.of(136, "ipc.barrier", Op.class, Reply.class);

    private final Kddm kddm;
    private final Sleepers sleepers;
    private final Map<Long, BarrierHome> homes = new ConcurrentHashMap<>();
    private final Object views = new Object();
    private volatile boolean closed;

    public BarrierService(Kddm kddm, Sleepers sleepers) {
        this.kddm = kddm;
        this.sleepers = sleepers;
        kddm.rpc().register(OPS, HandlerKind.NON_BLOCKING, (ctx, op) -> handle(op));
        kddm.rpc().register(ARRIVALS, HandlerKind.NON_BLOCKING, (ctx, op) -> {
            Reply r = handle(op);
            if (r.status() != WAIT) {
                sleepers.wake(op.party(), r.status(), r.value());
            }
            return null;
        });
    }

    static Reply reply(int status) {
        return new Reply(status, 0);
    }

    /**
     * Makes this node the coordinator of barrier {@code barrier} (replacing what it knew of it): call it while
     * holding the barrier's KDDM object, before publishing this node as its coordinator.
     *
     * @param broken true when taking over from a dead coordinator (the round in progress was lost with it)
     */
    public void coordinate(long barrier, int parties, boolean broken) {
        homes.put(barrier, new BarrierHome(parties, broken, sleepers,
                n -> n == kddm.nodeId() || kddm.isMember(n)));
    }

    /**
     * Runs {@code op} at node {@code coordinator} (directly when it is this node) and returns its reply. Blocks
     * for one round trip, or, when the call fails, until the membership decides on the coordinator (at most the
     * node's call timeout). An {@link #ARRIVE} for another node is sent one way: it returns {@link #WAIT} at once,
     * and the coordinator's answer, whatever it is, comes as a wake-up of the party's sleeper.
     *
     * @return the reply; null when the coordinator is not a member, or left or died before answering
     * @throws IllegalStateException when the coordinator's handler failed, or it is still a member but did not
     *                               answer
     */
    public Reply call(int coordinator, Op op) {
        if (coordinator == kddm.nodeId()) {
            return handle(op);
        }
        if (!kddm.isMember(coordinator)) {
            return null;
        }
        try {
            if (op.kind() == ARRIVE) {
                kddm.rpc().send(coordinator, ARRIVALS, op);
                return reply(WAIT);
            }
            return kddm.rpc().call(coordinator, OPS, op).join();
        } catch (RuntimeException e) {
            Throwable cause = e instanceof CompletionException ? e.getCause() : e;
            // a coordinator whose KDDM stopped (closing, fenced) is departing, as one that does not answer
            boolean departing = !(cause instanceof RemoteException re)
                    || org.kerrighed.kddm.KddmException.class.getName().equals(re.remoteType());
            if (departing && departs(coordinator, kddm.rpc().config().defaultCallTimeout())) {
                return null;
            }
            throw new IllegalStateException("barrier " + op.barrier() + ": its coordinator, node " + coordinator
                    + ", failed to answer", cause);
        }
    }

    private Reply handle(Op op) {
        BarrierHome h = homes.get(op.barrier());
        if (h == null) {
            return reply(NOT_COORDINATOR);
        }
        return switch (op.kind()) {
            case ARRIVE -> h.arrive(op.party(), op.flag());
            case ACTION_DONE -> h.actionDone(op.party(), op.flag());
            case GIVE_UP -> h.giveUp(op.party());
            case INTERRUPT -> h.interrupt();
            case RESET -> h.reset();
            case STATUS -> h.status();
            default -> throw new IllegalArgumentException("unknown barrier operation " + op.kind());
        };
    }

    /** Waits, at most {@code timeout}, until {@code node} is no longer a member: true when it left or died. */
    private boolean departs(int node, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        try {
            synchronized (views) {
                while (kddm.isMember(node)) {
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    try {
                        views.wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        interrupted = true;         // kept for the caller's next wait
                    }
                }
                return true;
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * This node stops: the rounds it coordinates break (their parties are told), later arrivals find no
     * coordinator here, and its own waiting parties give up ({@link #closed()}) when their sleepers are woken.
     */
    public void close() {
        closed = true;
        homes.values().forEach(BarrierHome::close);
        homes.clear();
    }

    /** True once this node stopped ({@link #close()}). */
    public boolean closed() {
        return closed;
    }

    /** A view was installed: rounds with a party on a departed node break; calls waiting for a verdict re-check. */
    public void viewChanged() {
        homes.values().forEach(BarrierHome::membersChanged);
        synchronized (views) {
            views.notifyAll();
        }
    }
}
