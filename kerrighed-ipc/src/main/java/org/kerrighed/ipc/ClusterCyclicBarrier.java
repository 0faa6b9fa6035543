package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.BarrierService;
import org.kerrighed.ipc.internal.BarrierService.Op;
import org.kerrighed.ipc.internal.BarrierService.Reply;
import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.WaiterRef;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.kerrighed.ipc.internal.BarrierService.ACTION_DONE;
import static org.kerrighed.ipc.internal.BarrierService.ARRIVE;
import static org.kerrighed.ipc.internal.BarrierService.BROKEN;
import static org.kerrighed.ipc.internal.BarrierService.ENDED;
import static org.kerrighed.ipc.internal.BarrierService.GIVE_UP;
import static org.kerrighed.ipc.internal.BarrierService.INTERRUPT;
import static org.kerrighed.ipc.internal.BarrierService.LAST;
import static org.kerrighed.ipc.internal.BarrierService.NOT_COORDINATOR;
import static org.kerrighed.ipc.internal.BarrierService.RESET;
import static org.kerrighed.ipc.internal.BarrierService.STATUS;
import static org.kerrighed.ipc.internal.BarrierService.TRIPPED;
import static org.kerrighed.ipc.internal.BarrierService.YOU_BROKE;

/**
 * A cyclic barrier shared by the nodes, with the methods and documented semantics of
 * {@link java.util.concurrent.CyclicBarrier}: {@code parties} threads (of any nodes) wait for each other; the last
 * one to arrive runs the barrier action (the one given on its node) before the others are released; it returns
 * the arrival index ({@code getParties() - 1} for the first, 0 for the last); a waiter that is interrupted or
 * times out breaks the barrier for every party ({@link BrokenBarrierException}), as does an action that throws;
 * {@link #reset()} breaks the current waiters and starts afresh.
 *
 * <p><b>Coordinator.</b> One node keeps the barrier's rounds in memory: the node that made it, or the one that
 * took over from a dead coordinator. {@code await} sends it one one-way message and sleeps; the last party's
 * arrival trips the round, and the coordinator wakes the waiting threads with one message per node, carrying
 * each one's index. A round costs about one round trip (the last arrival, then the wake-ups); the coordinator's
 * own parties send nothing. When the last party's node has an action, that party runs it before the wake-ups
 * (one more message when that node is not the coordinator). {@link #reset()},
 * {@link #isBroken()} and {@link #getNumberWaiting()} ask the coordinator (one round trip, none on its node).
 * The barrier's identity (parties, permissions, coordinator) is one replicated KDDM object, read from a cached
 * copy.
 *
 * <p><b>Node failures.</b> A party whose node dies breaks the barrier, as an interrupted thread breaks the JDK's:
 * when a node dies with a thread waiting at the barrier, or when a node whose party passed the previous round
 * dies before that party came back. Every waiting party then gets {@link BrokenBarrierException}; nothing waits
 * for a dead party. (A node that passed the last round and leaves the computation for good, then dies, breaks it
 * too: {@link #reset()} it.) The coordinator's death breaks it too, since the round it kept is lost with it:
 * its waiting parties get {@link BrokenBarrierException}, and the next operation, from any node, makes that node
 * the coordinator of the broken barrier; {@link #reset()} it to go on. A node that leaves counts as dead.
 *
 * <p>Thread-safe.
 */
public final class ClusterCyclicBarrier {
    private static final Logger log = LoggerFactory.getLogger(ClusterCyclicBarrier.class);

    private final Ipc ipc;
    private final String name;
    private final long id;
    private final Runnable action;
    private final KddmSet<SyncState.Barrier> set;
    private final BarrierService service;

    ClusterCyclicBarrier(Ipc ipc, String name, int parties, Runnable action, int mode) {
        if (parties <= 0) {
            throw new IllegalArgumentException("parties must be > 0, got " + parties);
        }
        this.ipc = ipc;
        this.name = name;
        this.id = Names.id(name);
        this.action = action;
        this.set = ipc.syncSets().set(SyncSets.BARRIERS, SyncState.Barrier.class);
        this.service = ipc.barriers();
        IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
        int self = ipc.kddm().nodeId();
        SyncState.Barrier s = SyncSets.ensure(set, id, name, "barrier", () -> {
            service.coordinate(id, parties, false);
            return new SyncState.Barrier(name, perm, parties, self);
        });
        if (s.parties() != parties) {
            throw new IllegalArgumentException("barrier '" + name + "' exists with " + s.parties()
                    + " parties, not " + parties);
        }
    }

    public String name() {
        return name;
    }

    /**
     * Waits until all parties have called {@code await} on this barrier (on any node).
     *
     * @return the arrival index: {@code getParties() - 1} for the first to arrive, 0 for the last
     * @throws InterruptedException   when interrupted while waiting (the barrier breaks)
     * @throws BrokenBarrierException when the barrier is or gets broken: another party timed out or was
     *                                interrupted, the barrier was reset, the action threw, or a party's node or
     *                                the coordinator died
     * @throws org.kerrighed.kddm.access.PermissionDeniedException without write access
     * @throws IllegalStateException  when the barrier's coordinator is a member but did not answer
     */
    public int await() throws InterruptedException, BrokenBarrierException {
        try {
            return awaitUntil(Long.MAX_VALUE);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /**
     * {@link #await()} for at most {@code timeout}.
     *
     * @throws TimeoutException when the timeout passed first (the barrier breaks)
     */
    public int await(long timeout, TimeUnit unit)
            throws InterruptedException, BrokenBarrierException, TimeoutException {
        return awaitUntil(ClusterLock.deadline(timeout, unit));
    }

    private int awaitUntil(long deadline) throws InterruptedException, BrokenBarrierException, TimeoutException {
        boolean interrupted = Thread.interrupted();
        try (Sleepers.Sleeper sleeper = ipc.sleepers().sleeper()) {
            WaiterRef me = sleeper.ref();
            if (interrupted) {
                if (request(Access.WRITE, INTERRUPT, me, false).reply().status() == BROKEN) {
                    Thread.currentThread().interrupt();
                    throw new BrokenBarrierException();
                }
                throw new InterruptedException();
            }
            Asked arrived = request(Access.WRITE, ARRIVE, me, action != null);
            return follow(sleeper, me, arrived.coordinator(), arrived.reply(), deadline);
        }
    }

    /** Follows party {@code me}'s round at {@code coordinator}, from its arrival's reply {@code first}, to its end. */
    private int follow(Sleepers.Sleeper sleeper, WaiterRef me, int coordinator, Reply first, long deadline)
            throws InterruptedException, BrokenBarrierException, TimeoutException {
        int status = first.status();
        int index = first.value();
        boolean interrupted = false;
        boolean gaveUp = false;
        while (true) {
            switch (status) {
                case TRIPPED -> {
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                    return index;
                }
                case BROKEN -> {
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                    throw new BrokenBarrierException();
                }
                case YOU_BROKE -> {
                    if (interrupted) {
                        throw new InterruptedException();
                    }
                    throw new TimeoutException("barrier '" + name + "': timed out waiting for the other parties");
                }
                case NOT_COORDINATOR -> {                       // it restarted: the round is lost
                    takeOver(coordinator);
                    status = BROKEN;
                }
                case LAST -> {
                    Reply r = runAction(coordinator, me);
                    status = r == null ? BROKEN : r.status();
                    index = r == null ? 0 : r.value();
                }
                default -> {                                     // WAIT
                    boolean woken;
                    try {
                        woken = sleeper.await(gaveUp ? Long.MAX_VALUE : deadline);
                    } catch (InterruptedException e) {
                        interrupted = true;
                        woken = false;
                    }
                    if (sleeper.code() > Sleepers.RECHECK) {     // the coordinator's word on the round
                        status = sleeper.code();
                        index = (int) sleeper.value();
                    } else if (service.closed() || !ipc.kddm().isMember(coordinator)) {
                        status = BROKEN;                         // this node stops, or the coordinator died
                    } else if (!woken && !gaveUp) {              // timed out or interrupted
                        gaveUp = true;
                        Reply r = service.call(coordinator, new Op(id, GIVE_UP, me, false));
                        status = r == null ? BROKEN : r.status() == ENDED ? BarrierService.WAIT : r.status();
                    }
                }
            }
        }
    }

    /**
     * Runs the action of this node (party {@code me} is the round's last) and tells the coordinator, which trips
     * the round or, if the action threw, breaks it. Returns the coordinator's reply (null: it died); rethrows what
     * the action threw.
     */
    private Reply runAction(int coordinator, WaiterRef me) {
        try {
            action.run();
        } catch (Throwable t) {
            try {
                service.call(coordinator, new Op(id, ACTION_DONE, me, false));
            } catch (RuntimeException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
        return service.call(coordinator, new Op(id, ACTION_DONE, me, true));
    }

    /** A coordinator and its reply. */
    private record Asked(int coordinator, Reply reply) {
    }

    /**
     * Runs operation {@code kind} at the barrier's coordinator, after checking the caller's {@code access}; takes
     * over from a coordinator that is dead or lost its state first.
     */
    private Asked request(Access access, int kind, WaiterRef me, boolean flag) {
        while (true) {
            int c = SyncSets.read(set, id, ipc.callers(), access, what()).coordinator();
            Reply r = service.call(c, new Op(id, kind, me, flag));
            if (r != null && r.status() != NOT_COORDINATOR) {
                return new Asked(c, r);
            }
            takeOver(c);
        }
    }

    /** Makes this node the coordinator if {@code gone} still is: the barrier is broken (its round was lost). */
    private void takeOver(int gone) {
        int self = ipc.kddm().nodeId();
        set.update(id, s -> {
            SyncState.Barrier cur = SyncSets.checked(s, ipc.callers(), Access.READ, what());
            if (cur.coordinator() != gone) {
                return cur;
            }
            service.coordinate(id, cur.parties(), true);
            log.info("barrier '{}': node {} coordinates it after node {}, broken (the round in progress was lost)",
                    name, self, gone);
            return cur.withCoordinator(self);
        });
    }

    /** Breaks the current round (its waiters get {@link BrokenBarrierException}) and starts a fresh one. */
    public void reset() {
        request(Access.WRITE, RESET, null, false);
    }

    public int getParties() {
        return SyncSets.read(set, id, ipc.callers(), what()).parties();
    }

    /** Whether the barrier is broken (asks the coordinator). */
    public boolean isBroken() {
        return request(Access.READ, STATUS, null, false).reply().status() == BROKEN;
    }

    /** The number of parties waiting in the current round (asks the coordinator). */
    public int getNumberWaiting() {
        return request(Access.READ, STATUS, null, false).reply().value();
    }

    private String what() {
        return "barrier '" + name + "'";
    }

    @Override
    public String toString() {
        return "ClusterCyclicBarrier[" + name + "]";
    }
}
