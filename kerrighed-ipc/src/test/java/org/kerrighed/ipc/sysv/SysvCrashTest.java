package org.kerrighed.ipc.sysv;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.kerrighed.ipc.sysv.Sysv.IPC_CREAT;
import static org.kerrighed.ipc.sysv.Sysv.IPC_NOWAIT;

/** Node 2 holds semaphore sets, a thread with undo adjustments and a queue's master, and crashes. */
class SysvCrashTest {
    private static SysvCluster c;

    @BeforeAll
    static void start() {
        c = new SysvCluster(3);
    }

    @AfterAll
    static void stop() {
        c.close();
    }

    private static String s(Message m) {
        return m.type() + ":" + new String(m.body(), StandardCharsets.UTF_8);
    }

    /** Each test starts with nodes 0, 1 and 2 up (a test may have crashed node 2 before). */
    @BeforeEach
    void node2Up() {
        if (c.kddm(2) == null) {
            c.cluster.join(2);
        }
    }

    @Test
    void sendsInFlightWhenTheMasterDiesAreAppliedExactlyOnce() throws Exception {
        int q = c.msg(2).get(3101, IPC_CREAT, 0600);                 // master: node 2
        c.msg(2).setMaxBytes(q, Sysv.MSGMNB_MAX);
        int total = 120;
        AtomicInteger acked = new AtomicInteger();
        List<SysvCluster.Started<Void>> senders = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            int node = n;
            senders.add(SysvCluster.start("sender-" + n, () -> {
                for (int i = 0; i < total; i++) {
                    c.msg(node).send(q, node + 1, Integer.toString(i).getBytes(StandardCharsets.UTF_8), 0);
                    acked.incrementAndGet();
                }
                return null;
            }));
        }
        while (acked.get() < 40) {
            Thread.sleep(1);
        }
        c.crash(2);
        for (var s : senders) {
            s.get();
        }
        for (int n = 0; n < 2; n++) {
            for (int i = 0; i < total; i++) {
                Message m = c.msg(1 - n).receive(q, 100, n + 1, IPC_NOWAIT);
                assertEquals(Integer.toString(i), new String(m.body(), StandardCharsets.UTF_8), "sender " + n);
            }
        }
        assertEquals(0, c.msg(0).stat(q).qnum(), "nothing sent twice");
    }

    /**
     * The first attempts at a dead node's undo adjustments fail (as a timeout while KDDM recovers would): they are
     * retried until applied, so the semaphore its thread held with SEM_UNDO does not stay held for good.
     */
    @Test
    void theUndoOfADeadNodesThreadIsRetriedUntilApplied() throws Exception {
        int held = c.sem(2).get(3010, 1, IPC_CREAT, 0600);
        c.sem(2).setVal(held, 0, 1);
        CountDownLatch release = new CountDownLatch(1);
        var holder = c.holdWithUndo(2, held, 1, release, 0);
        org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.set(2);
        try {
            c.crash(2);
            c.awaitVal(0, held, 1, 10);
            assertEquals(1, c.sem(1).getVal(held, 0), "the dead thread's hold undone, after two failed attempts");
            assertEquals(0, org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.get());
        } finally {
            org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.set(0);
            release.countDown();
            holder.get();
        }
    }

    /**
     * Node 2 dies while its thread holds semaphore 0 with SEM_UNDO, and comes back before the undo could be applied
     * (the attempts fail, as timeouts would). The same thread (same id) then holds semaphore 1 of the set through the
     * new incarnation. The dead incarnation's hold is still undone; the live one's is not, until its thread ends.
     */
    @Test
    void theUndoOfADeadIncarnationIsAppliedOnceTheNodeIsBackAndSparesTheNewOne() throws Exception {
        int id = c.sem(2).get(3012, 2, IPC_CREAT, 0600);
        c.sem(2).setAll(id, 1, 1);
        CountDownLatch rejoined = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        var holder = SysvCluster.start("holder-on-2-twice", () -> {
            c.sem(2).semop(id, SemOp.undo(0, -1));               // node 2's first incarnation
            rejoined.await(30, TimeUnit.SECONDS);
            c.sem(2).semop(id, SemOp.undo(1, -1));               // its second one, the same thread
            release.await(30, TimeUnit.SECONDS);
            return null;
        });
        org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.set(Integer.MAX_VALUE);
        try {
            c.awaitVal(0, id, 0, 10);
            c.crash(2);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.get() == Integer.MAX_VALUE
                    && System.nanoTime() < end) {
                Thread.sleep(5);                                  // node 0 tried once, and failed
            }
            c.cluster.join(2);
            rejoined.countDown();
            c.awaitVal(0, id, 1, 0, 10);
            assertEquals(0, c.sem(0).getVal(id, 1), "the new incarnation's thread holds semaphore 1");
            org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.set(0);
            c.awaitVal(0, id, 1, 15);
            assertArrayEquals(new int[]{1, 0}, c.sem(1).getAll(id),
                    "the dead incarnation's hold undone once the node was back, the live one's kept");
            release.countDown();
            holder.get();
            c.awaitVal(0, id, 1, 1, 10);
            assertArrayEquals(new int[]{1, 1}, c.sem(1).getAll(id), "the live hold undone when its thread ended");
        } finally {
            org.kerrighed.ipc.internal.SysvService.FAIL_UNDO_FOR_TESTS.set(0);
            rejoined.countDown();
            release.countDown();
        }
    }

    @Test
    void stateAndUndoSurviveTheCrashOfTheNodeHoldingThem() throws Exception {
        // a semaphore set last changed on node 2 (so owned there), and one a node-2 thread holds with SEM_UNDO
        int values = c.sem(2).get(3001, 2, IPC_CREAT, 0600);
        c.sem(2).setAll(values, 5, 6);
        int held = c.sem(2).get(3002, 1, IPC_CREAT, 0600);
        c.sem(2).setVal(held, 0, 2);
        CountDownLatch release = new CountDownLatch(1);
        var holder = c.holdWithUndo(2, held, 2, release, 0);      // alive until the end: only the crash undoes it
        var semWaiter = SysvCluster.start("sem-waiter-on-0", () -> {
            c.sem(0).semop(held, SemOp.of(0, -1));
            return null;
        });
        semWaiter.awaitParked();

        // a queue made on node 2 (its master) with acknowledged messages, and a receiver waiting on node 1
        int q = c.msg(2).get(3003, IPC_CREAT, 0600);
        c.msg(0).send(q, 1, "m1".getBytes(StandardCharsets.UTF_8), 0);
        c.msg(1).send(q, 2, "m2".getBytes(StandardCharsets.UTF_8), 0);
        c.msg(2).send(q, 1, "m3".getBytes(StandardCharsets.UTF_8), 0);
        var receiver = SysvCluster.start("receiver-on-1", () -> s(c.msg(1).receive(q, 100, 9, 0)));
        receiver.awaitParked();

        c.crash(2);

        semWaiter.get();                                  // node 2's undo gave 2 back; the waiter took 1
        assertEquals(1, c.sem(1).getVal(held, 0));
        assertArrayEquals(new int[]{5, 6}, c.sem(1).getAll(values));
        c.sem(0).semop(values, SemOp.of(0, -5), SemOp.of(1, 1));
        assertArrayEquals(new int[]{0, 7}, c.sem(1).getAll(values));

        c.msg(0).send(q, 9, "after".getBytes(StandardCharsets.UTF_8), 0);
        assertEquals("9:after", receiver.get());
        assertEquals("1:m1", s(c.msg(0).receive(q, 100, 0, IPC_NOWAIT)));
        assertEquals("2:m2", s(c.msg(1).receive(q, 100, 0, IPC_NOWAIT)));
        assertEquals("1:m3", s(c.msg(0).receive(q, 100, 0, IPC_NOWAIT)));
        assertEquals(0, c.msg(1).stat(q).qnum());
        release.countDown();
        holder.get();
    }
}
