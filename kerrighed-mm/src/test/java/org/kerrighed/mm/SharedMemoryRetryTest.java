package org.kerrighed.mm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.NoSuchSetException;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.mm.SharedMemory.*;

/**
 * Detach, removal and the clean-up after a view when a KDDM call fails: an interrupted caller, or an object
 * another node keeps pinned past the call timeout (10 s in {@code KddmCluster}). Nothing is lost for good: the
 * change is made anyway, rolled back so it can be retried, or retried in the background.
 */
class SharedMemoryRetryTest {
    private static MmNodes nodes;
    private static final AtomicLong keys = new AtomicLong(0x7000);
    private int crashed = -1;

    @BeforeAll
    static void start() {
        nodes = new MmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @AfterEach
    void rejoin() {
        if (crashed >= 0) {
            nodes.join(crashed);
            crashed = -1;
        }
    }

    private static SharedMemory shm(int node) {
        return nodes.shm(node);
    }

    private static SegmentMeta meta(int node, long id) {
        try (Handle<SegmentMeta> h = nodes.cluster.kddm(node).set(SEGMENTS_SET, SegmentMeta.class).get(id)) {
            return h.value();
        }
    }

    private static boolean inDirectory(int node, long id) {
        try (Handle<Directory> h = nodes.cluster.kddm(node).set(DIRECTORY_SET, Directory.class).get(0)) {
            return Arrays.stream(h.value().ids()).anyMatch(x -> x == id);
        }
    }

    private static boolean pagesGone(int node, long pageSet) {
        try {
            nodes.cluster.kddm(node).set(pageSet, Frame.class);
            return false;
        } catch (NoSuchSetException e) {
            return true;
        }
    }

    private static boolean freed(long id) {
        try {
            shm(0).stat(id);
            return false;
        } catch (NoSuchSegmentException e) {
            return true;
        }
    }

    /** Runs {@code body} on a new thread that is interrupted first; returns what it threw, or null. */
    private static Throwable interrupted(Runnable body, AtomicBoolean stillInterrupted) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> {
            Thread.currentThread().interrupt();
            try {
                body.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        t.join();
        return thrown.get();
    }

    // ------------------------------------------------------------------ detach

    @Test
    void anInterruptedCloseStillDetachesAndFreesARemovedSegment() throws Exception {
        long id = shm(0).open(PRIVATE, 4096, 0600);
        long pageSet = meta(0, id).pageSet();
        Segment s = shm(0).attach(id);
        s.putLong(0, 1);
        shm(1).remove(id);                                   // node 1 takes the metadata: the detach needs a message
        assertEquals(1, shm(2).stat(id).attachCount());
        AtomicBoolean kept = new AtomicBoolean();
        Throwable e = interrupted(s::close, kept);           // a process killed while it closes its segment
        assertNull(e, () -> "close failed: " + e);
        assertTrue(kept.get(), "the interrupt is kept for the caller");
        assertFalse(shm(0).attachedHere().contains(s));
        assertTrue(freed(id), "the last attachment is gone: the segment is freed");
        assertFalse(inDirectory(1, id));
        assertTrue(pagesGone(2, pageSet));
    }

    @Test
    void aDetachThatFailsIsRolledBackAndCanBeRetried() {
        long id = shm(0).open(PRIVATE, 4096, 0600);
        Segment s = shm(0).attach(id);
        shm(0).remove(id);
        Handle<SegmentMeta> pin = nodes.cluster.kddm(1).set(SEGMENTS_SET, SegmentMeta.class).grab(id);
        try {
            assertThrows(KddmException.class, s::close, "the metadata is pinned on node 1 past the call timeout");
        } finally {
            pin.closeUnchanged();
        }
        assertTrue(shm(0).attachedHere().contains(s), "still attached here");
        assertFalse(s.toString().contains("detached"), s.toString());
        assertEquals(1, shm(2).stat(id).attachCount());
        s.close();                                           // the retry detaches
        assertFalse(shm(0).attachedHere().contains(s));
        assertTrue(freed(id));
    }

    // ------------------------------------------------------------------ remove

    @Test
    void anInterruptedRemoveStillFreesTheSegmentAndItsKey() throws Exception {
        long key = keys.incrementAndGet();
        long id = shm(1).open(key, 4096, CREATE | 0600);    // node 1 holds the key's object
        long pageSet = meta(0, id).pageSet();
        shm(0).attach(id).close();                           // node 0 holds the segment's metadata
        AtomicBoolean kept = new AtomicBoolean();
        Throwable e = interrupted(() -> shm(0).remove(id), kept);
        assertNull(e, () -> "remove failed: " + e);
        assertTrue(kept.get(), "the interrupt is kept for the caller");
        assertTrue(freed(id));
        assertFalse(inDirectory(2, id));
        assertTrue(pagesGone(1, pageSet));
        assertThrows(NoSuchSegmentException.class, () -> shm(2).open(key, 0, 0));
    }

    @Test
    void aRemoveWhoseKeyCannotBeTakenStillFreesTheSegment() {
        long key = keys.incrementAndGet();
        long id = shm(1).open(key, 4096, CREATE | 0600);
        long pageSet = meta(0, id).pageSet();
        Handle<KeySlot> pin = nodes.cluster.kddm(1).set(KEYS_SET, KeySlot.class).grab(key);
        try {
            shm(0).remove(id);                               // waits out the call timeout on the key
        } finally {
            pin.closeUnchanged();
        }
        assertTrue(freed(id));
        assertFalse(inDirectory(2, id));
        assertTrue(pagesGone(2, pageSet));
        assertThrows(NoSuchSegmentException.class, () -> shm(2).open(key, 0, 0), "the key names nothing");
        long other = shm(2).open(key, 4096, CREATE | EXCLUSIVE | 0600);
        assertNotEquals(id, other, "the key takes a new segment");
        shm(2).remove(other);
    }

    @Test
    void aFreeThatFailsIsRetriedInTheBackground() throws Exception {
        long id = shm(0).open(PRIVATE, 4096, 0600);
        long pageSet = meta(0, id).pageSet();
        Segment s = shm(0).attach(id);
        shm(0).remove(id);
        Handle<Directory> pin = nodes.cluster.kddm(1).set(DIRECTORY_SET, Directory.class).grab(0);
        try {
            s.close();                                       // the detach is done; freeing waits on the directory
        } finally {
            pin.closeUnchanged();
        }
        assertTrue(freed(id));
        assertTrue(pagesGone(2, pageSet));
        MmNodes.await("segment " + id + " gone from the directory", () -> !inDirectory(2, id));
    }

    // ------------------------------------------------------------------ departed nodes

    @Test
    void aSegmentThatCannotBeCleanedAfterAViewDoesNotHoldUpTheOthersAndIsRetried() throws Exception {
        long a = shm(0).open(PRIVATE, 4096, 0600);
        long b = shm(0).open(PRIVATE, 4096, 0600);           // after a in the directory
        shm(2).attach(a);
        shm(2).attach(b);
        shm(1).remove(b);
        Handle<SegmentMeta> pin = nodes.cluster.kddm(1).set(SEGMENTS_SET, SegmentMeta.class).grab(a);
        try {
            crashed = 2;
            nodes.crash(2);
            MmNodes.await("segment " + b + " freed though segment " + a + " is stuck",
                    () -> freed(b) && !inDirectory(0, b));
        } finally {
            pin.closeUnchanged();
        }
        MmNodes.await("node 2's attachment of segment " + a + " dropped", () -> shm(0).stat(a).attachCount() == 0);
        shm(0).remove(a);
    }
}
