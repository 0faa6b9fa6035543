package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.SyncState.SemWaiter;
import org.kerrighed.ipc.internal.WaiterRef;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A counting semaphore shared by the nodes, with the methods and documented semantics of
 * {@link java.util.concurrent.Semaphore}: permits are not owned (any thread of any node may release), a fair
 * semaphore grants waiters in arrival order, {@code tryAcquire()} barges even on a fair one, waits are
 * interruptible and timed as the JDK's.
 *
 * <p>The count and the queue of waiters are one KDDM object, replicated: they survive a node's death. A thread
 * that must wait puts itself in the queue and sleeps; {@code release} grants permits to queued waiters directly
 * (in the queue, before it is published) and wakes them with a message, so a woken thread already has its permits.
 * Waiters of dead nodes are dropped from the queue; permits acquired by a thread of a dead node are not given back
 * (as with the JDK class, permits have no owner; SysV semaphores with undo do give them back).
 *
 * <p>Thread-safe. Each call may wait for KDDM round trips, bounded by the node's call timeout, besides the
 * documented waiting for permits.
 */
public final class ClusterSemaphore {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ClusterSemaphore.class);
    static final int GRANTED = 1;

    private final Ipc ipc;
    private final String name;
    private final long id;
    private final KddmSet<SyncState.Semaphore> set;

    ClusterSemaphore(Ipc ipc, String name, long permits, boolean fair, int mode) {
        this.ipc = ipc;
        this.name = name;
        this.id = Names.id(name);
        this.set = ipc.syncSets().set(SyncSets.SEMAPHORES, SyncState.Semaphore.class);
        IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
        SyncSets.ensure(set, id, name, "semaphore", () -> new SyncState.Semaphore(name, perm, fair, permits, List.of()));
    }

    public String name() {
        return name;
    }

    public void acquire() throws InterruptedException {
        acquire(1);
    }

    public void acquire(int permits) throws InterruptedException {
        checkPermits(permits);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        take(permits, true, Long.MAX_VALUE, false, true);
    }

    public void acquireUninterruptibly() {
        acquireUninterruptibly(1);
    }

    public void acquireUninterruptibly(int permits) {
        checkPermits(permits);
        try {
            take(permits, false, Long.MAX_VALUE, false, true);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Takes a permit if one is available now, even on a fair semaphore with waiters (as the JDK's). */
    public boolean tryAcquire() {
        return tryAcquire(1);
    }

    public boolean tryAcquire(int permits) {
        checkPermits(permits);
        try {
            return take(permits, false, 0, true, false);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    public boolean tryAcquire(long timeout, TimeUnit unit) throws InterruptedException {
        return tryAcquire(1, timeout, unit);
    }

    public boolean tryAcquire(int permits, long timeout, TimeUnit unit) throws InterruptedException {
        checkPermits(permits);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        return take(permits, true, ClusterLock.deadline(timeout, unit), false, true);
    }

    public void release() {
        release(1);
    }

    /** Adds {@code permits}, granting them to queued waiters (in order on a fair semaphore) and waking those. */
    public void release(int permits) {
        checkPermits(permits);
        List<WaiterRef> granted = new ArrayList<>();
        set.update(id, s -> {
            SyncState.Semaphore cur = checked(s, Access.WRITE);
            if (cur.permits() + permits < cur.permits()) {
                throw new Error("Maximum permit count exceeded");
            }
            return grant(cur.with(cur.permits() + permits, cur.queue()), granted);
        });
        wake(granted);
    }

    public int availablePermits() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(Integer.MIN_VALUE, read().permits()));
    }

    /** Takes every available permit; returns how many (0 when none or negative). */
    public int drainPermits() {
        long[] n = new long[1];
        set.update(id, s -> {
            SyncState.Semaphore cur = checked(s, Access.WRITE);
            n[0] = Math.max(0, cur.permits());
            return n[0] == 0 ? cur : cur.with(cur.permits() - n[0], cur.queue());
        });
        return (int) n[0];
    }

    /** Shrinks the number of available permits by {@code reduction} (it may become negative). */
    public void reducePermits(int reduction) {
        checkPermits(reduction);
        set.update(id, s -> {
            SyncState.Semaphore cur = checked(s, Access.WRITE);
            return cur.with(cur.permits() - reduction, cur.queue());
        });
    }

    public boolean isFair() {
        return read().fair();
    }

    public boolean hasQueuedThreads() {
        return !read().queue().isEmpty();
    }

    public int getQueueLength() {
        return read().queue().size();
    }

    @Override
    public String toString() {
        return "ClusterSemaphore[" + name + ", permits = " + availablePermits() + "]";
    }

    // ------------------------------------------------------------------ implementation

    private enum Outcome { GOT, QUEUED, NO }

    /**
     * Takes {@code n} permits: at once if possible (barging when asked), else queued and asleep until granted, the
     * deadline, or an interrupt (when interruptible; otherwise the interrupt is kept for later).
     */
    private boolean take(long n, boolean interruptible, long deadline, boolean barge, boolean mayWait)
            throws InterruptedException {
        try (Sleepers.Sleeper sleeper = mayWait ? ipc.sleepers().sleeper() : null) {
            WaiterRef me = sleeper != null ? sleeper.ref() : null;
            Outcome[] outcome = new Outcome[1];
            set.update(id, s -> {
                SyncState.Semaphore cur = checked(s, Access.WRITE);
                if (cur.permits() >= n && (barge || !cur.fair() || cur.queue().isEmpty())) {
                    outcome[0] = Outcome.GOT;
                    return cur.with(cur.permits() - n, cur.queue());
                }
                if (!mayWait || (deadline != Long.MAX_VALUE && System.nanoTime() >= deadline)) {
                    outcome[0] = Outcome.NO;
                    return cur;
                }
                outcome[0] = Outcome.QUEUED;
                return cur.with(cur.permits(), SyncState.plus(cur.queue(), new SemWaiter(me, n)));
            });
            if (outcome[0] != Outcome.QUEUED) {
                return outcome[0] == Outcome.GOT;
            }
            try {
                return awaitGrant(n, interruptible, deadline, sleeper, me);
            } catch (RuntimeException e) {
                withdraw(n, me);
                throw e;
            }
        }
    }

    /**
     * A waiter that leaves by an error (the state could not be had in time): it leaves the queue, and permits a
     * release granted it meanwhile go back, so that none is granted to nobody. Best effort.
     */
    private void withdraw(long n, WaiterRef me) {
        try {
            List<WaiterRef> granted = new ArrayList<>();
            set.update(id, s -> {
                if (s == null) {
                    return null;
                }
                SyncState.Semaphore next = queued(s, me)
                        ? s.with(s.permits(), SyncState.without(s.queue(), w -> w.ref().equals(me)))
                        : s.with(s.permits() + n, s.queue());   // granted to us: given back
                return grant(next, granted);
            });
            wake(granted);
        } catch (RuntimeException e) {
            log.warn("semaphore '{}': a waiter that failed could not leave its queue: {}", name, e.toString());
        }
    }

    /** Sleeps until the queued waiter {@code me} is granted its permits, times out, or is interrupted. */
    private boolean awaitGrant(long n, boolean interruptible, long deadline, Sleepers.Sleeper sleeper, WaiterRef me)
            throws InterruptedException {
        boolean interrupted = false;
        boolean keepInterrupt = false;
        while (true) {
            boolean timedOut = false;
            try {
                timedOut = !sleeper.await(deadline);
            } catch (InterruptedException e) {
                if (interruptible) {
                    interrupted = true;
                } else {
                    keepInterrupt = true;
                }
            }
            boolean giveUp = timedOut || interrupted;
            boolean[] got = new boolean[1];
            List<WaiterRef> granted = new ArrayList<>();
            set.update(id, s -> {
                SyncState.Semaphore cur = checked(s, Access.READ);
                if (!queued(cur, me)) {
                    got[0] = true;                     // a release granted our permits
                    return cur;
                }
                SyncState.Semaphore next = giveUp
                        ? cur.with(cur.permits(), SyncState.without(cur.queue(), w -> w.ref().equals(me)))
                        : cur;
                next = grant(next, granted);           // drops dead waiters; may grant us (a re-check)
                got[0] = !giveUp && !queued(next, me);
                return next;
            });
            wake(granted.stream().filter(r -> !r.equals(me)).toList());
            if (got[0]) {
                if (interrupted || keepInterrupt) {
                    Thread.currentThread().interrupt();    // acquired first: the interrupt is kept
                }
                return true;
            }
            if (interrupted) {
                throw new InterruptedException();
            }
            if (timedOut) {
                if (keepInterrupt) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }
        }
    }

    private static boolean queued(SyncState.Semaphore s, WaiterRef me) {
        for (SemWaiter w : s.queue()) {
            if (w.ref().equals(me)) {
                return true;
            }
        }
        return false;
    }

    /** Grants available permits to queued waiters (in order when fair), dropping waiters of dead nodes. */
    private SyncState.Semaphore grant(SyncState.Semaphore s, List<WaiterRef> granted) {
        if (s.queue().isEmpty()) {
            return s;
        }
        long permits = s.permits();
        List<SemWaiter> left = new ArrayList<>();
        boolean blocked = false;
        for (SemWaiter w : s.queue()) {
            if (!ipc.sleepers().isLive(w.ref())) {           // its node died (it may be back, as another)
                continue;
            }
            if (!blocked && permits >= w.permits()) {
                permits -= w.permits();
                granted.add(w.ref());
            } else {
                left.add(w);
                blocked |= s.fair();
            }
        }
        if (left.size() == s.queue().size()) {
            return s;
        }
        return s.with(permits, left);
    }

    private void wake(List<WaiterRef> granted) {
        for (WaiterRef r : granted) {
            ipc.sleepers().wake(r, GRANTED, 0);
        }
    }

    private SyncState.Semaphore read() {
        return SyncSets.read(set, id, ipc.callers(), "semaphore '" + name + "'");
    }

    private SyncState.Semaphore checked(SyncState.Semaphore s, Access access) {
        return SyncSets.checked(s, ipc.callers(), access, "semaphore '" + name + "'");
    }

    private static void checkPermits(long permits) {
        if (permits < 0) {
            throw new IllegalArgumentException("permits must be >= 0, got " + permits);
        }
    }
}
