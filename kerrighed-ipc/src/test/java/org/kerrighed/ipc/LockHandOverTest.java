package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.access.Credentials;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A process hands its cluster locks over ({@link Ipc#handOverLocks}) and takes them back ({@link Ipc#takeOverLocks})
 * while threads of the same node or of the target node wait for the lock: the process gets it back (nobody else
 * gets it while it is reserved), and the waiters get it once the process releases it.
 */
class LockHandOverTest {
    static IpcNodes nodes;
    /** The cluster process the calling thread runs as (none: a plain thread). */
    static final ThreadLocal<Integer> PID = new ThreadLocal<>();
    private final List<CallerContext> before = new ArrayList<>();

    @BeforeAll
    static void start() {
        nodes = new IpcNodes(2);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @BeforeEach
    void processCallers() {
        for (int n = 0; n < 2; n++) {
            before.add(nodes.kddm(n).callers());
            nodes.kddm(n).setCallers(asProcesses(n));
        }
    }

    @AfterEach
    void restoreCallers() {
        PID.remove();
        for (int n = 0; n < 2; n++) {
            nodes.kddm(n).setCallers(before.get(n));
        }
    }

    /** Root callers; a thread that set {@link #PID} is that process. */
    private static CallerContext asProcesses(int node) {
        return new CallerContext() {
            @Override
            public Credentials credentials() {
                return Credentials.ROOT;
            }

            @Override
            public Caller caller() {
                Integer pid = PID.get();
                return new Caller(node, pid == null ? 0 : pid, Thread.currentThread().threadId());
            }
        };
    }

    /** A thread that waits for {@code lock}, holds it briefly, and counts {@code got} down. */
    private static Thread waiter(ClusterLock lock, CountDownLatch got, AtomicReference<Throwable> failure) {
        return Thread.ofPlatform().start(() -> {
            try {
                lock.lock();
                try {
                    got.countDown();
                } finally {
                    lock.unlock();
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        });
    }

    @Test
    void failedMoveTakesTheLockBackDespiteAWaiterOfTheSameNode() throws Exception {
        for (boolean fair : new boolean[]{false, true}) {
            String name = "handover-same-" + fair;
            int pid = fair ? 71 : 70;
            Ipc ipc = nodes.ipc(0);
            ClusterLock lock = ipc.lock(name, fair, Ipc.DEFAULT_MODE);
            PID.set(pid);
            lock.lock();
            lock.lock();
            CountDownLatch got = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread t = waiter(lock, got, failure);                 // a plain thread of the same node
            try {
                IpcNodes.awaitParked(t);
                List<Ipc.HeldLock> held = ipc.handOverLocks(pid, Duration.ofSeconds(20));
                assertEquals(List.of(new Ipc.HeldLock(name, 2, fair, Ipc.DEFAULT_MODE)), held);
                assertFalse(lock.isHeldByCurrentThread());
                Thread.sleep(100);                                 // the waiter meets the reservation meanwhile
                assertEquals(1, got.getCount(), "the lock went to another caller while reserved");
                try {
                    ipc.takeOverLocks(held, pid, Duration.ofSeconds(3));     // the move failed: take it back here
                } catch (RuntimeException e) {
                    fail("fair=" + fair + ": the process could not take its lock back: " + e);
                }
                assertEquals(2, lock.getHoldCount());
                Thread.sleep(100);
                assertEquals(1, got.getCount(), "fair=" + fair + ": another thread got the lock the process holds");
                lock.unlock();
                lock.unlock();
                assertTrue(got.await(10, TimeUnit.SECONDS), "the waiter gets the lock once the process releases it");
            } finally {
                while (lock.isHeldByCurrentThread()) {
                    lock.unlock();
                }
                PID.remove();
                t.join(30_000);
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
        }
    }

    @Test
    void movedProcessTakesTheLockBackDespiteAWaiterOfTheTargetNode() throws Exception {
        String name = "handover-target";
        int pid = 80;
        ClusterLock source = nodes.ipc(0).lock(name);
        ClusterLock target = nodes.ipc(1).lock(name);
        PID.set(pid);
        source.lock();
        CountDownLatch got = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread u = waiter(target, got, failure);                  // a plain thread of the target node
        AtomicBoolean takenBack = new AtomicBoolean();
        try {
            IpcNodes.awaitParked(u);
            Thread.sleep(50);                                      // its request waits at node 0
            List<Ipc.HeldLock> held = nodes.ipc(0).handOverLocks(pid, Duration.ofSeconds(20));
            assertEquals(1, held.size());
            Thread.sleep(100);                                     // the waiter meets the reservation meanwhile
            assertEquals(1, got.getCount(), "the lock went to another caller while reserved");
            try {
                nodes.ipc(1).takeOverLocks(held, pid, Duration.ofSeconds(3));   // the process runs on node 1 now
                takenBack.set(true);
            } catch (RuntimeException e) {
                fail("the moved process could not take its lock back: " + e);
            }
            assertTrue(target.isHeldByCurrentThread());
            Thread.sleep(100);
            assertEquals(1, got.getCount(), "another thread got the lock the process holds");
            target.unlock();
            assertTrue(got.await(10, TimeUnit.SECONDS), "the waiter gets the lock once the process releases it");
        } finally {
            if (takenBack.get() && target.isHeldByCurrentThread()) {
                target.unlock();
            }
            PID.remove();
            u.join(30_000);
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        // the lock works as usual afterwards, from both nodes
        assertTrue(source.tryLock(10, TimeUnit.SECONDS));
        source.unlock();
        assertTrue(target.tryLock(10, TimeUnit.SECONDS));
        target.unlock();
    }

    /** Process {@code pid} takes lock {@code name} on node 0 and hands it over, reserved for {@code reserve}. */
    private static List<Ipc.HeldLock> handedOver(String name, int pid, Duration reserve) {
        PID.set(pid);
        try {
            nodes.ipc(0).lock(name).lock();
            return nodes.ipc(0).handOverLocks(pid, reserve);
        } finally {
            PID.remove();
        }
    }

    @Test
    void timedWaiterGivesUpWhileTheLockIsReserved() throws Exception {
        String name = "handover-timed";
        int pid = 90;
        ClusterLock lock = nodes.ipc(0).lock(name);
        List<Ipc.HeldLock> held = handedOver(name, pid, Duration.ofSeconds(20));
        try {
            ClusterLock other = nodes.ipc(1).lock(name);
            long t0 = System.nanoTime();
            assertFalse(other.tryLock(200, TimeUnit.MILLISECONDS), "reserved for process " + pid);
            long took = System.nanoTime() - t0;
            assertTrue(took >= 150_000_000L && took < 5_000_000_000L, "gave up after " + took / 1_000_000 + " ms");
            assertFalse(other.isHeldByCurrentThread());
            assertFalse(lock.tryLock(), "reserved for process " + pid);
            assertFalse(lock.isHeldByCurrentThread());
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread w = Thread.ofPlatform().start(() -> {
                try {
                    other.lockInterruptibly();
                    other.unlock();
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            Thread.sleep(100);
            w.interrupt();
            w.join(10_000);
            assertTrue(thrown.get() instanceof InterruptedException, "got " + thrown.get());
        } finally {
            PID.set(pid);
            nodes.ipc(1).takeOverLocks(held, pid, Duration.ofSeconds(10));
            nodes.ipc(1).lock(name).unlock();
            PID.remove();
        }
        assertTrue(nodes.ipc(0).lock(name).tryLock(10, TimeUnit.SECONDS));
        nodes.ipc(0).lock(name).unlock();
    }

    /**
     * A reservation whose process never comes back lapses: another node's caller gets the lock once it has lasted
     * its time on that node's own clock (it counts from when it first saw it), not before.
     */
    @Test
    void aReservationLapsesAfterItsTimeOnEveryNode() throws Exception {
        String name = "handover-lapse";
        int pid = 91;
        ClusterLock lock = nodes.ipc(0).lock(name);
        handedOver(name, pid, Duration.ofMillis(1500));
        ClusterLock other = nodes.ipc(1).lock(name);
        long t0 = System.nanoTime();
        assertFalse(other.tryLock(300, TimeUnit.MILLISECONDS), "reserved for process " + pid);
        assertTrue(other.tryLock(10, TimeUnit.SECONDS), "the reservation of a process that never came back lapses");
        long took = System.nanoTime() - t0;
        other.unlock();
        assertTrue(took >= 1_400_000_000L, "taken after " + took / 1_000_000 + " ms: the reservation lasts 1.5 s"
                + " from node 1's first sight of it");
        assertTrue(lock.tryLock(10, TimeUnit.SECONDS), "free again, the reservation gone");
        lock.unlock();
    }
}
