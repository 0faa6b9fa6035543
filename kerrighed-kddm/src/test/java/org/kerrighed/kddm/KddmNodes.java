package org.kerrighed.kddm;

import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * KDDM on real RPC nodes in this JVM (loopback sockets), with views installed by hand: no Hazelcast, so a
 * class can start its cluster in well under a second. A crash closes a node's sockets and tells the others
 * it failed, as the membership would.
 */
final class KddmNodes implements AutoCloseable {
    static final int COUNTER_TYPE = 30_000;

    /** A test value type. */
    record Counter(long value) {
    }

    /** The value of counter {@code id}, read with get. */
    static long read(KddmSet<Counter> s, long id) {
        try (Handle<Counter> h = s.get(id)) {
            return h.value().value();
        }
    }

    /** Sets counter {@code id} to {@code v} with grab. */
    static void write(KddmSet<Counter> s, long id, long v) {
        try (Handle<Counter> h = s.grab(id)) {
            h.set(new Counter(v));
        }
    }

    private final InProcessCluster rpc;
    private final Map<Integer, Kddm> nodes = new TreeMap<>();
    private final Path storage;
    private long epoch;

    KddmNodes(int n) {
        try {
            storage = Files.createTempDirectory("kddm-test");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        rpc = InProcessCluster.start(0, b -> b.types(Kddm.types()).types(t -> t.range("kddm-test", 30_000, 30_009)
                .register(COUNTER_TYPE, Counter.class)).defaultCallTimeout(Duration.ofSeconds(10)));
        for (int i = 0; i < n; i++) {
            start(i);
        }
        view(List.of());
    }

    private void start(int id) {
        RpcNode r = rpc.addNode(id);
        nodes.put(id, Kddm.start(r, storage.resolve("node-" + id)));
    }

    Kddm kddm(int id) {
        return nodes.get(id);
    }

    List<Kddm> all() {
        return new ArrayList<>(nodes.values());
    }

    int size() {
        return nodes.size();
    }

    org.kerrighed.rpc.testing.LinkFaults faults() {
        return rpc.faults();
    }

    Path storage() {
        return storage;
    }

    /** Installs a new view on every live node, in parallel, as the membership does. */
    synchronized void view(List<Integer> failed) {
        epoch++;
        List<Integer> live = new ArrayList<>(nodes.keySet());
        List<Thread> ts = new ArrayList<>();
        for (Kddm k : nodes.values()) {
            ts.add(Thread.ofVirtual().start(() -> k.viewChanged(epoch, live, failed)));
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Kills node {@code id} (its sockets close, it runs nothing more) and tells the others it failed. */
    synchronized void crash(int id) {
        Kddm k = nodes.remove(id);
        k.close();
        rpc.stop(id);
        view(List.of(id));
    }

    /** Node {@code id} leaves gracefully: it hands its objects over, then the view without it is installed. */
    synchronized void leave(int id) {
        Kddm k = nodes.get(id);
        k.flushAll();
        nodes.remove(id);
        view(List.of());
        k.close();
        rpc.stop(id);
    }

    /** Starts node {@code id} and installs the view that admits it. */
    synchronized Kddm join(int id) {
        start(id);
        view(List.of());
        return nodes.get(id);
    }

    /** Static set {@code id} created on every node with a fresh linker per node. */
    <T> List<KddmSet<T>> staticSet(long id, SetSpec spec, java.util.function.Supplier<IoLinker<T>> linker) {
        List<KddmSet<T>> l = new ArrayList<>();
        for (Kddm k : nodes.values()) {
            l.add(k.createStaticSet(id, spec, linker.get()));
        }
        return l;
    }

    @Override
    public synchronized void close() {
        nodes.values().forEach(Kddm::close);
        nodes.clear();
        rpc.close();
    }
}
