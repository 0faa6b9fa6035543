package org.kerrighed.kddm.testing;

import org.kerrighed.kddm.IoLinker;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.testing.InProcessCluster;
import org.kerrighed.rpc.testing.LinkFaults;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * KDDM on real RPC nodes in this JVM (loopback sockets), with views installed by hand: no Hazelcast, so a test
 * class can start its cluster in well under a second. A crash closes a node's sockets and tells the others it
 * failed, as the membership would. For the tests of KDDM and of the services built on it; not thread-safe for
 * concurrent view changes (its methods are synchronized).
 */
public class KddmCluster implements AutoCloseable {
    private final InProcessCluster rpc;
    private final Map<Integer, Kddm> nodes = new TreeMap<>();
    private final List<Consumer<Kddm>> starters = new CopyOnWriteArrayList<>();
    private final Path storage;
    private long epoch;

    /** Starts {@code n} nodes (ids 0..n-1) registering KDDM's types and {@code types}, and installs the first view. */
    public KddmCluster(int n, TypeRegistrar... types) {
        this(n, List.of(), types);
    }

    /**
     * Like {@link #KddmCluster(int, TypeRegistrar...)}, running {@code onStart} for each node's KDDM before the
     * first view (and for nodes that {@link #join} later): where services built on KDDM start.
     */
    public KddmCluster(int n, List<Consumer<Kddm>> onStart, TypeRegistrar... types) {
        try {
            storage = Files.createTempDirectory("kddm-test");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        starters.addAll(onStart);
        rpc = InProcessCluster.start(0, b -> {
            b.types(Kddm.types());
            for (TypeRegistrar t : types) {
                b.types(t);
            }
            b.defaultCallTimeout(Duration.ofSeconds(10));
        });
        for (int i = 0; i < n; i++) {
            start(i);
        }
        view(List.of());
    }

    private void start(int id) {
        RpcNode r = rpc.addNode(id);
        Kddm k = Kddm.start(r, storage.resolve("node-" + id));
        starters.forEach(s -> s.accept(k));
        nodes.put(id, k);
    }

    public synchronized Kddm kddm(int id) {
        return nodes.get(id);
    }

    public synchronized List<Kddm> all() {
        return new ArrayList<>(nodes.values());
    }

    public synchronized int size() {
        return nodes.size();
    }

    public LinkFaults faults() {
        return rpc.faults();
    }

    public Path storage() {
        return storage;
    }

    /** Installs a new view on every live node, in parallel, as the membership does. */
    public synchronized void view(List<Integer> failed) {
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
    public synchronized void crash(int id) {
        Kddm k = nodes.remove(id);
        rpc.stop(id);                   // first: nothing the dying node does afterwards reaches the others
        k.close();
        view(List.of(id));
    }

    /**
     * Kills node {@code id} as {@link #crash} does, but the survivors learn of it one at a time, as when the
     * membership's notices reach them at different moments: the view that declares it failed is installed on the
     * nodes of {@code order} (every survivor, once) in turn, and {@code between} runs after each has installed it.
     */
    public synchronized void crash(int id, List<Integer> order, IntConsumer between) {
        Kddm k = nodes.remove(id);
        if (!new java.util.TreeSet<>(order).equals(nodes.keySet()) || order.size() != nodes.size()) {
            nodes.put(id, k);
            throw new IllegalArgumentException("order " + order + " must name every survivor " + nodes.keySet()
                    + " once");
        }
        rpc.stop(id);
        k.close();
        epoch++;
        List<Integer> live = new ArrayList<>(nodes.keySet());
        for (int n : order) {
            nodes.get(n).viewChanged(epoch, live, List.of(id));
            between.accept(n);
        }
    }

    /** Node {@code id} leaves gracefully: it hands its objects over, then the view without it is installed. */
    public synchronized void leave(int id) {
        Kddm k = nodes.get(id);
        k.flushAll();
        nodes.remove(id);
        view(List.of());
        k.close();
        rpc.stop(id);
    }

    /** Starts node {@code id} and installs the view that admits it. */
    public synchronized Kddm join(int id) {
        start(id);
        view(List.of());
        return nodes.get(id);
    }

    /** Static set {@code id} created on every node with a fresh linker per node. */
    public synchronized <T> List<KddmSet<T>> staticSet(long id, SetSpec spec, Supplier<IoLinker<T>> linker) {
        List<KddmSet<T>> l = new ArrayList<>();
        for (Kddm k : nodes.values()) {
            l.add(k.createStaticSet(id, spec, linker.get()));
        }
        return l;
    }

    /** Stops every node and deletes the nodes' storage directories. */
    @Override
    public synchronized void close() {
        nodes.values().forEach(Kddm::close);
        nodes.clear();
        rpc.close();
        for (int attempt = 0; attempt < 5 && Files.exists(storage); attempt++) {
            try (var paths = Files.walk(storage)) {        // a closing node may still be writing a file
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                // retried: a file went away during the walk
            }
        }
    }
}
