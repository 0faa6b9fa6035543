package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ClusterLock} and its conditions against the {@code Lock} / {@code Condition} contracts, across 3 nodes. */
class ClusterLockTest {
    static IpcNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new IpcNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    /** A deliberately racy counter (read, then write later) that only the lock keeps exact. */
    static final class Racy {
        volatile long value;
    }

    @Test
    void excludesThreadsOfEveryNode() throws Exception {
        // the protected data is a cluster atomic read and written in two separate steps: only the lock keeps it exact
        ClusterAtomicLong shared = nodes.ipc(0).atomicLong("excl-counter");
        List<Thread> ts = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int n = 0; n < 3; n++) {
            ClusterLock lock = nodes.ipc(n).lock("excl");
            ClusterAtomicLong counter = nodes.ipc(n).atomicLong("excl-counter");
            for (int t = 0; t < 3; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 40; i++) {
                            lock.lock();
                            try {
                                long v = counter.get();
                                counter.set(v + 1);
                            } finally {
                                lock.unlock();
                            }
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }));
            }
        }
        for (Thread t : ts) {
            t.join(60_000);
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(3 * 3 * 40, shared.get());
    }

    @Test
    void reentrantAndMonitorRules() {
        ClusterLock lock = nodes.ipc(1).lock("reentrant");
        lock.lock();
        lock.lock();
        assertEquals(2, lock.getHoldCount());
        assertTrue(lock.isHeldByCurrentThread());
        lock.unlock();
        lock.unlock();
        assertFalse(lock.isHeldByCurrentThread());
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
        assertThrows(IllegalMonitorStateException.class, () -> lock.newCondition().signal());
        assertThrows(IllegalMonitorStateException.class, () -> lock.newCondition("c").await());
        assertThrows(IllegalMonitorStateException.class, lock::ownerDied);
    }

    @Test
    void reacquiredOnTheSameNodeWithoutAMessage() {
        ClusterLock lock = nodes.ipc(2).lock("cached");
        lock.lock();
        lock.unlock();
        long before = nodes.framesOut(2);
        for (int i = 0; i < 1000; i++) {
            lock.lock();
            lock.unlock();
        }
        assertEquals(before, nodes.framesOut(2), "re-acquiring a lock cached here sent messages");
    }

    @Test
    void tryLockTimeoutsAndInterrupts() throws Exception {
        ClusterLock a = nodes.ipc(0).lock("try");
        ClusterLock b = nodes.ipc(1).lock("try");
        a.lock();
        try {
            assertFalse(CompletableFuture.supplyAsync(b::tryLock).get(10, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            assertFalse(CompletableFuture.supplyAsync(() -> {
                try {
                    return b.tryLock(200, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }).get(10, TimeUnit.SECONDS));
            assertTrue(System.nanoTime() - t0 >= 150_000_000L, "tryLock returned before its timeout");
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean interruptedAfter = new AtomicBoolean(true);
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    b.lockInterruptibly();
                    b.unlock();
                } catch (Throwable e) {
                    thrown.set(e);
                    interruptedAfter.set(Thread.currentThread().isInterrupted());
                }
            });
            IpcNodes.awaitParked(waiter);
            waiter.interrupt();
            waiter.join(10_000);
            assertTrue(thrown.get() instanceof InterruptedException, "got " + thrown.get());
            assertFalse(interruptedAfter.get(), "the interrupt status is cleared when InterruptedException is thrown");
            // a thread of the third node waits in lock(): parked, and it gets the lock once a releases it
            ClusterLock c = nodes.ipc(2).lock("try");
            CountDownLatch got = new CountDownLatch(1);
            Thread third = Thread.ofPlatform().start(() -> {
                c.lock();
                got.countDown();
                c.unlock();
            });
            IpcNodes.awaitParked(third);
            assertEquals(1, got.getCount());
            a.unlock();
            assertTrue(got.await(10, TimeUnit.SECONDS));
            third.join(10_000);
        } finally {
            if (a.isHeldByCurrentThread()) {
                a.unlock();
            }
        }
        assertTrue(b.tryLock(5, TimeUnit.SECONDS));
        b.unlock();
    }

    @Test
    void conditionSignalWakesAWaiterOnAnotherNode() throws Exception {
        ClusterLock l0 = nodes.ipc(0).lock("cond");
        ClusterLock l1 = nodes.ipc(1).lock("cond");
        ClusterAtomicLong ready = nodes.ipc(0).atomicLong("cond-ready");
        Condition c0 = l0.newCondition("ready");
        Condition c1 = l1.newCondition("ready");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            waiters.add(Thread.ofPlatform().start(() -> {
                l0.lock();
                try {
                    while (ready.get() == 0) {
                        c0.await();
                    }
                    assertTrue(l0.isHeldByCurrentThread());
                } catch (Throwable e) {
                    failure.set(e);
                } finally {
                    l0.unlock();
                }
            }));
        }
        for (Thread w : waiters) {
            IpcNodes.awaitParked(w);
        }
        Thread.sleep(50);
        l1.lock();
        try {
            ready.set(1);
            c1.signalAll();
        } finally {
            l1.unlock();
        }
        for (Thread w : waiters) {
            w.join(10_000);
            assertFalse(w.isAlive());
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        // timed await with nobody signalling
        l1.lock();
        try {
            assertFalse(c1.await(100, TimeUnit.MILLISECONDS));
            assertTrue(c1.awaitNanos(50_000_000L) <= 0);
            assertTrue(l1.isHeldByCurrentThread());
        } finally {
            l1.unlock();
        }
    }

    @Test
    void signalWakesOneWaiterInArrivalOrder() throws Exception {
        ClusterLock l = nodes.ipc(2).lock("one");
        Condition c = l.newCondition("turn");
        List<Integer> order = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int me = i;
            ClusterLock li = nodes.ipc(i).lock("one");
            Condition ci = li.newCondition("turn");
            Thread t = Thread.ofPlatform().start(() -> {
                li.lock();
                try {
                    ci.awaitUninterruptibly();
                    order.add(me);
                } finally {
                    li.unlock();
                }
            });
            IpcNodes.awaitParked(t);
            Thread.sleep(30);                       // registered in the condition before the next one
            ts.add(t);
        }
        for (int i = 0; i < 3; i++) {
            l.lock();
            try {
                c.signal();
            } finally {
                l.unlock();
            }
            long end = System.nanoTime() + 10_000_000_000L;
            while (order.size() < i + 1 && System.nanoTime() < end) {
                Thread.sleep(2);
            }
        }
        for (Thread t : ts) {
            t.join(10_000);
        }
        assertEquals(List.of(0, 1, 2), order);
    }

    /**
     * A timed waiter whose deadline passes while another node holds the lock stays listed until it takes the lock
     * back; a signal given meanwhile picks it. It reports a timeout, so it must hand the signal to the next waiter,
     * else that one sleeps on though a signal came (a lost wake-up).
     */
    @Test
    void aSignalThatPicksAWaiterPastItsDeadlineGoesToTheNextWaiter() throws Exception {
        ClusterLock l0 = nodes.ipc(0).lock("late-signal");
        ClusterLock l2 = nodes.ipc(2).lock("late-signal");
        ClusterLock l1 = nodes.ipc(1).lock("late-signal");
        AtomicReference<Boolean> timedResult = new AtomicReference<>();
        AtomicBoolean untimedWoke = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread timed = Thread.ofPlatform().start(() -> {
            l0.lock();
            try {
                timedResult.set(l0.newCondition("c").await(300, TimeUnit.MILLISECONDS));
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                l0.unlock();
            }
        });
        long timedStart = System.nanoTime();
        IpcNodes.awaitParked(timed);
        Thread.sleep(30);                               // listed first
        Thread untimed = Thread.ofPlatform().start(() -> {
            l2.lock();
            try {
                l2.newCondition("c").await();
                untimedWoke.set(true);
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                l2.unlock();
            }
        });
        IpcNodes.awaitParked(untimed);
        Thread.sleep(30);
        l1.lock();
        try {
            // past the timed waiter's deadline: it waits for the lock, still listed first
            Thread.sleep(Math.max(0, 600 - (System.nanoTime() - timedStart) / 1_000_000));
            l1.newCondition("c").signal();
        } finally {
            l1.unlock();
        }
        timed.join(10_000);
        untimed.join(10_000);
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(Boolean.FALSE, timedResult.get(), "the timed waiter's deadline passed before the signal");
        assertTrue(untimedWoke.get(), "the signal went to the waiter past its deadline, and was lost");
        assertFalse(untimed.isAlive());
    }

    @Test
    void interruptDuringAwaitThrowsWithTheLockHeld() throws Exception {
        ClusterLock l = nodes.ipc(1).lock("await-int");
        Condition c = l.newCondition();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicBoolean held = new AtomicBoolean();
        Thread t = Thread.ofPlatform().start(() -> {
            l.lock();
            try {
                c.await();
            } catch (Throwable e) {
                thrown.set(e);
                held.set(l.isHeldByCurrentThread());
            } finally {
                l.unlock();
            }
        });
        IpcNodes.awaitParked(t);
        Thread.sleep(20);
        t.interrupt();
        t.join(10_000);
        assertTrue(thrown.get() instanceof InterruptedException, "got " + thrown.get());
        assertTrue(held.get(), "await re-acquires the lock before throwing");
    }
}
