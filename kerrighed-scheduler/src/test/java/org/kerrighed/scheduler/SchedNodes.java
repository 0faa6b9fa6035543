package org.kerrighed.scheduler;

import org.kerrighed.epm.Epm;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.testing.KddmCluster;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.TypeRegistrar;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * In-process nodes (KDDM on loopback RPC, views by hand) each running shared memory, IPC, the process layer and the
 * scheduler, as a Node does.
 */
final class SchedNodes extends KddmCluster {
    private static final Map<Kddm, Epm> EPMS = new ConcurrentHashMap<>();
    private static final Map<Kddm, ClusterScheduler> SCHEDS = new ConcurrentHashMap<>();

    SchedNodes(int n) {
        super(n, List.of(k -> {
            SharedMemory shm = SharedMemory.start(k);
            Ipc ipc = Ipc.start(k);
            Epm epm = Epm.start(k, shm, ipc);
            EPMS.put(k, epm);
            SCHEDS.put(k, ClusterScheduler.start(epm, k));
        }), types());
    }

    private static TypeRegistrar[] types() {
        List<TypeRegistrar> t = new ArrayList<>(List.of(SharedMemory.types(), Ipc.types(), Epm.types(),
                ClusterScheduler.types(), SchedTestPrograms.TYPES));
        return t.toArray(TypeRegistrar[]::new);
    }

    Epm epm(int node) {
        return EPMS.get(kddm(node));
    }

    ClusterScheduler sched(int node) {
        return SCHEDS.get(kddm(node));
    }

    private void stop(Kddm k) {
        ClusterScheduler s = SCHEDS.remove(k);
        if (s != null) {
            s.close();
        }
        Epm e = EPMS.remove(k);
        if (e != null) {
            e.close();
        }
    }

    @Override
    public synchronized void crash(int id) {
        Kddm k = kddm(id);
        super.crash(id);
        stop(k);
    }

    @Override
    public synchronized void leave(int id) {
        stop(kddm(id));
        super.leave(id);
    }

    @Override
    public synchronized void close() {
        for (Kddm k : all()) {
            stop(k);
        }
        super.close();
    }

    /** Waits until {@code condition} holds, failing after {@code seconds}. */
    static void await(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + seconds + " s waiting: " + what);
            }
            Thread.sleep(10);
        }
    }
}
