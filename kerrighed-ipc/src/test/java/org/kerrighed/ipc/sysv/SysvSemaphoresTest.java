package org.kerrighed.ipc.sysv;

import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.kerrighed.ipc.sysv.Sysv.IPC_CREAT;
import static org.kerrighed.ipc.sysv.Sysv.IPC_EXCL;
import static org.kerrighed.ipc.sysv.Sysv.IPC_PRIVATE;

class SysvSemaphoresTest {
    private static SysvCluster c;

    @BeforeAll
    static void start() {
        c = new SysvCluster(3);
    }

    @AfterAll
    static void stop() {
        c.close();
    }

    @Test
    void keysIdsAndStat() {
        int id = c.sem(0).get(1001, 3, IPC_CREAT, 0640);
        assertEquals(id, c.sem(1).get(1001, 3, 0, 0));
        assertEquals(id, c.sem(2).get(1001, 0, IPC_CREAT, 0600));
        KeyExistsException ex = assertThrows(KeyExistsException.class,
                () -> c.sem(2).get(1001, 3, IPC_CREAT | IPC_EXCL, 0600));
        assertEquals("EEXIST", ex.errno());
        NoSuchKeyException nk = assertThrows(NoSuchKeyException.class, () -> c.sem(1).get(1002, 1, 0, 0600));
        assertEquals("ENOENT", nk.errno());
        assertEquals("EINVAL", assertThrows(SysvException.class, () -> c.sem(1).get(1001, 4, 0, 0)).errno());
        int p1 = c.sem(1).get(IPC_PRIVATE, 1, IPC_CREAT, 0600);
        int p2 = c.sem(1).get(IPC_PRIVATE, 1, 0, 0600);
        assertNotEquals(p1, p2);
        assertNotEquals(id, p1);

        SemStat st = c.sem(2).stat(id);
        assertEquals(id, st.id());
        assertEquals(1001, st.key());
        assertEquals(3, st.nsems());
        assertEquals(0640, st.perm().mode());
        assertEquals(0, st.creator().node());
        assertArrayEquals(new int[3], c.sem(1).getAll(id));
    }

    @Test
    void controlOperations() throws Exception {
        int id = c.sem(0).get(1010, 3, IPC_CREAT, 0600);
        c.sem(1).setAll(id, 1, 2, 3);
        assertArrayEquals(new int[]{1, 2, 3}, c.sem(2).getAll(id));
        c.sem(2).setVal(id, 1, 7);
        assertEquals(7, c.sem(0).getVal(id, 1));
        assertEquals(2, c.sem(2).getPid(id, 1).node());
        c.sem(1).semop(id, SemOp.of(2, 1));
        Caller last = c.sem(0).getPid(id, 2);
        assertEquals(1, last.node());
        assertEquals("ERANGE", assertThrows(SysvException.class, () -> c.sem(0).setVal(id, 0, 40000)).errno());
        assertEquals("EINVAL", assertThrows(SysvException.class, () -> c.sem(0).getVal(id, 3)).errno());
        assertEquals("EINVAL", assertThrows(SysvException.class, () -> c.sem(0).semop(id, SemOp.of(5, 1))).errno());
        assertTrue(c.sem(1).stat(id).otime().toEpochMilli() > 0);
    }

    @Test
    void allOrNothing() throws Exception {
        int id = c.sem(0).get(1020, 2, IPC_CREAT, 0600);
        c.sem(0).setAll(id, 3, 1);
        WouldBlockException e = assertThrows(WouldBlockException.class,
                () -> c.sem(1).semop(id, SemOp.of(0, -1), SemOp.of(1, -2).noWait()));
        assertEquals("EAGAIN", e.errno());
        assertArrayEquals(new int[]{3, 1}, c.sem(2).getAll(id));
        c.sem(2).semop(id, SemOp.of(0, -3), SemOp.of(1, -1), SemOp.of(1, 4));
        assertArrayEquals(new int[]{0, 4}, c.sem(0).getAll(id));
    }

    @Test
    void atomicAcrossNodes() throws Exception {
        int mutex = c.sem(0).get(1030, 1, IPC_CREAT, 0600);
        int pair = c.sem(0).get(1031, 2, IPC_CREAT, 0600);
        c.sem(0).setVal(mutex, 0, 1);
        c.sem(0).setAll(pair, 10, 10);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        int[] counter = new int[1];
        int rounds = 15;
        List<SysvCluster.Started<Void>> ts = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            for (int t = 0; t < 3; t++) {
                SysvSemaphores s = c.sem(n);
                ts.add(SysvCluster.start("w" + n + t, () -> {
                    for (int i = 0; i < rounds; i++) {
                        s.semop(mutex, SemOp.of(0, -1));
                        maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        int v = counter[0];
                        Thread.yield();
                        counter[0] = v + 1;
                        inside.decrementAndGet();
                        s.semop(mutex, SemOp.of(0, 1));
                        // move one unit between the two semaphores of the pair, atomically: 0 -> 1 in even rounds
                        // and back in odd ones, so each thread has at most one unit out and no decrement can wait
                        // forever (a random direction could leave the last threads all waiting on an empty one)
                        int from = i % 2;
                        s.semop(pair, SemOp.of(from, -1), SemOp.of(1 - from, 1));
                    }
                    return null;
                }));
            }
        }
        for (var t : ts) {
            t.get();
        }
        assertEquals(1, maxInside.get());
        assertEquals(9 * rounds, counter[0]);
        int[] v = c.sem(1).getAll(pair);
        assertEquals(20, v[0] + v[1]);
        assertEquals(1, c.sem(2).getVal(mutex, 0));
    }

    @Test
    void waitForZeroWakesAcrossNodes() throws Exception {
        int id = c.sem(0).get(1040, 1, IPC_CREAT, 0600);
        c.sem(0).setVal(id, 0, 2);
        var waiter = SysvCluster.start("zero", () -> {
            c.sem(1).semop(id, SemOp.of(0, 0));
            return null;
        });
        waiter.awaitParked();
        assertEquals(Thread.State.WAITING, waiter.thread().getState());
        assertEquals(1, c.sem(2).getZcnt(id, 0));
        assertEquals(0, c.sem(2).getNcnt(id, 0));
        c.sem(2).semop(id, SemOp.of(0, -1));
        waiter.awaitParked();                          // still waiting: 1 left
        c.sem(0).semop(id, SemOp.of(0, -1));
        waiter.get();
        assertEquals(0, c.sem(0).getZcnt(id, 0));
    }

    @Test
    void blockedDecrementWokenByIncrement() throws Exception {
        int id = c.sem(0).get(1050, 1, IPC_CREAT, 0600);
        var waiter = SysvCluster.start("dec", () -> {
            c.sem(2).semop(id, SemOp.of(0, -2));
            return null;
        });
        waiter.awaitParked();
        assertEquals(1, c.sem(1).getNcnt(id, 0));
        c.sem(1).semop(id, SemOp.of(0, 1));
        waiter.awaitParked();
        c.sem(0).semop(id, SemOp.of(0, 1));
        waiter.get();
        assertEquals(0, c.sem(0).getVal(id, 0));
    }

    @Test
    void timeoutsAndInterrupts() throws Exception {
        int id = c.sem(0).get(1060, 1, IPC_CREAT, 0600);
        var timed = SysvCluster.start("timed", () -> c.sem(1).semtimedop(id, 2, TimeUnit.SECONDS,
                SemOp.of(0, -1)));
        timed.awaitParked();
        assertEquals(Thread.State.TIMED_WAITING, timed.thread().getState());
        assertFalse(timed.get());
        assertEquals(0, c.sem(0).getNcnt(id, 0));
        assertFalse(c.sem(2).semtimedop(id, 0, TimeUnit.MILLISECONDS, SemOp.of(0, -1)));

        var interrupted = SysvCluster.start("intr", () -> {
            c.sem(2).semop(id, SemOp.of(0, -1));
            return null;
        });
        interrupted.awaitParked();
        interrupted.thread().interrupt();
        assertInstanceOf(InterruptedException.class, interrupted.failure());
        assertEquals(0, c.sem(0).getNcnt(id, 0));
        assertEquals(0, c.sem(0).getVal(id, 0));
        c.sem(0).setVal(id, 0, 1);
        assertTrue(c.sem(1).semtimedop(id, 5, TimeUnit.SECONDS, SemOp.of(0, -1)));
    }

    @Test
    void removeWakesWaitersWithEidrm() throws Exception {
        int id = c.sem(0).get(1070, 1, IPC_CREAT, 0600);
        var w1 = SysvCluster.start("rm1", () -> {
            c.sem(1).semop(id, SemOp.of(0, -1));
            return null;
        });
        var w2 = SysvCluster.start("rm2", () -> {
            c.sem(2).semop(id, SemOp.of(0, -1));
            return null;
        });
        w1.awaitParked();
        w2.awaitParked();
        c.sem(0).remove(id);
        assertEquals("EIDRM", ((SysvException) w1.failure()).errno());
        assertInstanceOf(IdentifierRemovedException.class, w2.failure());
        assertEquals("EINVAL", assertThrows(SysvException.class, () -> c.sem(1).semop(id, SemOp.of(0, 1))).errno());
        assertThrows(NoSuchKeyException.class, () -> c.sem(2).get(1070, 1, 0, 0));
        assertNotEquals(id, c.sem(2).get(1070, 1, IPC_CREAT, 0600));
    }

    @Test
    void permissions() throws Exception {
        int id = c.sem(0).get(1080, 1, IPC_CREAT, 0640);       // root's: group may read
        int own = c.sem(0).get(1081, 1, IPC_CREAT, 0600);
        Credentials group = new Credentials(1000, 0);
        Credentials other = new Credentials(1001, 1001);
        c.as(1, group, () -> {
            assertEquals(id, c.sem(1).get(1080, 1, 0, 0400));
            assertThrows(PermissionDeniedException.class, () -> c.sem(1).get(1080, 1, 0, 0600));
            assertEquals(0, c.sem(1).getVal(id, 0));
            assertThrows(PermissionDeniedException.class, () -> c.sem(1).semop(id, SemOp.of(0, 1)));
            assertThrows(PermissionDeniedException.class, () -> c.sem(1).setVal(id, 0, 1));
            c.sem(1).semop(id, SemOp.of(0, 0));                  // wait-for-zero needs read only
            assertThrows(PermissionDeniedException.class, () -> c.sem(1).setPerms(id, 1000, 0, 0666));
            assertThrows(PermissionDeniedException.class, () -> c.sem(1).remove(id));
        });
        c.as(2, other, () -> {
            assertThrows(PermissionDeniedException.class, () -> c.sem(2).getVal(id, 0));
            assertThrows(PermissionDeniedException.class, () -> c.sem(2).stat(own));
        });
        c.sem(0).setPerms(id, 1001, 1001, 0600);                // give it to "other"
        c.as(2, other, () -> {
            c.sem(2).semop(id, SemOp.of(0, 2));
            c.sem(2).setPerms(id, 1001, 1001, 0660);
            assertEquals(2, c.sem(2).getVal(id, 0));
            c.sem(2).remove(id);
        });
        assertEquals(0, c.sem(0).stat(own).perm().uid());        // root reads anything
    }

    @Test
    void undoWhenThreadEnds() throws Exception {
        int id = c.sem(0).get(1090, 1, IPC_CREAT, 0600);
        c.sem(0).setVal(id, 0, 1);
        var holder = SysvCluster.start("holder", () -> {
            c.sem(1).semop(id, SemOp.undo(0, -1));             // takes the only unit, then ends
            return null;
        });
        holder.get();
        holder.thread().join(5000);
        var waiter = SysvCluster.start("after-holder", () -> {
            c.sem(2).semop(id, SemOp.of(0, -1));
            return null;
        });
        waiter.get();                                           // woken when node 1 notices the thread ended
        assertEquals(0, c.sem(0).getVal(id, 0));
    }

    @Test
    void undoByExplicitHolderExit() throws Exception {
        int id = c.sem(0).get(1100, 2, IPC_CREAT, 0600);
        c.sem(0).setAll(id, 5, 0);
        AtomicReference<Caller> who = new AtomicReference<>();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        var holder = SysvCluster.start("explicit", () -> {
            who.set(c.ipc(2).callers().caller());
            c.sem(2).semop(id, SemOp.undo(0, -2), SemOp.undo(1, 3));
            c.sem(2).semop(id, SemOp.undo(0, -1));
            done.await(20, TimeUnit.SECONDS);
            return null;
        });
        while (who.get() == null || c.sem(0).getVal(id, 0) != 2) {
            Thread.sleep(5);
        }
        assertArrayEquals(new int[]{2, 3}, c.sem(0).getAll(id));
        c.sem(1).holderExited(who.get());                       // from another node, as the process layer may
        assertArrayEquals(new int[]{5, 0}, c.sem(1).getAll(id));
        c.sem(1).holderExited(who.get());                       // idempotent
        assertArrayEquals(new int[]{5, 0}, c.sem(1).getAll(id));
        done.countDown();
        holder.get();
        assertNull(holder.failure());
    }
}
