package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.WaiterRef;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.ObjectLostException;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A reentrant mutual-exclusion lock shared by every node of the cluster, with the behaviour of
 * {@link ReentrantLock} as {@link Lock} documents it: reentrant, {@link IllegalMonitorStateException} when a
 * thread that does not hold it unlocks it, interruptible and timed acquisition, {@link Condition}s.
 *
 * <p><b>How it works.</b> The lock is a KDDM object. The node whose thread holds the lock holds the object's
 * write pin; threads of one node queue on a local {@link ReentrantLock} (fair or not), threads of other nodes
 * wait for the pin: their request waits at the holder and is granted when the holder's node releases the pin, so
 * they sleep until told. A lock last held on this node is re-acquired without any message (the object stays
 * cached here until another node asks for it). Nodes take the lock in the order their requests reach the
 * holder's node; a {@code fair} lock also orders the threads of one node by arrival.
 *
 * <p><b>Holder.</b> The holder is the calling thread. A cluster process that moves to another node while it holds
 * the lock keeps it: the lock is reserved for that process while it moves ({@link Ipc#handOverLocks}), and taken
 * back by its thread on the new node; meanwhile no other caller gets it. A caller that meets the reservation waits
 * without holding this node's local queue, so the process's thread is not stuck behind it.
 *
 * <p><b>Failures.</b> When the node of the thread that holds the lock dies, the lock passes to the next waiter,
 * which finds {@link #ownerDied()} true, as a POSIX robust mutex reports {@code EOWNERDEAD}: the state the lock
 * protects may be half-changed. The holder repairs it and calls {@link #markConsistent()}; until then every later
 * holder is told too. KDDM tells the first holder after the lock's object was recovered from its backup copy
 * ({@link Handle#ownerDied()}), so a hand-off between nodes costs only the transfer. The flag is also raised when
 * the node that last held the lock died after releasing it but before any other node took it (it kept the lock
 * cached): the runtime cannot tell these apart without a message per acquisition. Waiters on a condition are
 * woken (a spurious wake-up, which {@link Condition} allows) when a node fails, so a signal lost with a dead node
 * never leaves them asleep.
 *
 * <p>Thread-safe. Instances for the same name on one node share their state.
 */
public final class ClusterLock implements Lock {
    private final Core core;
    private final AtomicInteger conditions = new AtomicInteger();

    ClusterLock(Core core) {
        this.core = core;
    }

    /** The lock's name. */
    public String name() {
        return core.name;
    }

    /** Whether this node's instance orders its threads by arrival (as it was first made on this node). */
    public boolean isFair() {
        return core.fair;
    }

    @Override
    public void lock() {
        core.acquireUninterruptibly();
    }

    @Override
    public void lockInterruptibly() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        core.acquireInterruptibly(Long.MAX_VALUE);
    }

    /** Acquires the lock if no thread of any node holds it (it may ask the node that has it, once). */
    @Override
    public boolean tryLock() {
        return core.tryAcquire();
    }

    @Override
    public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        return core.acquireInterruptibly(deadline(time, unit));
    }

    @Override
    public void unlock() {
        core.release();
    }

    /**
     * A new condition of this lock. Conditions are matched across nodes by name: this one is named {@code "#n"},
     * n counting the conditions made from this {@code ClusterLock} instance, so programs that make their
     * conditions in the same order on every node get the same ones; use {@link #newCondition(String)} to name them.
     */
    @Override
    public Condition newCondition() {
        return newCondition("#" + conditions.getAndIncrement());
    }

    /** The condition {@code conditionName} of this lock (the same one on every node). */
    public Condition newCondition(String conditionName) {
        if (conditionName == null || conditionName.isEmpty()) {
            throw new IllegalArgumentException("a condition needs a non-empty name");
        }
        return new ClusterCondition(core, conditionName);
    }

    /** True when the calling thread holds this lock. */
    public boolean isHeldByCurrentThread() {
        return core.local.isHeldByCurrentThread();
    }

    /** How many times the calling thread holds this lock (0 if it does not). */
    public int getHoldCount() {
        return core.local.getHoldCount();
    }

    /** True when a thread of this node holds the lock (another node's holder is not seen without a message). */
    public boolean isLockedHere() {
        return core.local.isLocked();
    }

    /**
     * True when a node that held this lock died and no holder has called {@link #markConsistent()} since: the state
     * the lock protects may be inconsistent.
     *
     * @throws IllegalMonitorStateException if the calling thread does not hold the lock
     */
    public boolean ownerDied() {
        core.checkHeld();
        return core.state.inconsistent();
    }

    /**
     * Declares the protected state consistent again after {@link #ownerDied()} (POSIX
     * {@code pthread_mutex_consistent}).
     *
     * @throws IllegalMonitorStateException if the calling thread does not hold the lock
     */
    public void markConsistent() {
        core.checkHeld();
        if (core.state.inconsistent()) {
            core.change(core.state.withInconsistent(false));
        }
    }

    @Override
    public String toString() {
        return "ClusterLock[" + core.name + (core.local.isLocked() ? ", held on this node" : "") + "]";
    }

    static long deadline(long time, TimeUnit unit) {
        long n = unit.toNanos(time);
        if (n >= Long.MAX_VALUE / 2) {
            return Long.MAX_VALUE;
        }
        return System.nanoTime() + Math.max(0, n);
    }

    /** The state of one lock on one node: the local queue and, while a thread here holds it, the KDDM pin. */
    static final class Core {
        private static final Logger log = LoggerFactory.getLogger(ClusterLock.class);
        private static final long RESERVED_RETRY_MILLIS = 5;

        final Ipc ipc;
        final String name;
        final long id;
        final KddmSet<SyncState.Lock> set;
        final ReentrantLock local;
        final int mode;
        final boolean fair;
        // guarded by local (written by the holder only)
        private Handle<SyncState.Lock> pin;
        private boolean dirty;
        private boolean lost;                 // the object was lost with its holder: the next state is inconsistent
        SyncState.Lock state;

        Core(Ipc ipc, String name, boolean fair, int mode) {
            this.ipc = ipc;
            this.name = name;
            this.id = Names.id(name);
            this.set = ipc.syncSets().set(SyncSets.LOCKS, SyncState.Lock.class);
            this.local = new ReentrantLock(fair);
            this.fair = fair;
            this.mode = mode;                 // the object is made by its first acquisition: touching it here
        }                                     // would wait for a holder elsewhere

        void acquireUninterruptibly() {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        if (acquire(Long.MAX_VALUE, false)) {
                            return;
                        }
                    } catch (InterruptedException e) {
                        interrupted = true;          // lock() is not interruptible: remember and go on waiting
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        boolean acquireInterruptibly(long deadline) throws InterruptedException {
            return acquire(deadline, true);
        }

        /**
         * Takes the local lock and, for the outermost hold, the pin. While the lock is reserved for a moving
         * process other than the caller, waits WITHOUT the local lock (so that process's thread on this node can
         * take the lock back) and queues again. False on timeout, with nothing held; {@code interruptibly}: an
         * interrupt throws (nothing held), else it is kept for the caller to restore.
         */
        private boolean acquire(long deadline, boolean interruptibly) throws InterruptedException {
            boolean interrupted = false;
            try {
                while (true) {
                    if (!lockLocal(deadline, interruptibly)) {
                        return false;
                    }
                    if (local.getHoldCount() > 1) {
                        return true;
                    }
                    boolean ok = false;
                    try {
                        while (true) {
                            long wait = remaining(deadline);
                            Optional<Handle<SyncState.Lock>> h;
                            try {
                                h = grabLostInterruptibly(wait);
                            } catch (InterruptedException e) {
                                if (interruptibly) {
                                    throw e;
                                }
                                interrupted = true;         // keep the local lock and ask again
                                continue;
                            }
                            if (h.isEmpty()) {
                                return false;               // timed out
                            }
                            ok = settle(h.get());
                            break;
                        }
                    } finally {
                        if (!ok) {
                            local.unlock();                 // timed out, failed, or reserved for another process
                        }
                    }
                    if (ok) {
                        return true;
                    }
                    // reserved for a process that is moving: it takes it soon, here or on another node
                    long sleep = Math.min(TimeUnit.MILLISECONDS.toNanos(RESERVED_RETRY_MILLIS), remaining(deadline));
                    if (sleep <= 0) {
                        return false;
                    }
                    try {
                        TimeUnit.NANOSECONDS.sleep(sleep);
                    } catch (InterruptedException e) {
                        if (interruptibly) {
                            throw e;
                        }
                        interrupted = true;
                    }
                }
            } finally {
                if (interrupted && !interruptibly) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private static long remaining(long deadline) {
            return deadline == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, deadline - System.nanoTime());
        }

        /** Takes the local lock (queued as the lock's fairness says); false on timeout. */
        private boolean lockLocal(long deadline, boolean interruptibly) throws InterruptedException {
            if (!interruptibly) {
                local.lock();
                return true;
            }
            if (deadline == Long.MAX_VALUE) {
                local.lockInterruptibly();
                return true;
            }
            return local.tryLock(remaining(deadline), TimeUnit.NANOSECONDS);
        }

        boolean tryAcquire() {
            if (!local.tryLock()) {
                return false;
            }
            if (local.getHoldCount() > 1) {
                return true;
            }
            boolean ok = false;
            try {
                Optional<Handle<SyncState.Lock>> h;
                try {
                    h = grabLost(() -> set.tryGrab(id));
                } catch (InterruptedException impossible) {
                    throw new AssertionError(impossible);
                }
                if (h.isEmpty()) {
                    return false;
                }
                ok = settle(h.get());                 // false: reserved for a moving process
                return ok;
            } finally {
                if (!ok) {
                    local.unlock();
                }
            }
        }

        private interface Grab<T> {
            T get() throws InterruptedException;
        }

        private Optional<Handle<SyncState.Lock>> grabLostInterruptibly(long waitNanos) throws InterruptedException {
            return grabLost(() -> set.grab(id, waitNanos, TimeUnit.NANOSECONDS));
        }

        /**
         * Grabs the lock's object; one lost with every copy (its holder's node died before it was ever copied) is
         * removed and made again, marked inconsistent: its holder died.
         */
        private <T> T grabLost(Grab<T> grab) throws InterruptedException {
            for (int attempt = 0; ; attempt++) {
                try {
                    return grab.get();
                } catch (ObjectLostException e) {
                    if (attempt > 3) {
                        throw e;
                    }
                    log.warn("lock '{}' was lost with the node that held it; it is made again, marked inconsistent",
                            name);
                    lost = true;
                    set.remove(id);
                }
            }
        }

        /**
         * The pin on the lock's object is here: checks it and takes the lock. The first acquisition anywhere makes
         * the lock and publishes it (copied to a backup) before going on, so that if this node dies holding it the
         * next holder finds it and is told; later hand-offs publish nothing, KDDM tells the next holder
         * ({@link Handle#ownerDied()}) when it recovered the object from its backup. Returns true, or false (the pin
         * released) when the lock is reserved for a moving process other than the caller.
         */
        private boolean settle(Handle<SyncState.Lock> h) {
            SyncState.Lock s = h.value();
            try {
                if (s == null) {
                    s = new SyncState.Lock(name, IpcPerm.createdBy(ipc.callers().credentials(), mode), lost,
                            Map.of(), 0, 0, 0);
                    h.set(s);
                    h.publish();
                }
                Names.checkSame(name, s.name(), "lock");
                s.perm().check(ipc.callers().credentials(), Access.WRITE, "lock '" + name + "'");
            } catch (RuntimeException e) {
                decline(h, s);
                throw e;
            }
            if (s.reservedForOther((int) ipc.callers().caller().pid())
                    && ipc.reservations().holds(s.reservation(), s.reserveMillis())) {
                decline(h, s);
                return false;
            }
            dirty = false;
            if (s.reservedFor() != 0) {
                s = s.reservedFor(0, 0, 0);             // taken by the process it was kept for (or lapsed)
                dirty = true;
            }
            if (h.ownerDied() && !s.inconsistent()) {
                log.warn("lock '{}': the node that held it last died; the new holder is told (ownerDied)", name);
                s = s.withInconsistent(true);
                dirty = true;                       // published on release; if this node dies first, told again
            }
            lost = false;
            pin = h;
            state = s;
            return true;
        }

        /**
         * Releases a pin the caller does not take the lock with (it may not use it, or the lock is reserved for a
         * moving process). KDDM tells only the first write pin after a recovery that the owner died, so a pin that
         * carried the notice records it in the lock's state, published (copied to the backup), for the next holder.
         */
        private void decline(Handle<SyncState.Lock> h, SyncState.Lock s) {
            if (!h.ownerDied() || s == null || s.inconsistent()) {
                h.closeUnchanged();
                return;
            }
            log.warn("lock '{}': the node that held it last died; kept for the next holder (ownerDied)", name);
            try {
                h.set(s.withInconsistent(true));
            } catch (RuntimeException e) {
                h.closeUnchanged();
                log.warn("lock '{}': the owner-died notice could not be recorded: {}", name, e.getMessage());
                return;
            }
            try {
                h.close();
            } catch (KddmException e) {
                log.warn("lock '{}': the owner-died notice may not have reached its backup: {}", name,
                        e.getMessage());
            }
        }

        void checkHeld() {
            if (!local.isHeldByCurrentThread()) {
                throw new IllegalMonitorStateException("lock '" + name + "' is not held by "
                        + Thread.currentThread());
            }
        }

        /** Changes the state (the caller holds the lock); published when the pin is released. */
        void change(SyncState.Lock s) {
            state = s;
            dirty = true;
        }

        void release() {
            checkHeld();
            if (local.getHoldCount() == 1) {
                Handle<SyncState.Lock> h = pin;
                pin = null;
                try {
                    release(h);
                } finally {
                    local.unlock();
                }
            } else {
                local.unlock();
            }
        }

        private void release(Handle<SyncState.Lock> h) {
            try {
                if (dirty) {
                    h.set(state);
                }
                h.release(dirty);
            } catch (KddmException e) {
                // the lock is released here anyway; the state change may not have reached its backup
                log.warn("lock '{}': releasing: {}", name, e.getMessage());
            } finally {
                dirty = false;
            }
        }

        /**
         * Fully releases the calling thread's holds, reserving the lock for process {@code pid} (reservation
         * {@code id}, for {@code millis}): meanwhile only that process takes it (on any node). Returns how many
         * holds it had.
         */
        int handOver(int pid, long id, long millis) {
            checkHeld();
            change(state.reservedFor(pid, id, millis));
            return releaseAll();
        }

        /** Fully releases the calling thread's holds (for Condition.await); returns how many it had. */
        int releaseAll() {
            checkHeld();
            int holds = local.getHoldCount();
            for (int i = 0; i < holds; i++) {
                release();
            }
            return holds;
        }

        /** Takes back {@code holds} holds, uninterruptibly (for Condition.await). */
        void reacquire(int holds) {
            for (int i = 0; i < holds; i++) {
                acquireUninterruptibly();
            }
        }

        Sleepers sleepers() {
            return ipc.sleepers();
        }

        List<WaiterRef> waiters(String condition) {
            return state.conditions().getOrDefault(condition, List.of());
        }

        void setWaiters(String condition, List<WaiterRef> w) {
            Map<String, List<WaiterRef>> m = new HashMap<>(state.conditions());
            if (w.isEmpty()) {
                m.remove(condition);
            } else {
                m.put(condition, List.copyOf(w));
            }
            change(state.withConditions(m));
        }

        /** Removes and returns the first live waiter of {@code condition} ({@link Sleepers#isLive}), or null. */
        WaiterRef pollWaiter(String condition) {
            List<WaiterRef> w = new ArrayList<>(waiters(condition));
            WaiterRef found = null;
            while (!w.isEmpty() && found == null) {
                WaiterRef r = w.removeFirst();
                if (ipc.sleepers().isLive(r)) {
                    found = r;
                }
            }
            if (w.size() != waiters(condition).size()) {
                setWaiters(condition, w);
            }
            return found;
        }
    }
}
