package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.WaiterRef;

import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * A condition of a {@link ClusterLock}, shared by the nodes: {@code signal} on one node wakes a thread awaiting on
 * another. The waiters are kept in the lock's state (in arrival order); a waiter sleeps until a wake-up message.
 * As {@link Condition} allows, a waiter may wake up spuriously: when a node fails, every waiter wakes and returns
 * (it re-checks its predicate, as callers of {@code await} must). {@code signal} skips waiters of dead nodes.
 * The methods throw {@link IllegalMonitorStateException} when the calling thread does not hold the lock.
 */
final class ClusterCondition implements Condition {
    private static final int SIGNALLED = 1;

    private final ClusterLock.Core core;
    private final String name;

    ClusterCondition(ClusterLock.Core core, String name) {
        this.core = core;
        this.name = name;
    }

    @Override
    public void await() throws InterruptedException {
        awaitUntilNanos(Long.MAX_VALUE, true);
    }

    @Override
    public void awaitUninterruptibly() {
        try {
            awaitUntilNanos(Long.MAX_VALUE, false);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    @Override
    public long awaitNanos(long nanosTimeout) throws InterruptedException {
        long deadline = ClusterLock.deadline(nanosTimeout, TimeUnit.NANOSECONDS);
        awaitUntilNanos(deadline, true);
        return deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
    }

    @Override
    public boolean await(long time, TimeUnit unit) throws InterruptedException {
        return awaitUntilNanos(ClusterLock.deadline(unit.toNanos(time), TimeUnit.NANOSECONDS), true);
    }

    @Override
    public boolean awaitUntil(Date deadline) throws InterruptedException {
        long ms = deadline.getTime() - System.currentTimeMillis();
        return await(ms, TimeUnit.MILLISECONDS);
    }

    /**
     * Waits (lock released) until signalled, the deadline or an interrupt; returns with the lock held again. True
     * when woken before the deadline (signalled, or spuriously); false when the deadline passed first. A signal
     * that picks this waiter after it stopped sleeping (its deadline passed or it was interrupted, and it waits to
     * take the lock back: until then it is still listed) is passed on to the next waiter, so that a waiter which
     * reports a timeout or an interrupt never takes a signal from the others (as the JDK's conditions behave).
     */
    private boolean awaitUntilNanos(long deadline, boolean interruptible) throws InterruptedException {
        if (interruptible && Thread.interrupted()) {
            core.checkHeld();
            throw new InterruptedException();
        }
        core.checkHeld();
        boolean interrupted = false;
        boolean woken = false;
        WaiterRef me;
        int holds;
        try (Sleepers.Sleeper s = core.sleepers().sleeper()) {
            me = s.ref();
            core.setWaiters(name, SyncState.plus(core.waiters(name), me));
            holds = core.releaseAll();
            while (true) {
                try {
                    woken = s.await(deadline);         // woken (signal, or a node failed), or timed out
                    break;
                } catch (InterruptedException e) {
                    if (interruptible) {
                        interrupted = true;
                        break;
                    }
                    interrupted = true;               // awaitUninterruptibly: keep waiting, reassert later
                }
            }
        }
        core.reacquire(holds);
        List<WaiterRef> w = core.waiters(name);
        boolean signalled = !w.contains(me);
        if (!signalled) {
            core.setWaiters(name, SyncState.without(w, me::equals));
        } else if (!woken) {
            signal();                                 // picked after it stopped sleeping: the next waiter's
        }
        if (interrupted) {
            if (interruptible && !woken) {
                throw new InterruptedException();
            }
            Thread.currentThread().interrupt();       // woken first: return normally, interrupt kept
        }
        return woken;
    }

    @Override
    public void signal() {
        core.checkHeld();
        WaiterRef r = core.pollWaiter(name);
        if (r != null) {
            core.sleepers().wake(r, SIGNALLED, 0);
        }
    }

    @Override
    public void signalAll() {
        core.checkHeld();
        for (WaiterRef r; (r = core.pollWaiter(name)) != null; ) {
            core.sleepers().wake(r, SIGNALLED, 0);
        }
    }

    @Override
    public String toString() {
        return "condition '" + name + "' of lock '" + core.name + "'";
    }
}
