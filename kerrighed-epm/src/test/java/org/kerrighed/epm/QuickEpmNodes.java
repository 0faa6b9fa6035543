package org.kerrighed.epm;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.testing.InProcessCluster;
import org.kerrighed.rpc.testing.LinkFaults;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * In-process nodes as {@link EpmNodes} runs them (KDDM on loopback RPC, views by hand, shared memory, IPC and the
 * process layer), with a short call timeout: for the tests of what a move does when its target stays silent for
 * several call timeouts. A node made silent stays a member until the test declares it failed.
 */
final class QuickEpmNodes implements AutoCloseable {
    private final InProcessCluster rpc;
    private final Path storage;
    private final Map<Integer, Kddm> kddms = new TreeMap<>();
    private final Map<Integer, Epm> epms = new TreeMap<>();
    private final Map<Integer, Ipc> ipcs = new TreeMap<>();
    private long epoch;

    QuickEpmNodes(int n, Duration callTimeout) throws java.io.IOException {
        storage = Files.createTempDirectory("epm-quick");
        rpc = InProcessCluster.start(0, b -> {
            b.types(Kddm.types());
            b.types(SharedMemory.types());
            b.types(Ipc.types());
            b.types(Epm.types());
            b.types(TestPrograms.TYPES);
            b.defaultCallTimeout(callTimeout);
        });
        for (int i = 0; i < n; i++) {
            Kddm k = Kddm.start(rpc.addNode(i), storage.resolve("node-" + i));
            SharedMemory shm = SharedMemory.start(k);
            Ipc ipc = Ipc.start(k);
            kddms.put(i, k);
            ipcs.put(i, ipc);
            epms.put(i, Epm.start(k, shm, ipc));
        }
        view(List.of());
    }

    synchronized Epm epm(int node) {
        return epms.get(node);
    }

    synchronized Ipc ipc(int node) {
        return ipcs.get(node);
    }

    LinkFaults faults() {
        return rpc.faults();
    }

    private void view(List<Integer> failed) {
        epoch++;
        List<Integer> live = new ArrayList<>(kddms.keySet());
        for (Kddm k : kddms.values()) {
            k.viewChanged(epoch, live, failed);
        }
    }

    /** Kills node {@code id} and tells the others it failed. */
    synchronized void crash(int id) {
        Kddm k = kddms.remove(id);
        Epm e = epms.remove(id);
        ipcs.remove(id);
        rpc.stop(id);
        k.close();
        view(List.of(id));
        e.close();
    }

    @Override
    public synchronized void close() {
        epms.values().forEach(Epm::close);
        kddms.values().forEach(Kddm::close);
        rpc.close();
        try (var paths = Files.walk(storage)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            // best effort
        }
    }
}
