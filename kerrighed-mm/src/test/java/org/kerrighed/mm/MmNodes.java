package org.kerrighed.mm;

import org.kerrighed.kddm.testing.KddmCluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/** An in-process KDDM cluster with shared memory started on every node (and on nodes that join later). */
final class MmNodes implements AutoCloseable {
    final Map<Integer, SharedMemory> shm = new ConcurrentHashMap<>();
    final KddmCluster cluster;

    MmNodes(int n) {
        cluster = new KddmCluster(n, List.of(k -> shm.put(k.nodeId(), SharedMemory.start(k))), SharedMemory.types());
    }

    SharedMemory shm(int node) {
        return shm.get(node);
    }

    void crash(int node) {
        shm.remove(node);
        cluster.crash(node);
    }

    void join(int node) {
        cluster.join(node);
    }

    /** Waits up to 20 s for {@code condition}; fails with {@code what} when it does not hold by then. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    @Override
    public void close() {
        cluster.close();
    }
}
