package org.kerrighed.kddm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.KddmNodes.Counter;
import org.kerrighed.kddm.linkers.DirectoryLinker;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.kddm.linkers.PageLinker;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.kddm.KddmNodes.read;
import static org.kerrighed.kddm.KddmNodes.write;
import static org.kerrighed.kddm.ObjState.*;

/** The coherence protocol on three real nodes: copies, invalidation, ownership moves, deferral, removal, flush. */
class KddmProtocolTest {
    private static KddmNodes nodes;
    private static final AtomicLong ids = new AtomicLong(100);

    @BeforeAll
    static void start() {
        nodes = new KddmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    private static List<KddmSet<Counter>> counters(SetFlag... flags) {
        return nodes.staticSet(ids.incrementAndGet(), SetSpec.of("object", "").withFlags(flags),
                () -> new ObjectLinker<>(Counter.class, id -> new Counter(0)));
    }

    @Test
    void readersShareCopiesAndAWriteInvalidatesThem() {
        var s = counters();
        write(s.get(0), 7, 41);
        assertEquals(41, read(s.get(1), 7));
        assertEquals(41, read(s.get(2), 7));
        assertEquals(READ_OWNER, s.get(0).stateOf(7));
        assertEquals(READ_COPY, s.get(1).stateOf(7));
        assertEquals(READ_COPY, s.get(2).stateOf(7));

        write(s.get(2), 7, 42);                     // upgrade of a read copy: the owner invalidates node 1
        assertEquals(WRITE_OWNER, s.get(2).stateOf(7));
        assertEquals(INV_COPY, s.get(0).stateOf(7));
        assertEquals(INV_COPY, s.get(1).stateOf(7));
        assertEquals(42, read(s.get(0), 7));
        assertEquals(42, read(s.get(1), 7));
        assertTrue(s.get(1).stats().invalidations() >= 1);
    }

    @Test
    void updateMakesAVersionOnlyForAChange() {
        var s = counters();
        assertEquals(5, s.get(1).update(3, c -> new Counter(c.value() + 5)).value());
        assertEquals(1, versionOf(1, s.get(1), 3));
        Thread.currentThread().interrupt();                  // kept, not acted on: the update is done whole
        assertEquals(5, s.get(2).update(3, c -> c).value());
        assertTrue(Thread.interrupted());
        assertEquals(1, versionOf(2, s.get(2), 3), "the same instance makes no new version");
        assertThrows(IllegalStateException.class, () -> s.get(2).update(3, c -> {
            throw new IllegalStateException("refused");
        }));
        assertEquals(1, versionOf(2, s.get(2), 3));
        assertEquals(5, read(s.get(0), 3), "released after the failed change");
        assertEquals(6, s.get(0).update(3, c -> new Counter(c.value() + 1)).value());
    }

    /** The version of the copy node {@code node} holds of object {@code id} of {@code s}. */
    private static long versionOf(int node, KddmSet<Counter> s, long id) {
        String d = nodes.kddm(node).describe(s.id(), id);
        var m = java.util.regex.Pattern.compile("data v(\\d+)").matcher(d);
        assertTrue(m.find(), "no local data: " + d);
        return Long.parseLong(m.group(1));
    }

    @Test
    void upgradingAReadCopySendsNoData() {
        List<KddmSet<byte[]>> s = nodes.staticSet(ids.incrementAndGet(), SetSpec.of("page", "65536"),
                () -> new PageLinker(65536));
        try (Handle<byte[]> h = s.get(0).grab(1)) {
            h.value()[0] = 9;
        }
        try (Handle<byte[]> h = s.get(1).get(1)) {
            assertEquals(9, h.value()[0]);
        }
        long before = s.get(0).stats().bytesMoved();
        try (Handle<byte[]> h = s.get(1).grab(1)) {     // node 1 holds a copy: only the right to write travels
            h.value()[0] = 10;
        }
        assertEquals(before, s.get(0).stats().bytesMoved(), "the page was sent again");
        try (Handle<byte[]> h = s.get(0).get(1)) {
            assertEquals(10, h.value()[0]);
        }
    }

    @Test
    void readHandlesOnPagesAreReadOnly() {
        List<KddmSet<byte[]>> s = nodes.staticSet(ids.incrementAndGet(), SetSpec.of("page", "64"), () -> new PageLinker(64));
        try (Handle<byte[]> h = s.get(1).get(3)) {
            ByteBuffer b = PageLinker.view(h);
            assertThrows(ReadOnlyBufferException.class, () -> b.put(0, (byte) 1));
            assertThrows(IllegalStateException.class, () -> h.set(new byte[64]));
        }
    }

    @Test
    void concurrentWritersOnEveryNodeLoseNoIncrement() throws Exception {
        var s = counters(SetFlag.LOCAL_EXCLUSIVE);
        int perThread = 150;
        List<Thread> ts = new ArrayList<>();
        for (KddmSet<Counter> set : s) {
            for (int t = 0; t < 2; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < perThread; i++) {
                        try (Handle<Counter> h = set.grab(5)) {
                            h.set(new Counter(h.value().value() + 1));
                        }
                    }
                }));
            }
        }
        for (Thread t : ts) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(t.isAlive(), "a writer is stuck: " + s.get(0).stateOf(5) + "/" + s.get(1).stateOf(5)
                    + "/" + s.get(2).stateOf(5));
        }
        for (KddmSet<Counter> set : s) {
            assertEquals(6L * perThread, read(set, 5));
        }
    }

    @Test
    void aRequestForAPinnedObjectWaitsAndIsReplayedOnClose() throws Exception {
        var s = counters();
        write(s.get(0), 9, 1);
        Handle<Counter> held = s.get(0).grab(9);
        CompletableFuture<Handle<Counter>> other = s.get(1).grabAsync(9);
        Thread.sleep(150);
        assertFalse(other.isDone(), "node 1 took an object node 0 has pinned");
        assertTrue(s.get(1).tryGrab(9).isEmpty(), "try should fail while node 0 pins it");
        held.set(new Counter(2));
        held.close();
        try (Handle<Counter> h = other.get(10, TimeUnit.SECONDS)) {
            assertEquals(2, h.value().value());
            assertTrue(h.writable());
        }
        assertTrue(s.get(0).stats().deferred() >= 1);
    }

    @Test
    void localExclusiveMakesGrabALockAgainstLocalCallers() throws Exception {
        var s = counters(SetFlag.LOCAL_EXCLUSIVE);
        Handle<Counter> held = s.get(0).grab(1);
        CountDownLatch got = new CountDownLatch(1);
        Thread t = Thread.ofVirtual().start(() -> {
            try (Handle<Counter> h = s.get(0).get(1)) {
                got.countDown();
            }
        });
        assertFalse(got.await(150, TimeUnit.MILLISECONDS), "a local reader got in while the writer held the lock");
        assertTrue(s.get(0).tryGet(1).isEmpty());
        held.close();
        assertTrue(got.await(10, TimeUnit.SECONDS));
        t.join();
        // without the flag, local handles share the object
        var shared = counters();
        try (Handle<Counter> w = shared.get(0).grab(1); Handle<Counter> r = shared.get(0).get(1)) {
            assertSame(w.value(), r.value());
        }
    }

    @Test
    void noFirstTouchVariantsDoNotCreate() {
        var s = counters();
        assertTrue(s.get(1).getIfExists(77).isEmpty());
        assertTrue(s.get(2).grabIfExists(77).isEmpty());
        for (KddmSet<Counter> set : s) {
            assertNotEquals(WRITE_OWNER, set.stateOf(77));
            assertTrue(set.find(77).isEmpty());
        }
        write(s.get(2), 77, 5);
        Optional<Handle<Counter>> h = s.get(1).getIfExists(77);
        assertTrue(h.isPresent());
        assertEquals(5, h.get().value().value());
        h.get().close();
        try (Handle<Counter> f = s.get(1).find(77).orElseThrow()) {   // cached: no message
            assertEquals(5, f.value().value());
        }
    }

    @Test
    void removeIsClusterWideAndTheIdCanBeReused() {
        var s = counters();
        write(s.get(0), 3, 10);
        assertEquals(10, read(s.get(1), 3));
        s.get(2).remove(3);
        for (KddmSet<Counter> set : s) {
            assertTrue(set.getIfExists(3).isEmpty(), "still there after remove");
        }
        assertEquals(0, read(s.get(1), 3));          // a new first touch
    }

    @Test
    void removeWhileAnotherLocalHandleIsOpenLeavesTheIdUsable() {
        var s = counters();
        write(s.get(0), 13, 4);
        Handle<Counter> reader = s.get(0).get(13);       // no LOCAL_EXCLUSIVE: the remover may go on
        s.get(0).remove(13);
        reader.close();
        assertEquals(0, read(s.get(0), 13), "a removed id is first-touched again");
        assertEquals(0, read(s.get(1), 13));
    }

    @Test
    void flushHandsOwnershipOverAndKeepsTheValue() {
        var s = counters();
        write(s.get(0), 4, 99);                        // sole copy on node 0
        assertTrue(s.get(0).flush(4));
        assertEquals(INV_COPY, s.get(0).stateOf(4));
        assertTrue(s.get(1).stateOf(4).owner() || s.get(2).stateOf(4).owner());
        assertEquals(99, read(s.get(0), 4));
        // an owner with readers hands ownership to a reader
        write(s.get(1), 4, 100);
        read(s.get(2), 4);
        assertTrue(s.get(1).flush(4));
        assertTrue(s.get(2).stateOf(4).owner(), "the reader should own it now: " + s.get(2).stateOf(4));
        assertEquals(100, read(s.get(0), 4));
        assertTrue(s.get(0).flush(4));                // a read copy is just dropped
        assertEquals(INV_COPY, s.get(0).stateOf(4));
    }

    @Test
    void directoryLinkerSyncsToDiskAndRemoveDeletes() throws Exception {
        long setId = ids.incrementAndGet();
        List<KddmSet<byte[]>> s = new ArrayList<>();
        for (Kddm k : nodes.all()) {
            s.add(k.createStaticSet(setId, SetSpec.of("directory", "d" + setId)));
        }
        try (Handle<byte[]> h = s.get(1).grab(12)) {
            h.set("hello".getBytes());
        }
        s.get(2).sync(12);
        var file = nodes.storage().resolve("node-2").resolve("d" + setId).resolve("12");
        assertEquals("hello", Files.readString(file));
        s.get(0).remove(12);
        assertFalse(Files.exists(file));
    }

    @Test
    void dynamicSetsAreFoundByOtherNodes() {
        Kddm k0 = nodes.kddm(0);
        KddmSet<Counter> s0 = k0.createSet(k0.objectSpec(Counter.class));
        write(s0, 1, 5);
        KddmSet<Counter> s2 = nodes.kddm(2).set(s0.id(), Counter.class);
        assertEquals(5, read(s2, 1));
        assertThrows(ClassCastException.class, () -> nodes.kddm(1).set(s0.id(), String.class));
        nodes.kddm(1).destroySet(s0.id());
        assertThrows(NoSuchSetException.class, () -> nodes.kddm(2).set(s0.id(), Counter.class));
    }

    @Test
    void badInputGetsClearErrors() {
        assertThrows(NoSuchSetException.class, () -> nodes.kddm(0).set(999_999, Counter.class));
        assertThrows(NoSuchSetException.class, () -> nodes.kddm(0).set(Long.MIN_VALUE >>> 1 | (1L << 62), Counter.class));
        var s = counters();
        Handle<Counter> h = s.get(0).grab(1);
        @SuppressWarnings({"unchecked", "rawtypes"}) Handle<Object> raw = (Handle) h;
        assertThrows(ClassCastException.class, () -> raw.set("not a counter"));
        h.close();
        assertThrows(IllegalStateException.class, h::value);
        assertThrows(IllegalStateException.class, h::close);
        assertThrows(IllegalStateException.class, () -> nodes.kddm(0).createStaticSet(s.get(0).id(),
                SetSpec.of("object", ""), new ObjectLinker<>(Counter.class)));
        assertThrows(IllegalArgumentException.class, () -> nodes.kddm(0).createStaticSet(0, SetSpec.of("object", ""),
                new ObjectLinker<>(Counter.class)));
        var e = assertThrows(KddmException.class, () -> nodes.kddm(0).createSet(SetSpec.of("nope", "")));
        assertTrue(e.getMessage().contains("not registered"), e.getMessage());
        assertEquals(0, read(s.get(1), 1), "the set still works");
    }

    @Test
    void removalRacingWithTransfersLeavesAConsistentObject() throws Exception {
        var s = counters();
        List<Thread> ts = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            KddmSet<Counter> set = s.get(n);
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 100; i++) {
                    try (Handle<Counter> h = set.grab(8)) {
                        h.set(new Counter(h.value().value() + 1));
                    }
                }
            }));
        }
        for (int i = 0; i < 10; i++) {
            s.get(2).remove(8);
            Thread.sleep(5);
        }
        for (Thread t : ts) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(t.isAlive(), "stuck: " + s.get(0).stateOf(8) + "/" + s.get(1).stateOf(8) + "/" + s.get(2).stateOf(8));
        }
        long v = read(s.get(0), 8);
        assertEquals(v, read(s.get(1), 8));
        assertEquals(v, read(s.get(2), 8));
        assertTrue(v <= 200);
    }

    @Test
    void anInvalidationCrossingAReadRequestLeavesNoStaleCopy() throws Exception {
        var s = counters();
        write(s.get(0), 21, 1);                        // node 0 owns it
        read(s.get(1), 21);                            // node 1 holds a copy
        s.get(1).flush(21);                            // ... and drops it silently: node 0 still lists it
        nodes.faults().delay(0, 1, java.time.Duration.ofMillis(150));
        try {
            CompletableFuture<Handle<Counter>> reading = s.get(1).getAsync(21);   // its request is on its way
            // node 0 invalidates node 1 (delayed); the writer releases at once, whichever request wins the race
            CompletableFuture<Boolean> writing = s.get(2).grabAsync(21).thenApply(w -> {
                try (w) {
                    w.set(new Counter(2));
                }
                return true;
            });
            try (Handle<Counter> h = reading.get(10, TimeUnit.SECONDS)) {
                assertTrue(h.value().value() >= 1);
            } catch (java.util.concurrent.TimeoutException e) {
                StringBuilder sb = new StringBuilder("the read is stuck:");
                for (Kddm k : nodes.all()) {
                    sb.append("\n  ").append(k.describe(s.get(0).id(), 21));
                }
                fail(sb.toString());
            }
            assertTrue(writing.get(10, TimeUnit.SECONDS));
        } finally {
            nodes.faults().heal();
        }
        write(s.get(2), 21, 3);
        assertEquals(3, read(s.get(1), 21), "node 1 kept a stale copy");
        assertEquals(3, read(s.get(0), 21));
    }

    @Test
    void requestsChaseAMovingOwner() throws Exception {
        var s = counters(SetFlag.LOCAL_EXCLUSIVE);
        write(s.get(0), 31, 0);
        read(s.get(1), 31);                            // node 1's hint: node 0
        nodes.faults().delay(1, 0, java.time.Duration.ofMillis(100));   // node 1's request reaches node 0 late
        try {
            CompletableFuture<Long> chase = s.get(1).grabAsync(31).thenApply(h -> {
                try (h) {                              // released at once, so the writers below go on
                    assertTrue(h.writable());
                    h.set(new Counter(h.value().value() + 100));
                    return h.value().value();
                }
            });
            for (int i = 1; i <= 5; i++) {             // meanwhile ownership moves 0 -> 2 -> 0 -> 2 ...
                try (Handle<Counter> h = s.get(i % 2 == 1 ? 2 : 0).grab(31)) {
                    h.set(new Counter(h.value().value() + 1));
                }
            }
            assertTrue(chase.get(10, TimeUnit.SECONDS) >= 100);
        } finally {
            nodes.faults().heal();
        }
        long v = read(s.get(2), 31);
        assertEquals(105, v, "a write was lost");
        assertEquals(v, read(s.get(0), 31));
        assertEquals(v, read(s.get(1), 31));
    }
}
