package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.WaiterRef;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A cyclic barrier shared by the nodes, with the methods and documented semantics of
 * {@link java.util.concurrent.CyclicBarrier}: {@code parties} threads (of any nodes) wait for each other; the last
 * one to arrive runs the barrier action (the one given on its node) before the others are released; it returns
 * the arrival index ({@code getParties() - 1} for the first, 0 for the last); a waiter that is interrupted or
 * times out breaks the barrier for every party ({@link BrokenBarrierException}), as does an action that throws;
 * {@link #reset()} breaks the current waiters and starts afresh.
 *
 * <p><b>Node failures.</b> A party whose node dies breaks the barrier, as an interrupted thread breaks the JDK's:
 * when a node dies with a thread waiting at the barrier, or when a node whose party passed the previous round
 * dies before that party came back. Every waiting party then gets {@link BrokenBarrierException}; nothing waits
 * for a dead party. (A node that passed the last round and leaves the computation for good, then dies, breaks it
 * too: {@link #reset()} it.)
 *
 * <p>The state (generation, waiters, broken flag) is one replicated KDDM object; waiters sleep until the last
 * party's wake-up message. Thread-safe.
 */
public final class ClusterCyclicBarrier {
    static final int TRIPPED = 2;
    static final int BROKEN = 3;

    private final Ipc ipc;
    private final String name;
    private final long id;
    private final Runnable action;
    private final KddmSet<SyncState.Barrier> set;

    ClusterCyclicBarrier(Ipc ipc, String name, int parties, Runnable action, int mode) {
        if (parties <= 0) {
            throw new IllegalArgumentException("parties must be > 0, got " + parties);
        }
        this.ipc = ipc;
        this.name = name;
        this.id = Names.id(name);
        this.action = action;
        this.set = ipc.syncSets().set(SyncSets.BARRIERS, SyncState.Barrier.class);
        IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
        SyncState.Barrier s = SyncSets.ensure(set, id, name, "barrier",
                () -> new SyncState.Barrier(name, perm, parties, 0, false, List.of(), Set.of()));
        if (s.parties() != parties) {
            throw new IllegalArgumentException("barrier '" + name + "' exists with " + s.parties()
                    + " parties, not " + parties);
        }
    }

    public String name() {
        return name;
    }

    public int await() throws InterruptedException, BrokenBarrierException {
        try {
            return awaitUntil(Long.MAX_VALUE);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    public int await(long timeout, TimeUnit unit)
            throws InterruptedException, BrokenBarrierException, TimeoutException {
        return awaitUntil(ClusterLock.deadline(timeout, unit));
    }

    private enum Outcome { BROKEN, LAST, WAIT }

    private int awaitUntil(long deadline) throws InterruptedException, BrokenBarrierException, TimeoutException {
        try (Sleepers.Sleeper sleeper = ipc.sleepers().sleeper()) {
            WaiterRef me = sleeper.ref();
            Outcome[] outcome = new Outcome[1];
            int[] index = new int[1];
            long[] generation = new long[1];
            List<WaiterRef> wake = new ArrayList<>();
            RuntimeException[] actionFailed = new RuntimeException[1];
            boolean interruptedAtEntry = Thread.interrupted();
            set.update(id, s -> {
                SyncState.Barrier cur = checked(s, Access.WRITE);
                generation[0] = cur.generation();
                if (cur.broken()) {
                    outcome[0] = Outcome.BROKEN;
                    return cur;
                }
                if (interruptedAtEntry || deadPartyIn(cur)) {
                    outcome[0] = Outcome.BROKEN;
                    wake.addAll(cur.waiters());
                    return broken(cur);
                }
                index[0] = cur.parties() - 1 - cur.waiters().size();
                if (index[0] > 0) {
                    outcome[0] = Outcome.WAIT;
                    return cur.with(cur.generation(), false, SyncState.plus(cur.waiters(), me), cur.lastRound());
                }
                outcome[0] = Outcome.LAST;
                wake.addAll(cur.waiters());
                if (action != null) {
                    try {
                        action.run();
                    } catch (RuntimeException | Error e) {
                        actionFailed[0] = e instanceof RuntimeException re ? re : new RuntimeException(e);
                        return broken(cur);
                    }
                }
                Set<Integer> round = new HashSet<>();
                cur.waiters().forEach(w -> round.add(w.node()));
                round.add(me.node());
                return cur.with(cur.generation() + 1, false, List.of(), round);
            });
            int code = outcome[0] == Outcome.LAST && actionFailed[0] == null ? TRIPPED : BROKEN;
            for (WaiterRef w : wake) {
                ipc.sleepers().wake(w, code, generation[0]);
            }
            if (interruptedAtEntry) {
                throw new InterruptedException();
            }
            if (actionFailed[0] != null) {
                throw actionFailed[0];
            }
            return switch (outcome[0]) {
                case BROKEN -> throw new BrokenBarrierException();
                case LAST -> 0;
                case WAIT -> sleep(sleeper, me, generation[0], deadline, index[0]);
            };
        }
    }

    /** Waits for the round of {@code generation} to trip or break. */
    private int sleep(Sleepers.Sleeper sleeper, WaiterRef me, long generation, long deadline, int index)
            throws InterruptedException, BrokenBarrierException, TimeoutException {
        while (true) {
            boolean timedOut = false;
            InterruptedException interrupted = null;
            try {
                timedOut = !sleeper.await(deadline);
            } catch (InterruptedException e) {
                interrupted = e;
            }
            if (sleeper.code() == TRIPPED && sleeper.value() == generation) {
                if (interrupted != null) {
                    Thread.currentThread().interrupt();
                }
                return index;
            }
            if (sleeper.code() == BROKEN && sleeper.value() == generation) {
                throw new BrokenBarrierException();          // broken by another party, or reset
            }
            boolean giveUp = timedOut || interrupted != null;
            Outcome[] outcome = new Outcome[1];
            List<WaiterRef> wake = new ArrayList<>();
            set.update(id, s -> {
                SyncState.Barrier cur = checked(s, Access.READ);
                if (cur.generation() != generation) {
                    outcome[0] = Outcome.LAST;               // tripped (its wake-up was lost with a node)
                    return cur;
                }
                if (cur.broken()) {
                    outcome[0] = Outcome.BROKEN;
                    return cur;
                }
                if (giveUp || deadPartyIn(cur)) {
                    outcome[0] = Outcome.BROKEN;
                    cur.waiters().stream().filter(w -> !w.equals(me)).forEach(wake::add);
                    return broken(cur);
                }
                outcome[0] = Outcome.WAIT;
                return cur;
            });
            for (WaiterRef w : wake) {
                ipc.sleepers().wake(w, BROKEN, generation);
            }
            switch (outcome[0]) {
                case LAST -> {
                    if (interrupted != null) {
                        Thread.currentThread().interrupt();
                    }
                    return index;
                }
                case BROKEN -> {
                    if (interrupted != null) {
                        throw interrupted;
                    }
                    if (timedOut) {
                        throw new TimeoutException("barrier '" + name + "': timed out waiting for the other parties");
                    }
                    throw new BrokenBarrierException();
                }
                case WAIT -> {
                }
            }
        }
    }

    private boolean deadPartyIn(SyncState.Barrier s) {
        for (int n : s.lastRound()) {
            if (!ipc.kddm().isMember(n)) {
                return true;
            }
        }
        for (WaiterRef w : s.waiters()) {
            if (!ipc.kddm().isMember(w.node())) {
                return true;
            }
        }
        return false;
    }

    private static SyncState.Barrier broken(SyncState.Barrier s) {
        return s.with(s.generation(), true, List.of(), s.lastRound());
    }

    /** Breaks the current round (its waiters get {@link BrokenBarrierException}) and starts a fresh one. */
    public void reset() {
        List<WaiterRef> wake = new ArrayList<>();
        long[] generation = new long[1];
        set.update(id, s -> {
            SyncState.Barrier cur = checked(s, Access.WRITE);
            wake.addAll(cur.waiters());
            generation[0] = cur.generation();
            return cur.with(cur.generation() + 1, false, List.of(), Set.of());
        });
        for (WaiterRef w : wake) {
            ipc.sleepers().wake(w, BROKEN, generation[0]);
        }
    }

    public int getParties() {
        return read().parties();
    }

    public boolean isBroken() {
        return read().broken();
    }

    public int getNumberWaiting() {
        return read().waiters().size();
    }

    private SyncState.Barrier read() {
        return SyncSets.read(set, id, ipc.callers(), "barrier '" + name + "'");
    }

    private SyncState.Barrier checked(SyncState.Barrier s, Access access) {
        return SyncSets.checked(s, ipc.callers(), access, "barrier '" + name + "'");
    }

    @Override
    public String toString() {
        return "ClusterCyclicBarrier[" + name + "]";
    }
}
