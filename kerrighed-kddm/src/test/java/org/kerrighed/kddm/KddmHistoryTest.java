package org.kerrighed.kddm;

import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.KddmNodes.Counter;
import org.kerrighed.kddm.linkers.ObjectLinker;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Randomized histories on four nodes, two threads each: get, grab+increment, try-grab, flush on a few shared
 * counters. Checks that no acknowledged increment is lost, that a node never reads a value older than one it
 * already saw, and that every node ends with the same values. Seeded: the seed is printed on failure and can be
 * replayed with {@code -Dkddm.seed=N}.
 */
class KddmHistoryTest {
    private static final int NODES = 4;
    private static final int THREADS = 2;
    private static final int OBJECTS = 6;
    private static final int OPS = 400;

    @Test
    void randomHistoriesAreSequentiallyConsistent() throws Exception {
        long seed = Long.getLong("kddm.seed", new Random().nextLong());
        try (KddmNodes nodes = new KddmNodes(NODES)) {
            run(nodes, seed, 1, SetSpec.of("object", "").withFlags(SetFlag.LOCAL_EXCLUSIVE));
            run(nodes, seed + 1, 2, SetSpec.of("object", "").withFlags(SetFlag.LOCAL_EXCLUSIVE).withReplication(2));
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("history failed with seed " + seed + " (replay: -Dkddm.seed=" + seed + "): "
                    + e.getMessage(), e);
        }
    }

    private static void run(KddmNodes nodes, long seed, long setId, SetSpec spec) throws Exception {
        List<KddmSet<Counter>> sets = nodes.staticSet(setId, spec,
                () -> new ObjectLinker<>(Counter.class, id -> new Counter(0)));
        AtomicLongArray increments = new AtomicLongArray(OBJECTS);
        AtomicLong[][] seen = new AtomicLong[NODES][OBJECTS];   // per node: highest value a finished op saw
        for (AtomicLong[] row : seen) {
            for (int o = 0; o < OBJECTS; o++) {
                row[o] = new AtomicLong();
            }
        }
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
            for (int t = 0; t < THREADS; t++) {
                int node = n;
                Random rnd = new Random(seed * 31 + n * 7L + t);
                KddmSet<Counter> s = sets.get(n);
                threads.add(Thread.ofPlatform().name("history-" + n + "-" + t).start(() -> {
                    try {
                        for (int i = 0; i < OPS; i++) {
                            int o = rnd.nextInt(OBJECTS);
                            int p = rnd.nextInt(100);
                            long floor = seen[node][o].get();
                            long v;
                            if (p < 55) {
                                try (Handle<Counter> h = s.get(o)) {
                                    v = h.value().value();
                                }
                            } else if (p < 90) {
                                try (Handle<Counter> h = s.grab(o)) {
                                    v = h.value().value() + 1;
                                    h.set(new Counter(v));
                                }
                                increments.incrementAndGet(o);
                            } else if (p < 95) {
                                Optional<Handle<Counter>> h = s.tryGrab(o);
                                if (h.isEmpty()) {
                                    continue;
                                }
                                try (Handle<Counter> w = h.get()) {
                                    v = w.value().value() + 1;
                                    w.set(new Counter(v));
                                }
                                increments.incrementAndGet(o);
                            } else {
                                s.flush(o);
                                continue;
                            }
                            if (v < floor) {
                                errors.add("node " + node + " read " + v + " for object " + o + " after seeing " + floor);
                            }
                            seen[node][o].accumulateAndGet(v, Math::max);
                        }
                    } catch (RuntimeException e) {
                        errors.add(Thread.currentThread().getName() + ": " + e);
                    }
                }));
            }
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(90));
            if (t.isAlive()) {
                StringBuilder sb = new StringBuilder();
                for (int o = 0; o < OBJECTS; o++) {
                    for (Kddm k : nodes.all()) {
                        sb.append("\n  ").append(k.describe(setId, o));
                    }
                }
                fail(t.getName() + " is stuck; states:" + sb);
            }
        }
        if (!errors.isEmpty()) {
            StringBuilder sb = new StringBuilder(String.join("\n", errors));
            for (int o = 0; o < OBJECTS; o++) {
                for (Kddm k : nodes.all()) {
                    sb.append("\n  ").append(k.describe(setId, o));
                }
            }
            fail(sb.toString());
        }
        for (int o = 0; o < OBJECTS; o++) {
            for (KddmSet<Counter> s : sets) {
                try (Handle<Counter> h = s.get(o)) {
                    assertEquals(increments.get(o), h.value().value(), "object " + o + " on a node (set " + setId + ")");
                }
            }
        }
    }
}
