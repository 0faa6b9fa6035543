package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.kerrighed.ipc.ClusterCyclicBarrier;
import org.kerrighed.ipc.ClusterLock;

import java.time.Duration;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cluster IPC when a node's JVM is SIGKILLed: the lock its thread held goes to the next waiter, who is told the
 * owner died; a barrier with a dead party breaks for the parties that wait. Nothing hangs. Nodes 1-3 are child
 * JVMs ({@link IpcNodeMain}); a node in this JVM and plays the surviving party.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IpcCrashTest {
    private JvmCluster c;
    private Node here;

    @BeforeAll
    void start() throws Exception {
        c = new JvmCluster("ipc-crash", IpcNodeMain.class);
        c.start(1);
        c.start(2);
        here = Kerrighed.join(c.memberConfig().toBuilder().callTimeout(Duration.ofSeconds(10)).build(),
                IpcNodeMain.TYPES);
    }

    @AfterAll
    void stop() {
        if (here != null) {
            here.close();
        }
        c.close();
    }

    @Test
    @Order(1)
    void lockOfAKilledHolderGoesToTheWaiterWithOwnerDied() throws Exception {
        assertTrue(here.rpc().call(1, IpcNodeMain.HOLD_LOCK, "crash-lock").get(30, TimeUnit.SECONDS));
        ClusterLock lock = here.ipc().lock("crash-lock");
        AtomicReference<Boolean> ownerDied = new AtomicReference<>();
        CompletableFuture<Long> got = CompletableFuture.supplyAsync(() -> {
            long t0 = System.nanoTime();
            try {
                if (!lock.tryLock(60, TimeUnit.SECONDS)) {
                    return -1L;
                }
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
            try {
                ownerDied.set(lock.ownerDied());
                lock.markConsistent();
            } finally {
                lock.unlock();
            }
            return (System.nanoTime() - t0) / 1_000_000;
        });
        Thread.sleep(300);
        assertFalse(got.isDone(), "node 1 holds the lock");
        long killedAt = System.nanoTime();
        c.crash(1);
        long waited = got.get(60, TimeUnit.SECONDS);
        assertTrue(waited >= 0, "the waiter never got the lock");
        System.out.printf("lock passed to the waiter %d ms after the SIGKILL%n",
                (System.nanoTime() - killedAt) / 1_000_000);
        assertEquals(Boolean.TRUE, ownerDied.get(), "the new holder is told the owner died");
    }

    @Test
    @Order(2)
    void barrierWithAKilledPartyBreaks() throws Exception {
        c.start(3);
        ClusterCyclicBarrier b = here.ipc().cyclicBarrier("crash-barrier", 3);
        // round 1: parties on node 0 (here), 2 and 3
        party(2);
        party(3);
        b.await(60, TimeUnit.SECONDS);
        c.jvm(2).awaitLine(l -> l.equals("BARRIER crash-barrier passed"), Duration.ofSeconds(30));
        c.jvm(3).awaitLine(l -> l.equals("BARRIER crash-barrier passed"), Duration.ofSeconds(30));
        // round 2: node 3 and this node wait; node 2's party is SIGKILLed before it comes back
        party(3);
        CompletableFuture<Throwable> mine = CompletableFuture.supplyAsync(() -> {
            try {
                b.await(60, TimeUnit.SECONDS);
                return null;
            } catch (Exception e) {
                return e;
            }
        });
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (b.getNumberWaiting() < 2 && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertEquals(2, b.getNumberWaiting());
        c.crash(2);
        Throwable t = mine.get(60, TimeUnit.SECONDS);
        assertTrue(t instanceof BrokenBarrierException, "got " + t);
        c.jvm(3).awaitLine(l -> l.equals("BARRIER crash-barrier BrokenBarrierException"), Duration.ofSeconds(30));
    }

    /** Starts a party of barrier "crash-barrier" on node {@code id} (it prints its outcome). */
    private void party(int id) throws Exception {
        assertTrue(here.rpc().call(id, IpcNodeMain.BARRIER, new IpcNodeMain.BarrierReq("crash-barrier", 3))
                .get(30, TimeUnit.SECONDS));
    }
}
