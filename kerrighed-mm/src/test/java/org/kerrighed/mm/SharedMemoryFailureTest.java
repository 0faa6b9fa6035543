package org.kerrighed.mm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.ObjectLostException;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.mm.SharedMemory.*;

/** Node deaths: attachments of dead nodes count as detached; replication 2 keeps pages, replication 1 loses them. */
class SharedMemoryFailureTest {
    private static MmNodes nodes;
    private int crashed = -1;

    @BeforeAll
    static void start() {
        nodes = new MmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    /** Brings the crashed node back, so that every test starts with three nodes. */
    @AfterEach
    void rejoin() {
        if (crashed >= 0) {
            nodes.join(crashed);
            crashed = -1;
        }
    }

    /** Waits until node {@code on} no longer finds segment {@code id} (freed), failing with {@code what}. */
    private static void awaitFreed(int on, long id, String what) throws InterruptedException {
        MmNodes.await(what, () -> {
            try {
                nodes.shm(on).stat(id);
                return false;
            } catch (NoSuchSegmentException e) {
                return true;
            }
        });
    }

    private void crash(int node) {
        crashed = node;
        nodes.crash(node);
    }

    @Test
    void aDeadAttacherCountsAsDetached() throws Exception {
        long id = nodes.shm(0).open(0xDEAD1L, 4096, CREATE | 0600);
        Segment a = nodes.shm(0).attach(id);
        nodes.shm(2).attach(id);
        nodes.shm(2).attach(id);
        assertEquals(3, nodes.shm(1).stat(id).attachCount());
        nodes.shm(1).remove(id);
        a.close();
        assertEquals(2, nodes.shm(1).stat(id).attachCount());
        crash(2);
        awaitFreed(1, id, "segment " + id + " freed once its last attacher died");
        assertTrue(nodes.shm(0).list().stream().noneMatch(s -> s.id() == id));
    }

    /**
     * Node 2 dies with segments attached and comes back (same id) before its attachments could be dropped (the
     * sweeps fail, as timeouts would). Its dead incarnation's attachments are dropped all the same, and the one its
     * new incarnation made is kept: the segment marked for removal is freed, the other counts one attachment.
     */
    @Test
    void theAttachmentsOfADeadIncarnationAreDroppedOnceTheNodeIsBack() throws Exception {
        long removed = nodes.shm(0).open(0xDEAD4L, 4096, CREATE | 0600);
        long kept = nodes.shm(0).open(0xDEAD5L, 4096, CREATE | 0600);
        nodes.shm(2).attach(removed);
        nodes.shm(2).attach(kept);
        nodes.shm(1).remove(removed);
        SharedMemory.FAIL_SWEEPS_FOR_TESTS.set(Integer.MAX_VALUE);
        try {
            crash(2);
            MmNodes.await("a sweep tried and failed",
                    () -> SharedMemory.FAIL_SWEEPS_FOR_TESTS.get() < Integer.MAX_VALUE);
            nodes.join(2);
            crashed = -1;
            nodes.shm(2).attach(kept);                            // its new incarnation
            assertEquals(2, nodes.shm(1).stat(kept).attachCount(), "the dead incarnation's is still counted");
            SharedMemory.FAIL_SWEEPS_FOR_TESTS.set(0);
            awaitFreed(1, removed, "segment " + removed + " freed once the dead incarnation's attachment was dropped");
            MmNodes.await("the dead incarnation's attachment of " + kept + " dropped",
                    () -> nodes.shm(1).stat(kept).attachCount() == 1);
            Thread.sleep(200);
            assertEquals(1, nodes.shm(0).stat(kept).attachCount(), "the live incarnation's attachment kept");
        } finally {
            SharedMemory.FAIL_SWEEPS_FOR_TESTS.set(0);
        }
    }

    @Test
    void aDeadAttacherOfALiveSegmentIsDropped() throws Exception {
        long id = nodes.shm(0).open(0xDEAD2L, 4096, CREATE | 0600);
        nodes.shm(1).attach(id);
        try (Segment s = nodes.shm(0).attach(id)) {
            crash(1);
            MmNodes.await("node 1's attachment dropped", () -> nodes.shm(0).stat(id).attachCount() == 1);
            s.putInt(0, 5);
        }
        assertEquals(0, nodes.shm(2).stat(id).attachCount());
    }

    @Test
    void anAttacherThatLeavesCountsAsDetached() throws Exception {
        long id = nodes.shm(0).open(0xDEAD3L, 4096, CREATE | 0600);
        Segment s = nodes.shm(1).attach(id);
        s.putLong(0, 11);                                    // node 1 owns the page; leaving hands it over
        nodes.shm(0).remove(id);
        crashed = 1;                                         // rejoined after the test
        nodes.shm.remove(1);
        nodes.cluster.leave(1);
        awaitFreed(2, id, "segment " + id + " freed once its last attacher left");
    }

    @Test
    void replicationTwoKeepsPagesWhenTheirOwnerDies() {
        long id = nodes.shm(1).open(0xBEEF2L, 8 * 4096, CREATE | 0600, 4096, 2);
        Segment w = nodes.shm(1).attach(id);
        for (int p = 0; p < 8; p++) {
            w.putLong(p * 4096L, 1000 + p);                  // node 1 creates and owns every page
        }
        crash(1);                                            // the creator, the page set's manager and the owner
        try (Segment r = nodes.shm(0).attach(id)) {
            for (int p = 0; p < 8; p++) {
                assertEquals(1000 + p, r.getLong(p * 4096L));
            }
            r.putLong(0, 1);
            assertEquals(1, r.getLong(0));
        }
    }

    @Test
    void replicationOneLosesPagesWithTheirOwnerWithAClearError() {
        long id = nodes.shm(0).open(0xBEEF1L, 2 * 4096, CREATE | 0600);
        Segment w = nodes.shm(2).attach(id);
        w.putLong(0, 42);                                    // node 2 holds the only copy of page 0
        crash(2);
        try (Segment r = nodes.shm(0).attach(id)) {
            PageLostException e = assertThrows(PageLostException.class, () -> r.getLong(0));
            assertInstanceOf(ObjectLostException.class, e);
            assertTrue(e.getMessage().contains("segment " + id) && e.getMessage().contains("page 0")
                    && e.getMessage().contains("replication"), e.getMessage());
            assertThrows(PageLostException.class, () -> r.putLong(8, 1));
            r.putLong(4096, 7);                              // the other page was never written: still usable
            assertEquals(7, r.getLong(4096));
        }
    }
}
