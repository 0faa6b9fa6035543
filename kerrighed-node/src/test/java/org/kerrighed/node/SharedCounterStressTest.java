package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.ipc.ClusterLock;
import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SharedMemory;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Shared memory and cluster locks together, on 3 real nodes in this JVM × 4 threads each: a counter in a shared
 * segment incremented with a plain read and write under a {@link ClusterLock}, and another with compare-and-set
 * only. Both end exact.
 */
class SharedCounterStressTest {
    static final int NODES = 3;
    static final int THREADS = 4;
    static final int INCREMENTS = 50;
    static final List<Node> nodes = new ArrayList<>();

    @BeforeAll
    static void start() {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        NodeConfig template = NodeConfig.builder().clusterName("stress-" + Long.toHexString(new SecureRandom()
                .nextLong() >>> 1)).secret(Base64.getEncoder().encodeToString(secret)).jmx(false).build();
        for (int id = 0; id < NODES; id++) {
            NodeConfig.Builder b = template.toBuilder().nodeId(id);
            if (!nodes.isEmpty()) {
                b.seeds(List.of(nodes.getFirst().rpc().address()));
            }
            nodes.add(Kerrighed.join(b.build()));
        }
    }

    @AfterAll
    static void stop() {
        nodes.reversed().forEach(Node::close);
    }

    interface Increment {
        void run(Node node, Segment s) throws Exception;
    }

    /** Every thread of every node attaches segment {@code key} and runs {@code increment} INCREMENTS times. */
    private static long hammer(long key, Increment increment) throws Exception {
        long id = nodes.getFirst().shm().open(key, 4096, SharedMemory.CREATE | 0600);
        List<Thread> ts = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (Node n : nodes) {
            for (int t = 0; t < THREADS; t++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try (Segment s = n.shm().attach(id)) {
                        for (int i = 0; i < INCREMENTS; i++) {
                            increment.run(n, s);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
        }
        for (Thread t : ts) {
            t.join(120_000);
            assertFalse(t.isAlive(), "a thread did not finish");
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        try (Segment s = nodes.get(1).shm().attach(id)) {
            return s.getLong(0);
        } finally {
            nodes.getFirst().shm().remove(id);
        }
    }

    @Test
    void plainIncrementsUnderAClusterLockAreExact() throws Exception {
        long total = hammer(71, (n, s) -> {
            ClusterLock lock = n.ipc().lock("stress-counter");
            lock.lock();
            try {
                s.putLong(0, s.getLong(0) + 1);           // not atomic by itself: the lock makes it so
            } finally {
                lock.unlock();
            }
        });
        assertEquals(NODES * THREADS * INCREMENTS, total);
    }

    @Test
    void compareAndSetIncrementsAreExact() throws Exception {
        long total = hammer(72, (n, s) -> {
            long v;
            do {
                v = s.getLong(0);
            } while (!s.compareAndSetLong(0, v, v + 1));
        });
        assertEquals(NODES * THREADS * INCREMENTS, total);
    }
}
