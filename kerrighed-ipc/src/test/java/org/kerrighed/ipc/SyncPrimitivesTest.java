package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The semaphore, latch, barrier, read-write lock and atomics against their JDK contracts, with parties on 3 nodes
 * (several threads each).
 */
class SyncPrimitivesTest {
    static IpcNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new IpcNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    interface Body {
        void run(int node, int thread) throws Exception;
    }

    /** Runs {@code body} on {@code threads} platform threads per node and rethrows the first failure. */
    static void onEveryNode(int threads, Body body) throws Exception {
        List<Thread> ts = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int n = 0; n < 3; n++) {
            for (int t = 0; t < threads; t++) {
                int node = n;
                int thread = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    try {
                        body.run(node, thread);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
        }
        for (Thread t : ts) {
            t.join(60_000);
            assertFalse(t.isAlive(), "a party did not finish");
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    @Test
    void semaphoreBoundsConcurrencyAcrossNodes() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        onEveryNode(3, (n, t) -> {
            ClusterSemaphore s = nodes.ipc(n).semaphore("sem-bound", 2);
            for (int i = 0; i < 10; i++) {
                s.acquire();
                try {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    Thread.sleep(1);
                    inside.decrementAndGet();
                } finally {
                    s.release();
                }
            }
        });
        assertTrue(maxInside.get() <= 2, "more than 2 holders at once: " + maxInside.get());
        assertEquals(2, nodes.ipc(1).semaphore("sem-bound", 2).availablePermits());
    }

    @Test
    void semaphoreContract() throws Exception {
        ClusterSemaphore a = nodes.ipc(0).semaphore("sem-contract", 0, true, Ipc.DEFAULT_MODE);
        ClusterSemaphore b = nodes.ipc(1).semaphore("sem-contract", 0);
        assertTrue(b.isFair());
        assertFalse(a.tryAcquire());
        assertFalse(a.tryAcquire(100, TimeUnit.MILLISECONDS));
        assertThrows(IllegalArgumentException.class, () -> a.acquire(-1));
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread waiter = Thread.ofPlatform().start(() -> {
            try {
                b.acquire(2);
                got.set(new Exception("acquired"));
            } catch (Throwable e) {
                got.set(e);
            }
        });
        IpcNodes.awaitTrue(a::hasQueuedThreads, "the waiter is queued");
        IpcNodes.awaitParked(waiter);
        assertEquals(1, a.getQueueLength());
        a.release();                                  // 1 < 2: still waiting
        Thread.sleep(50);
        assertTrue(waiter.isAlive());
        a.release();
        waiter.join(10_000);
        assertEquals("acquired", got.get().getMessage());
        assertEquals(0, a.availablePermits());
        // interrupt of a queued waiter: InterruptedException, no permits taken, queue cleaned
        Thread w2 = Thread.ofPlatform().start(() -> {
            try {
                b.acquire();
                got.set(new Exception("acquired"));
            } catch (Throwable e) {
                got.set(e);
            }
        });
        IpcNodes.awaitTrue(a::hasQueuedThreads, "the second waiter is queued");
        IpcNodes.awaitParked(w2);
        w2.interrupt();
        w2.join(10_000);
        assertTrue(got.get() instanceof InterruptedException, "got " + got.get());
        assertFalse(a.hasQueuedThreads());
        a.release(3);
        assertEquals(3, b.drainPermits());
        assertEquals(0, a.availablePermits());
        a.reducePermits(1);
        assertEquals(-1, b.availablePermits());
        a.release(1);
    }

    @Test
    void latchOpensForWaitersOnEveryNode() throws Exception {
        ClusterCountDownLatch l = nodes.ipc(0).countDownLatch("latch", 3);
        List<Thread> waiters = new ArrayList<>();
        AtomicInteger passed = new AtomicInteger();
        for (int n = 0; n < 3; n++) {
            ClusterCountDownLatch ln = nodes.ipc(n).countDownLatch("latch", 3);
            waiters.add(Thread.ofPlatform().start(() -> {
                try {
                    ln.await();
                    passed.incrementAndGet();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        for (Thread t : waiters) {
            IpcNodes.awaitParked(t);
        }
        assertFalse(nodes.ipc(2).countDownLatch("latch", 3).await(50, TimeUnit.MILLISECONDS));
        for (int n = 0; n < 3; n++) {
            assertEquals(3 - n, nodes.ipc(n).countDownLatch("latch", 3).getCount());
            nodes.ipc(n).countDownLatch("latch", 3).countDown();
        }
        for (Thread t : waiters) {
            t.join(10_000);
        }
        assertEquals(3, passed.get());
        assertEquals(0, l.getCount());
        l.countDown();
        assertEquals(0, l.getCount());
        assertTrue(l.await(0, TimeUnit.SECONDS));
    }

    @Test
    void barrierRoundsWithActionAndIndexes() throws Exception {
        AtomicInteger actions = new AtomicInteger();
        Set<Integer> indexes = ConcurrentHashMap.newKeySet();
        List<Integer> roundsSeen = new CopyOnWriteArrayList<>();
        onEveryNode(2, (n, t) -> {
            ClusterCyclicBarrier b = nodes.ipc(n).cyclicBarrier("barrier", 6, actions::incrementAndGet);
            for (int round = 0; round < 5; round++) {
                int i = b.await(30, TimeUnit.SECONDS);
                if (round == 0) {
                    indexes.add(i);
                }
                roundsSeen.add(round);
            }
        });
        assertEquals(5, actions.get(), "one action per round");
        assertEquals(Set.of(0, 1, 2, 3, 4, 5), indexes);
        assertEquals(30, roundsSeen.size());
        assertEquals(6, nodes.ipc(0).cyclicBarrier("barrier", 6).getParties());
        assertThrows(IllegalArgumentException.class, () -> nodes.ipc(0).cyclicBarrier("barrier", 5));
    }

    @Test
    void barrierTimeoutBreaksItForEveryParty() throws Exception {
        ClusterCyclicBarrier b0 = nodes.ipc(0).cyclicBarrier("barrier-timeout", 3);
        ClusterCyclicBarrier b1 = nodes.ipc(1).cyclicBarrier("barrier-timeout", 3);
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                b1.await();
            } catch (Throwable e) {
                other.set(e);
            }
        });
        IpcNodes.awaitParked(t);
        assertThrows(TimeoutException.class, () -> b0.await(100, TimeUnit.MILLISECONDS));
        t.join(10_000);
        assertTrue(other.get() instanceof BrokenBarrierException, "got " + other.get());
        assertTrue(b1.isBroken());
        assertThrows(BrokenBarrierException.class, b0::await);
        b1.reset();
        assertFalse(b0.isBroken());
        assertEquals(0, b0.getNumberWaiting());
        // an interrupted waiter breaks it too
        Thread t2 = Thread.ofPlatform().start(() -> {
            try {
                b1.await();
            } catch (Throwable e) {
                other.set(e);
            }
        });
        IpcNodes.awaitParked(t2);
        t2.interrupt();
        t2.join(10_000);
        assertTrue(other.get() instanceof InterruptedException, "got " + other.get());
        assertTrue(b0.isBroken());
        b0.reset();
    }

    @Test
    void barrierManyRoundsWithSeveralThreadsPerNode() throws Exception {
        int rounds = 40;
        int parties = 9;                                     // 3 threads on each of the 3 nodes
        AtomicInteger[] arrived = new AtomicInteger[rounds];
        List<Set<Integer>> indexes = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            arrived[r] = new AtomicInteger();
            indexes.add(ConcurrentHashMap.newKeySet());
        }
        AtomicInteger round = new AtomicInteger();
        List<Integer> arrivalsSeenByActions = new CopyOnWriteArrayList<>();
        onEveryNode(3, (n, t) -> {
            ClusterCyclicBarrier b = nodes.ipc(n).cyclicBarrier("many-rounds", parties,
                    () -> arrivalsSeenByActions.add(arrived[round.getAndIncrement()].get()));
            for (int r = 0; r < rounds; r++) {
                arrived[r].incrementAndGet();
                indexes.get(r).add(b.await(30, TimeUnit.SECONDS));
                assertEquals(parties, arrived[r].get(), "a party passed round " + r + " before all arrived");
            }
        });
        assertEquals(rounds, arrivalsSeenByActions.size(), "one action per round");
        assertTrue(arrivalsSeenByActions.stream().allMatch(a -> a == parties), "an action ran early: "
                + arrivalsSeenByActions);
        for (int r = 0; r < rounds; r++) {
            assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8), indexes.get(r), "indexes of round " + r);
        }
    }

    @Test
    void barrierWithMoreThreadsThanPartiesTripsOnEveryThirdArrival() throws Exception {
        // 6 threads, 3 parties: arrivals that come while a round's action runs belong to the next round
        AtomicInteger actions = new AtomicInteger();
        Map<Integer, AtomicInteger> byIndex = new ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            ClusterCyclicBarrier b = nodes.ipc(n).cyclicBarrier("crowded", 3, () -> {
                actions.incrementAndGet();
                LockSupport.parkNanos(2_000_000);
            });
            for (int t = 0; t < 2; t++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        while (actions.get() < 20) {
                            byIndex.computeIfAbsent(b.await(30, TimeUnit.SECONDS), i -> new AtomicInteger())
                                    .incrementAndGet();
                        }
                    } catch (BrokenBarrierException e) {
                        // the round left short of parties at the end, broken by the reset below
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
        }
        // once 20 rounds passed, the threads still there wait in a round nobody else will join
        ClusterCyclicBarrier b = nodes.ipc(1).cyclicBarrier("crowded", 3);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (actions.get() < 20 || threads.stream().filter(Thread::isAlive).count() != b.getNumberWaiting()) {
            assertTrue(System.nanoTime() < end, "20 rounds did not pass: " + actions.get());
            Thread.sleep(5);
        }
        b.reset();
        for (Thread t : threads) {
            t.join(10_000);
            assertFalse(t.isAlive(), "a thread was not released by the reset");
        }
        assertEquals(null, failure.get());
        int rounds = actions.get();
        assertEquals(Set.of(0, 1, 2), byIndex.keySet());
        byIndex.forEach((i, count) -> assertEquals(rounds, count.get(), "index " + i + " in " + rounds + " rounds"));
    }

    @Test
    void barrierActionThatThrowsBreaksItAndReachesTheLastParty() throws Exception {
        ClusterCyclicBarrier plain = nodes.ipc(0).cyclicBarrier("failing-action", 2);     // node 0 coordinates
        ClusterCyclicBarrier failing = nodes.ipc(1).cyclicBarrier("failing-action", 2, () -> {
            throw new IllegalStateException("boom");
        });
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                plain.await();
            } catch (Throwable e) {
                other.set(e);
            }
        });
        IpcNodes.awaitTrue(() -> plain.getNumberWaiting() == 1, "the first party waits");
        IllegalStateException e = assertThrows(IllegalStateException.class, failing::await);
        assertEquals("boom", e.getMessage());
        t.join(10_000);
        assertTrue(other.get() instanceof BrokenBarrierException, "got " + other.get());
        assertTrue(plain.isBroken());
        failing.reset();
        assertFalse(plain.isBroken());
    }

    @Test
    void barrierWaiterThatTimesOutWhileTheActionRunsPassesTheRound() throws Exception {
        // the JDK's waiter cannot break a round whose last party runs the action: it returns its index
        AtomicReference<Thread> waiter = new AtomicReference<>();
        ClusterCyclicBarrier first = nodes.ipc(0).cyclicBarrier("slow-action", 2);
        ClusterCyclicBarrier last = nodes.ipc(2).cyclicBarrier("slow-action", 2, () -> {
            try {        // until the waiter has timed out, been told to wait for the action, and parked for good
                IpcNodes.awaitTrue(() -> waiter.get().getState() == Thread.State.WAITING, "the waiter gives up");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        AtomicReference<Object> outcome = new AtomicReference<>();
        waiter.set(Thread.ofPlatform().start(() -> {
            try {
                outcome.set(first.await(3, TimeUnit.SECONDS));
            } catch (Throwable e) {
                outcome.set(e);
            }
        }));
        IpcNodes.awaitTrue(() -> first.getNumberWaiting() == 1, "the first party waits");
        assertEquals(0, last.await());
        waiter.get().join(10_000);
        assertEquals(1, outcome.get());
        assertFalse(first.isBroken());
    }

    @Test
    void barrierRoundCostsAMessagePerRemotePartyAndAWakeUpPerRemoteWaiter() throws Exception {
        ClusterCyclicBarrier[] b = new ClusterCyclicBarrier[3];
        for (int n = 0; n < 3; n++) {
            b[n] = nodes.ipc(n).cyclicBarrier("counted", 3);                  // node 0 coordinates
        }
        int rounds = 100;
        onEveryNode(1, (n, t) -> b[n].await(30, TimeUnit.SECONDS));         // warm: read copies everywhere
        long before = nodes.messagesOut(0) + nodes.messagesOut(1) + nodes.messagesOut(2);
        onEveryNode(1, (n, t) -> {
            for (int i = 0; i < rounds; i++) {
                b[n].await(30, TimeUnit.SECONDS);
            }
        });
        long sent = nodes.messagesOut(0) + nodes.messagesOut(1) + nodes.messagesOut(2) - before;
        // per round: the arrivals of nodes 1 and 2 (one-way), and one wake-up per node with a party waiting
        assertTrue(sent <= 4L * rounds, sent + " messages for " + rounds + " rounds");
    }

    @Test
    void readWriteLockSharesReadersAndExcludesWriters() throws Exception {
        ClusterAtomicLong counter = nodes.ipc(0).atomicLong("rw-counter");
        AtomicInteger readersInside = new AtomicInteger();
        AtomicInteger maxReaders = new AtomicInteger();
        onEveryNode(3, (n, t) -> {
            ClusterReadWriteLock rw = nodes.ipc(n).readWriteLock("rw");
            ClusterAtomicLong c = nodes.ipc(n).atomicLong("rw-counter");
            for (int i = 0; i < 10; i++) {
                if (t == 0) {
                    rw.writeLock().lock();
                    try {
                        c.set(c.get() + 1);
                    } finally {
                        rw.writeLock().unlock();
                    }
                } else {
                    rw.readLock().lock();
                    try {
                        maxReaders.accumulateAndGet(readersInside.incrementAndGet(), Math::max);
                        Thread.sleep(1);
                        readersInside.decrementAndGet();
                    } finally {
                        rw.readLock().unlock();
                    }
                }
            }
        });
        assertEquals(30, counter.get());
        assertTrue(maxReaders.get() >= 2, "readers never overlapped: " + maxReaders.get());
        // rules of ReentrantReadWriteLock
        ClusterReadWriteLock rw = nodes.ipc(1).readWriteLock("rw");
        Lock w = rw.writeLock();
        assertThrows(IllegalMonitorStateException.class, w::unlock);
        assertThrows(IllegalMonitorStateException.class, rw.readLock()::unlock);
        assertThrows(UnsupportedOperationException.class, w::newCondition);
        w.lock();
        rw.readLock().lock();                         // downgrade
        w.unlock();
        assertEquals(1, rw.getReadHoldCount());
        assertTrue(nodes.ipc(2).readWriteLock("rw").readLock().tryLock(5, TimeUnit.SECONDS), "readers share");
        nodes.ipc(2).readWriteLock("rw").readLock().unlock();
        assertFalse(nodes.ipc(0).readWriteLock("rw").writeLock().tryLock(100, TimeUnit.MILLISECONDS));
        rw.readLock().unlock();
        assertTrue(nodes.ipc(0).readWriteLock("rw").writeLock().tryLock(5, TimeUnit.SECONDS));
        nodes.ipc(0).readWriteLock("rw").writeLock().unlock();
    }

    /**
     * A downgrade while another node waits for the lock: the write lock's release does not wait for that node (it
     * waits for this node's pin), and the waiting reader then shares the lock with the downgraded one.
     */
    @Test
    void aDowngradeWhileAnotherNodeWaitsNeitherHangsNorLeaksTheWriteLock() throws Exception {
        ClusterReadWriteLock rw = nodes.ipc(0).readWriteLock("rw-downgrade");
        rw.writeLock().lock();
        java.util.concurrent.CompletableFuture<Boolean> reader = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                    try {
                        Lock r = nodes.ipc(1).readWriteLock("rw-downgrade").readLock();
                        boolean got = r.tryLock(10, TimeUnit.SECONDS);
                        if (got) {
                            r.unlock();
                        }
                        return got;
                    } catch (InterruptedException e) {
                        return false;
                    }
                }, r -> Thread.ofVirtual().start(r));
        Thread.sleep(300);                                    // node 1's request waits for node 0's write pin
        rw.readLock().lock();
        long t0 = System.nanoTime();
        rw.writeLock().unlock();
        assertTrue(System.nanoTime() - t0 < 3_000_000_000L, "the downgrade's release did not wait");
        assertTrue(reader.get(10, TimeUnit.SECONDS), "the waiting reader shares the downgraded lock");
        rw.readLock().unlock();
        Lock w2 = nodes.ipc(2).readWriteLock("rw-downgrade").writeLock();
        assertTrue(w2.tryLock(5, TimeUnit.SECONDS), "the write lock is free again");
        w2.unlock();
    }

    @Test
    void permissionsAreCheckedWithTheCallersCredentials() throws Exception {
        // objects made by root (node 0) with mode 0640: the group may read, others nothing
        ClusterLock lock = nodes.ipc(0).lock("perm-lock", false, 0640);
        lock.lock();
        lock.unlock();
        nodes.ipc(0).atomicLong("perm-atomic", 5, 0640);
        nodes.ipc(0).semaphore("perm-sem", 1, false, 0640);
        var kddm = nodes.kddm(2);
        var before = kddm.callers();
        try {
            kddm.setCallers(org.kerrighed.kddm.access.CallerContext.ofNode(2,
                    new org.kerrighed.kddm.access.Credentials(1000, 0)));      // group 0: read only
            assertEquals(5, nodes.ipc(2).atomicLong("perm-atomic").get(), "the group may read");
            var denied = assertThrows(org.kerrighed.kddm.access.PermissionDeniedException.class,
                    () -> nodes.ipc(2).atomicLong("perm-atomic").incrementAndGet());
            assertTrue(denied.getMessage().contains("perm-atomic"), denied.getMessage());
            assertThrows(org.kerrighed.kddm.access.PermissionDeniedException.class,
                    () -> nodes.ipc(2).lock("perm-lock").lock());
            assertFalse(nodes.ipc(2).lock("perm-lock").isHeldByCurrentThread());
            assertThrows(org.kerrighed.kddm.access.PermissionDeniedException.class,
                    () -> nodes.ipc(2).semaphore("perm-sem", 1).acquire());
            kddm.setCallers(org.kerrighed.kddm.access.CallerContext.ofNode(2,
                    new org.kerrighed.kddm.access.Credentials(1000, 1000)));   // others: nothing
            assertThrows(org.kerrighed.kddm.access.PermissionDeniedException.class,
                    () -> nodes.ipc(2).atomicLong("perm-atomic").get());
        } finally {
            kddm.setCallers(before);
        }
        assertTrue(nodes.ipc(2).lock("perm-lock").tryLock(5, TimeUnit.SECONDS), "root may");
        nodes.ipc(2).lock("perm-lock").unlock();
    }

    @Test
    void atomicsAreExactUnderContention() throws Exception {
        onEveryNode(3, (n, t) -> {
            ClusterAtomicLong a = nodes.ipc(n).atomicLong("atomic-cas");
            for (int i = 0; i < 30; i++) {
                if (i % 2 == 0) {
                    a.incrementAndGet();
                } else {
                    long v;
                    do {
                        v = a.get();
                    } while (!a.compareAndSet(v, v + 1));
                }
            }
        });
        assertEquals(3 * 3 * 30, nodes.ipc(2).atomicLong("atomic-cas").get());
        ClusterAtomicReference<String> r0 = nodes.ipc(0).atomicReference("ref", String.class);
        ClusterAtomicReference<String> r1 = nodes.ipc(1).atomicReference("ref", String.class);
        assertEquals(null, r1.get());
        assertTrue(r0.compareAndSet(null, "a"));
        assertFalse(r1.compareAndSet(null, "b"));
        assertTrue(r1.compareAndSet("a", "b"), "equal values compare equal across nodes");
        assertEquals("b!", r0.updateAndGet(v -> v + "!"));
        assertEquals("b!", r1.getAndSet("c"));
        assertEquals("c", r0.get());
    }
}
