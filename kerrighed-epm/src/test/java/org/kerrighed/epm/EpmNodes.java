package org.kerrighed.epm;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.testing.KddmCluster;
import org.kerrighed.mm.SharedMemory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/** In-process nodes (KDDM on loopback RPC, views by hand) each running shared memory, IPC and the process layer. */
final class EpmNodes extends KddmCluster {
    private static final Map<Kddm, Epm> EPMS = new ConcurrentHashMap<>();
    private static final Map<Kddm, Ipc> IPCS = new ConcurrentHashMap<>();
    private static final Map<Kddm, SharedMemory> SHMS = new ConcurrentHashMap<>();

    EpmNodes(int n) {
        super(n, List.of(k -> {
            SharedMemory shm = SharedMemory.start(k);
            Ipc ipc = Ipc.start(k);
            IPCS.put(k, ipc);
            SHMS.put(k, shm);
            EPMS.put(k, Epm.start(k, shm, ipc));
        }), SharedMemory.types(), Ipc.types(), Epm.types(), TestPrograms.TYPES);
    }

    Epm epm(int node) {
        return EPMS.get(kddm(node));
    }

    Ipc ipc(int node) {
        return IPCS.get(kddm(node));
    }

    SharedMemory shm(int node) {
        return SHMS.get(kddm(node));
    }

    @Override
    public synchronized void crash(int id) {
        Epm e = EPMS.remove(kddm(id));
        super.crash(id);
        e.close();
    }

    /** Node {@code id} leaves as a Node does: its processes end first, then it leaves the view. */
    @Override
    public synchronized void leave(int id) {
        EPMS.remove(kddm(id)).close();
        super.leave(id);
    }

    @Override
    public synchronized void close() {
        for (Kddm k : all()) {
            EPMS.remove(k).close();
        }
        super.close();
    }

    /** Waits until {@code condition} holds, failing after 10 s. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(5);
        }
    }
}
