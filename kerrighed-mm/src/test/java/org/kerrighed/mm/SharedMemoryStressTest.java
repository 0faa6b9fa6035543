package org.kerrighed.mm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Shared memory under concurrent use on three nodes: atomic increments from every node lose no update, and bulk
 * copies never read a page older than a completed write, nor half of one.
 */
class SharedMemoryStressTest {
    private static final int NODES = 3;
    private static final int THREADS = 4;
    private static final int OPS = 300;
    private static MmNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new MmNodes(NODES);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void concurrentAtomicIncrementsFromEveryNodeAreExact() throws Exception {
        long id = nodes.shm(0).open(0x57E55L, 4096, SharedMemory.CREATE | 0600);
        List<Segment> segs = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
            segs.add(nodes.shm(n).attach(id));
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
            Segment s = segs.get(n);
            for (int t = 0; t < THREADS; t++) {
                int kind = t;
                ts.add(Thread.ofPlatform().name("inc-" + n + "-" + t).start(() -> {
                    try {
                        for (int i = 0; i < OPS; i++) {
                            switch (kind) {
                                case 0 -> s.getAndAddLong(0, 1);
                                case 1 -> {
                                    long v;
                                    do {
                                        v = s.getLong(0);
                                    } while (!s.compareAndSetLong(0, v, v + 1));
                                }
                                case 2 -> s.getAndAddInt(8, 1);
                                default -> {
                                    int v;
                                    do {
                                        v = s.getInt(8);
                                    } while (!s.compareAndSetInt(8, v, v + 1));
                                }
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
        }
        for (Thread t : ts) {
            t.join(100_000);
        }
        assertNull(failure.get(), () -> "an increment failed: " + failure.get());
        int perCounter = NODES * (THREADS / 2) * OPS;
        for (Segment s : segs) {
            assertEquals(perCounter, s.getLong(0));
            assertEquals(perCounter, s.getInt(8));
            s.close();
        }
    }

    /**
     * Nodes 0 and 2 take turns writing round {@code r} to each of 32 pages (every long of page {@code p} becomes
     * {@code r << 16 | p}, one whole-page copy each) while two threads on node 1 copy the whole segment: every page
     * of a copy is whole (one round), is the right page, is not older than a round that was complete when the copy
     * started, nor older than what the thread copied before.
     */
    @Test
    void bulkCopiesNeverReadAStaleOrHalfWrittenPage() throws Exception {
        int pages = 32;
        int page = 4096;
        int rounds = 30;
        long id = nodes.shm(0).open(0xC0B1L, (long) pages * page, SharedMemory.CREATE | 0600);
        List<Segment> segs = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
            segs.add(nodes.shm(n).attach(id));
        }
        ByteBuffer b = ByteBuffer.allocate(page).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = 0; p < pages; p++) {
            for (int i = 0; i < page; i += 8) {
                b.putLong(i, p);                                  // round 0
            }
            segs.get(0).copyFrom((long) p * page, b.array(), 0, page);
        }
        AtomicLong completed = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        ts.add(Thread.ofPlatform().name("page-writer").start(() -> {
            try {
                for (long r = 1; r <= rounds && failure.get() == null; r++) {
                    Segment s = segs.get(r % 2 == 0 ? 2 : 0);
                    for (int p = 0; p < pages; p++) {
                        for (int i = 0; i < page; i += 8) {
                            b.putLong(i, r << 16 | p);
                        }
                        s.copyFrom((long) p * page, b.array(), 0, page);
                    }
                    completed.set(r);
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                done.set(true);
            }
        }));
        for (int t = 0; t < 2; t++) {
            ts.add(Thread.ofPlatform().name("copier-" + t).start(() -> {
                ByteBuffer out = ByteBuffer.allocateDirect(pages * page).order(ByteOrder.LITTLE_ENDIAN);
                long[] last = new long[pages];
                try {
                    while (!done.get() && failure.get() == null) {
                        long floor = completed.get();
                        out.clear();
                        segs.get(1).copyTo(0, out);
                        for (int p = 0; p < pages; p++) {
                            long v = out.getLong(p * page);
                            for (int i = 8; i < page; i += 8) {
                                if (out.getLong(p * page + i) != v) {
                                    throw new AssertionError("page " + p + " was copied half written: " + v
                                            + " then " + out.getLong(p * page + i) + " at byte " + i);
                                }
                            }
                            long round = v >>> 16;
                            if ((v & 0xFFFF) != p || round < floor || round < last[p]) {
                                throw new AssertionError("page " + p + " read as round " + round + " of page "
                                        + (v & 0xFFFF) + " after round " + floor + " was complete and round "
                                        + last[p] + " was read");
                            }
                            last[p] = round;
                        }
                        Thread.sleep(1);                  // leave the writer some CPU on a small machine
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread t : ts) {
            t.join(120_000);
            assertFalse(t.isAlive(), "a writer or copier is stuck");
        }
        assertNull(failure.get(), () -> "a copy went wrong: " + failure.get());
        for (Segment s : segs) {
            assertEquals((long) rounds << 16 | (pages - 1), s.getLong((long) (pages - 1) * page));
            s.close();
        }
    }
}
