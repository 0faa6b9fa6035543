package org.kerrighed.kddm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.KddmNodes.Counter;
import org.kerrighed.kddm.linkers.ObjectLinker;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.kddm.KddmNodes.read;
import static org.kerrighed.kddm.KddmNodes.write;
import static org.kerrighed.kddm.ObjState.*;

/** {@link KddmSet#getRun} on three real nodes: what a run pins, where it stops, and that it keeps writers out. */
class KddmRunTest {
    private static KddmNodes nodes;
    private static final AtomicLong ids = new AtomicLong(500);

    @BeforeAll
    static void start() {
        nodes = new KddmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    private static List<KddmSet<Counter>> counters() {
        return nodes.staticSet(ids.incrementAndGet(), SetSpec.of("object", ""),
                () -> new ObjectLinker<>(Counter.class, id -> new Counter(0)));
    }

    @Test
    void aRunPinsTheCopiesCachedHereAndStopsAtTheFirstThatIsNot() {
        var s = counters();
        for (long id = 0; id < 10; id++) {
            write(s.get(0), id, 100 + id);
        }
        for (long id = 0; id < 10; id++) {
            if (id != 6) {
                read(s.get(1), id);                    // node 1 caches every object but 6
            }
        }
        long hits = s.get(1).stats().hits();
        long misses = s.get(1).stats().misses();
        try (RunHandle<Counter> r = s.get(1).getRun(0, 10)) {
            assertEquals(0, r.first());
            assertEquals(6, r.count());
            for (int i = 0; i < 6; i++) {
                assertEquals(100 + i, r.value(i).value());
            }
        }
        assertEquals(hits + 6, s.get(1).stats().hits());
        assertEquals(misses, s.get(1).stats().misses());
        try (RunHandle<Counter> r = s.get(1).getRun(6, 10)) {    // 6 is fetched, 7-9 are cached, 10 is nowhere
            assertEquals(6, r.first());
            assertEquals(4, r.count());
            for (int i = 0; i < 4; i++) {
                assertEquals(106 + i, r.value(i).value());
            }
        }
        assertEquals(misses + 1, s.get(1).stats().misses());
        assertEquals(READ_COPY, s.get(1).stateOf(6));
    }

    @Test
    void theFirstObjectIsTakenAsGetTakesIt() {
        var s = counters();
        try (RunHandle<Counter> r = s.get(2).getRun(50, 5)) {     // exists nowhere: first touch
            assertEquals(1, r.count());
            assertEquals(0, r.value(0).value());
        }
        assertTrue(s.get(2).stateOf(50).owner());
        assertEquals(INV_COPY, s.get(2).stateOf(51));
    }

    @Test
    void aWriterOnAnotherNodeWaitsForTheRunAndTheNextRunSeesItsWrite() throws Exception {
        var s = counters();
        for (long id = 0; id < 8; id++) {
            write(s.get(0), id, 1);
            read(s.get(1), id);
        }
        RunHandle<Counter> run = s.get(1).getRun(0, 8);
        assertEquals(8, run.count());
        CompletableFuture<Handle<Counter>> writer = s.get(2).grabAsync(5);
        Thread.sleep(200);
        assertFalse(writer.isDone(), "node 2 took an object that node 1's run pins");
        assertEquals(READ_COPY, s.get(1).stateOf(5), "the copy was invalidated under the run");
        assertEquals(1, run.value(5).value());
        run.close();
        try (Handle<Counter> h = writer.get(10, TimeUnit.SECONDS)) {
            h.set(new Counter(2));
        }
        assertEquals(INV_COPY, s.get(1).stateOf(5));
        try (RunHandle<Counter> again = s.get(1).getRun(0, 8)) {
            assertEquals(5, again.count(), "a run went past an invalidated copy");
        }
        try (RunHandle<Counter> rest = s.get(1).getRun(5, 3)) {
            assertEquals(3, rest.count());
            assertEquals(2, rest.value(0).value());
            assertEquals(1, rest.value(1).value());
        }
    }

    @Test
    void aRunStopsBeforeAnObjectAnotherNodeWaitsFor() throws Exception {
        var s = counters();
        for (long id = 0; id < 6; id++) {
            write(s.get(0), id, 7);
            read(s.get(1), id);
        }
        Handle<Counter> held = s.get(1).get(3);
        CompletableFuture<Handle<Counter>> writer = s.get(2).grabAsync(3);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!held.contended()) {
            assertTrue(System.nanoTime() < deadline, "node 2's invalidation of object 3 never reached node 1");
            Thread.sleep(5);
        }
        try (RunHandle<Counter> r = s.get(1).getRun(0, 6)) {
            assertEquals(3, r.count(), "a run added a pin to an object another node waits for");
        }
        held.close();
        writer.get(10, TimeUnit.SECONDS).close();
    }

    @Test
    void badArgumentsAndClosedRunsAreRefused() {
        var s = counters();
        assertThrows(IllegalArgumentException.class, () -> s.get(0).getRun(1, 0));
        assertThrows(IllegalArgumentException.class, () -> s.get(0).getRun(Long.MAX_VALUE - 1, 3));
        RunHandle<Counter> r = s.get(0).getRun(1, 1);
        assertThrows(IndexOutOfBoundsException.class, () -> r.value(1));
        r.close();
        assertThrows(IllegalStateException.class, r::close);
        assertThrows(IllegalStateException.class, () -> r.value(0));
    }

    /**
     * Node 0 and node 2 take turns writing round {@code v} to 64 objects while two threads on node 1 and one on node
     * 2 read them in runs: a run started after round {@code v} was written everywhere never reads an older value,
     * and a reader never reads a value older than one it read before.
     */
    @Test
    void runsNeverReadACopyOlderThanACompletedWrite() throws Exception {
        var s = counters();
        int n = 64;
        int rounds = 20;
        AtomicLong completed = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        threads.add(Thread.ofPlatform().start(() -> {
            try {
                for (long v = 1; v <= rounds && failure.get() == null; v++) {
                    KddmSet<Counter> w = s.get(v % 2 == 0 ? 2 : 0);
                    for (long id = 0; id < n; id++) {
                        write(w, id, v);
                    }
                    completed.set(v);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                done.set(true);
            }
        }));
        for (int reader : new int[]{1, 1, 2}) {
            KddmSet<Counter> set = s.get(reader);
            threads.add(Thread.ofPlatform().start(() -> {
                long[] last = new long[n];
                try {
                    while (!done.get() && failure.get() == null) {
                        long floor = completed.get();
                        long id = 0;
                        while (id < n) {
                            try (RunHandle<Counter> r = set.getRun(id, (int) Math.min(16, n - id))) {
                                for (int i = 0; i < r.count(); i++) {
                                    long v = r.value(i).value();
                                    int at = (int) id + i;
                                    if (v < floor || v < last[at]) {
                                        throw new AssertionError("object " + at + " read as " + v + " after round "
                                                + floor + " was complete and " + last[at] + " was read");
                                    }
                                    last[at] = v;
                                }
                                id += r.count();
                            }
                        }
                        Thread.sleep(1);                  // leave the writer some CPU on a small machine
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(120));
            assertFalse(t.isAlive(), "a writer or reader is stuck");
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(rounds, completed.get());
        for (KddmSet<Counter> set : s) {
            try (RunHandle<Counter> r = set.getRun(0, 1)) {
                assertEquals(rounds, r.value(0).value());
            }
        }
    }

    /** A linker that records, by identity, the objects it was told were dropped. */
    private static final class Recorder implements IoLinker<Counter> {
        final List<Object> invalidated = new CopyOnWriteArrayList<>();

        @Override
        public Class<?> type() {
            return Counter.class;
        }

        @Override
        public Counter firstTouch(long id) {
            return new Counter(0);
        }

        @Override
        public Object export(long id, Counter object) {
            return object;
        }

        @Override
        public Counter importObject(long id, Object wire) {
            return new Counter(((Counter) wire).value());
        }

        @Override
        public void invalidate(long id, Counter object) {
            invalidated.add(object);
        }

        boolean told(Object o) {
            return invalidated.stream().anyMatch(x -> x == o);
        }
    }

    @Test
    void aCopyDroppedWhilePinnedReachesTheLinkerOnlyOnceUnpinned() {
        List<Recorder> linkers = new ArrayList<>();
        List<KddmSet<Counter>> s = nodes.staticSet(ids.incrementAndGet(), SetSpec.of("object", ""), () -> {
            Recorder r = new Recorder();
            linkers.add(r);
            return r;
        });
        write(s.get(0), 1, 5);
        read(s.get(1), 1);                                       // node 1 holds a read copy...
        RunHandle<Counter> run = s.get(1).getRun(1, 1);
        Counter pinned = run.value(0);
        assertTrue(s.get(0).flush(1));                           // ... and becomes the owner, with a new copy
        assertTrue(s.get(1).stateOf(1).owner());
        assertFalse(linkers.get(1).told(pinned), "the linker heard of a copy a run still pins");
        assertSame(pinned, run.value(0));
        run.close();
        assertTrue(linkers.get(1).told(pinned), "the linker never heard of the replaced copy");

        Handle<Counter> h = s.get(1).grab(1);
        Counter before = h.value();
        h.set(new Counter(6));                                   // replaced under the write pin
        assertFalse(linkers.get(1).told(before));
        h.close();
        assertTrue(linkers.get(1).told(before));
        assertEquals(6, read(s.get(2), 1));
    }
}
