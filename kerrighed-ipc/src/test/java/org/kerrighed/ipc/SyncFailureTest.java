package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Node deaths (in-process crashes: sockets closed, the others told it failed): a dead holder's lock passes to the
 * next waiter with the owner-died flag, a dead party breaks a barrier, semaphores and atomics keep their state.
 * Nothing hangs. The multi-JVM SIGKILL versions are in kerrighed-node.
 */
class SyncFailureTest {
    static IpcNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new IpcNodes(4);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void deadHoldersLockGoesToTheNextWaiterWhoIsToldTheOwnerDied() throws Exception {
        // node 3 holds the lock and dies; a thread of node 1 waits for it
        ClusterLock held = nodes.ipc(3).lock("robust");
        CountDownLatch holding = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().start(() -> {
            held.lock();
            holding.countDown();             // never unlocks: its node dies
        });
        assertTrue(holding.await(10, TimeUnit.SECONDS));
        holder.join();
        ClusterLock waiter = nodes.ipc(1).lock("robust");
        AtomicReference<Boolean> ownerDied = new AtomicReference<>();
        CompletableFuture<Void> got = CompletableFuture.runAsync(() -> {     // one task: the common pool will do
            waiter.lock();
            try {
                ownerDied.set(waiter.ownerDied());
                waiter.markConsistent();
                assertFalse(waiter.ownerDied());
            } finally {
                waiter.unlock();
            }
        });
        Thread.sleep(100);
        assertFalse(got.isDone(), "the lock is held on node 3");
        nodes.crash(3);
        got.get(30, TimeUnit.SECONDS);
        assertEquals(Boolean.TRUE, ownerDied.get());
        // marked consistent: the next holder (another node) is not told
        ClusterLock next = nodes.ipc(2).lock("robust");
        assertTrue(next.tryLock(10, TimeUnit.SECONDS));
        try {
            assertFalse(next.ownerDied());
        } finally {
            next.unlock();
        }
    }

    @Test
    void deadPartyBreaksTheBarrierAndStateSurvives() throws Exception {
        // round 1 with parties on nodes 0, 1, 2; node 2 dies before round 2: the waiting parties break
        ClusterSemaphore sem = nodes.ipc(0).semaphore("survivor-sem", 5);
        ClusterAtomicLong atom = nodes.ipc(2).atomicLong("survivor-atomic");
        atom.set(42);
        sem.acquire(2);                                 // 3 left, written from node 0
        nodes.ipc(2).semaphore("survivor-sem", 5).acquire(1);    // 2 left, the object now lives on node 2
        java.util.List<AtomicReference<Throwable>> round1 = new java.util.ArrayList<>();
        java.util.List<Thread> parties = new java.util.ArrayList<>();
        for (int n = 0; n < 3; n++) {          // own threads: the common pool may have one worker on 2 cores
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            round1.add(outcome);
            ClusterCyclicBarrier b = nodes.ipc(n).cyclicBarrier("dead-party", 3);
            parties.add(Thread.ofPlatform().start(() -> await(b, outcome)));
        }
        for (int n = 0; n < 3; n++) {
            parties.get(n).join(30_000);
            assertEquals("passed", round1.get(n).get().getMessage(), "round 1 of party " + n);
        }
        AtomicReference<Throwable> t0 = new AtomicReference<>();
        AtomicReference<Throwable> t1 = new AtomicReference<>();
        Thread w0 = Thread.ofPlatform().start(() -> await(nodes.ipc(0).cyclicBarrier("dead-party", 3), t0));
        Thread w1 = Thread.ofPlatform().start(() -> await(nodes.ipc(1).cyclicBarrier("dead-party", 3), t1));
        IpcNodes.awaitTrue(() -> nodes.ipc(0).cyclicBarrier("dead-party", 3).getNumberWaiting() == 2,
                "two parties wait");
        nodes.crash(2);
        w0.join(30_000);
        w1.join(30_000);
        assertTrue(t0.get() instanceof BrokenBarrierException, "got " + t0.get());
        assertTrue(t1.get() instanceof BrokenBarrierException, "got " + t1.get());
        assertEquals(2, nodes.ipc(1).semaphore("survivor-sem", 5).availablePermits(), "semaphore state survived");
        assertEquals(42, nodes.ipc(0).atomicLong("survivor-atomic").get(), "atomic survived");
    }

    private static void await(ClusterCyclicBarrier b, AtomicReference<Throwable> outcome) {
        try {
            b.await(30, TimeUnit.SECONDS);
            outcome.set(new Exception("passed"));
        } catch (Throwable e) {
            outcome.set(e);
        }
    }
}
