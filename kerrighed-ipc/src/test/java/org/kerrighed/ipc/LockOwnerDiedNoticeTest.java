package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KDDM tells only the first write pin after a recovery that the lock's owner died: a caller that takes that pin but
 * not the lock (no permission, or the lock is reserved for a moving process) must keep the notice for the next
 * holder, who is told by {@link ClusterLock#ownerDied()}.
 */
class LockOwnerDiedNoticeTest {
    IpcNodes nodes;

    @BeforeEach
    void start() {
        nodes = new IpcNodes(4);
    }

    @AfterEach
    void stop() {
        nodes.close();
    }

    /** Node {@code node}'s callers are {@code creds}; a thread that set {@code pid} is that process. */
    private void callers(int node, Credentials creds, ThreadLocal<Integer> pid) {
        nodes.kddm(node).setCallers(new CallerContext() {
            @Override
            public Credentials credentials() {
                return creds;
            }

            @Override
            public Caller caller() {
                Integer p = pid.get();
                return new Caller(node, p == null ? 0 : p, Thread.currentThread().threadId());
            }
        });
    }

    @Test
    void aRefusedCallerDoesNotSwallowTheOwnerDiedNotice() throws Exception {
        // made by root on node 3 with mode 0600; node 3 holds it and dies
        ClusterLock held = nodes.ipc(3).lock("robust-perm", false, 0600);
        CountDownLatch holding = new CountDownLatch(1);
        Thread holder = Thread.ofPlatform().start(() -> {
            held.lock();
            holding.countDown();             // never unlocks: its node dies
        });
        assertTrue(holding.await(10, TimeUnit.SECONDS));
        holder.join();
        nodes.crash(3);
        // a caller of node 1 without permission: its pin is the first since the recovery, and it is refused
        callers(1, new Credentials(1000, 1000), new ThreadLocal<>());
        ClusterLock unprivileged = nodes.ipc(1).lock("robust-perm");
        long end = System.nanoTime() + 20_000_000_000L;
        boolean refused = false;
        while (!refused) {
            try {
                assertFalse(unprivileged.tryLock(), "a caller without permission took the lock");
                assertTrue(System.nanoTime() < end, "the lock was never checked: always busy");
                Thread.sleep(10);
            } catch (PermissionDeniedException e) {
                refused = true;
            }
        }
        assertFalse(unprivileged.isHeldByCurrentThread());
        // the next real holder (root, node 2) is told
        ClusterLock next = nodes.ipc(2).lock("robust-perm");
        assertTrue(next.tryLock(20, TimeUnit.SECONDS));
        try {
            assertTrue(next.ownerDied(), "the owner-died notice was lost with the refused caller's pin");
            next.markConsistent();
        } finally {
            next.unlock();
        }
        assertTrue(next.tryLock(10, TimeUnit.SECONDS));
        try {
            assertFalse(next.ownerDied(), "marked consistent");
        } finally {
            next.unlock();
        }
    }

    @Test
    void aCallerMeetingAReservationDoesNotSwallowTheOwnerDiedNotice() throws Exception {
        // process 50 holds the lock on node 3, hands it over to move; node 3 dies (the lock was cached there)
        ThreadLocal<Integer> pid = new ThreadLocal<>();
        for (int n = 0; n < 4; n++) {
            callers(n, Credentials.ROOT, pid);
        }
        ClusterLock source = nodes.ipc(3).lock("robust-reserved");
        pid.set(50);
        List<Ipc.HeldLock> held;
        try {
            source.lock();
            held = nodes.ipc(3).handOverLocks(50, Duration.ofSeconds(30));
        } finally {
            pid.remove();
        }
        assertEquals(1, held.size());
        nodes.crash(3);
        // a thread of node 1 waits for the lock: its first pin carries the notice, but the lock is reserved
        ClusterLock waiting = nodes.ipc(1).lock("robust-reserved");
        AtomicReference<Boolean> waiterTold = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread w = Thread.ofPlatform().start(() -> {
            try {
                waiting.lock();
                try {
                    waiterTold.set(waiting.ownerDied());
                } finally {
                    waiting.unlock();
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        Thread.sleep(1000);                  // it met the reservation (more than once)
        assertEquals(null, waiterTold.get(), "the lock went to another caller while reserved");
        // the process, now on node 2, takes it back and is told
        ClusterLock target = nodes.ipc(2).lock("robust-reserved");
        pid.set(50);
        try {
            nodes.ipc(2).takeOverLocks(held, 50, Duration.ofSeconds(20));
            try {
                assertTrue(target.ownerDied(), "the owner-died notice was lost with the waiter's pin");
            } finally {
                target.unlock();               // not marked consistent: the waiter is told too
            }
        } finally {
            pid.remove();
        }
        w.join(20_000);
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(Boolean.TRUE, waiterTold.get());
    }
}
