package org.kerrighed.mm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Three nodes × four threads increment shared counters with compareAndSet and getAndAdd only: no update is lost. */
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
}
