package org.kerrighed.ipc;

import org.kerrighed.kddm.testing.KddmCluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** An in-process KDDM cluster with IPC started on every node, for the tests. */
final class IpcCluster implements AutoCloseable {
    final Map<Integer, Ipc> ipcs = new ConcurrentHashMap<>();
    final KddmCluster kddm;

    IpcCluster(int n) {
        kddm = new KddmCluster(n, List.of(k -> ipcs.put(k.nodeId(), Ipc.start(k))), Ipc.types());
    }

    Ipc ipc(int node) {
        return ipcs.get(node);
    }

    void crash(int node) {
        kddm.crash(node);
        ipcs.remove(node);
    }

    void leave(int node) {
        kddm.leave(node);
        ipcs.remove(node).close();
    }

    /** Waits (bounded) until {@code t} is parked. */
    static void awaitParked(Thread t) throws InterruptedException {
        awaitState(t, Thread.State.WAITING, Thread.State.TIMED_WAITING);
    }

    /** Waits (bounded) until {@code t} is in one of {@code states}. */
    static void awaitState(Thread t, Thread.State... states) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!java.util.List.of(states).contains(t.getState())) {
            if (System.nanoTime() > end) {
                throw new AssertionError(t + " not parked: " + t.getState());
            }
            Thread.sleep(5);
        }
    }

    @Override
    public void close() {
        ipcs.values().forEach(Ipc::close);
        kddm.close();
    }
}
