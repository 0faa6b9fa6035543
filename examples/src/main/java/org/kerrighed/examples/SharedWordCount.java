package org.kerrighed.examples;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A word count whose result lives in KDDM: a cluster-wide hash table of word counts on a static set, shared
 * by every node with no service of its own. Each node counts the words of its slice of a text, then merges
 * its counts into the table; any node then reads the whole result.
 *
 * <p>The table is {@value #BUCKETS} objects (buckets), one per hash of a word. A node merges into a bucket
 * with {@code grab}: KDDM brings it the only copy in the cluster (invalidating the others), so merges from
 * different nodes never lose an update, without locks or messages written by hand. Readers use {@code get},
 * which leaves a read copy on the reader until the next write. Bucket values are immutable records: a read
 * copy must never be changed, so a merge builds a new value and {@code set}s it.
 *
 * <p>The set has a replication factor of 2: every merge is copied to a second node before its handle closes,
 * so the result survives the loss of any one node.
 *
 * <p>Run {@link #main} (see examples/README.md): it starts three real nodes in this JVM on loopback.
 */
public final class SharedWordCount {
    /** One bucket of the table: the counts of the words that hash to it (immutable). */
    public record Bucket(Map<String, Long> counts) {
        public Bucket {
            counts = Map.copyOf(counts);
        }

        /** A new bucket with {@code more} added. */
        Bucket plus(Map<String, Long> more) {
            Map<String, Long> m = new HashMap<>(counts);
            more.forEach((w, n) -> m.merge(w, n, Long::sum));
            return new Bucket(m);
        }
    }

    /** This example's types, in its own id range (every node of the cluster registers them). */
    public static final TypeRegistrar TYPES = b -> b.range("shared-wordcount-example", 20_010, 20_019)
            .register(20_010, Bucket.class);

    /** The table's well-known id: every node creates the set under it. */
    public static final long SET_ID = 10_001;
    /** Buckets in the table. */
    public static final int BUCKETS = 16;

    private SharedWordCount() {
    }

    /** Creates the table on {@code node}; every node that uses it does this, with the same spec. */
    public static KddmSet<Bucket> table(Node node) {
        Kddm kddm = node.kddm();
        SetSpec spec = kddm.objectSpec(Bucket.class)       // the "object" linker, values of a registered type
                .withReplication(2);                       // homes: round robin over the live nodes (default)
        return kddm.createStaticSet(SET_ID, spec, new ObjectLinker<>(Bucket.class, id -> new Bucket(Map.of())));
    }

    static long bucketOf(String word) {
        return Math.floorMod(word.hashCode(), BUCKETS);
    }

    /** Counts the words of {@code lines} here, then merges the counts into the shared table, bucket by bucket. */
    public static void countInto(KddmSet<Bucket> table, List<String> lines) {
        Map<Long, Map<String, Long>> byBucket = new TreeMap<>();
        WordCount.count(lines).forEach((w, n) ->
                byBucket.computeIfAbsent(bucketOf(w), k -> new HashMap<>()).put(w, (long) n));
        for (var e : byBucket.entrySet()) {
            try (Handle<Bucket> h = table.grab(e.getKey())) {   // the only copy in the cluster until closed
                h.set(h.value().plus(e.getValue()));           // a new immutable value; published on close
            }
        }
    }

    /** The whole table, read from {@code table}'s node (buckets nobody wrote are skipped without being created). */
    public static Map<String, Long> read(KddmSet<Bucket> table) {
        Map<String, Long> all = new TreeMap<>();
        for (long b = 0; b < BUCKETS; b++) {
            Optional<Handle<Bucket>> h = table.getIfExists(b);  // no first touch for buckets nobody wrote
            if (h.isPresent()) {
                try (Handle<Bucket> bucket = h.get()) {
                    all.putAll(bucket.value().counts());         // read only: a read copy must not be changed
                }
            }
        }
        return all;
    }

    /** Each node counts one slice of {@code text} into the table, all at once; returns when every node is done. */
    public static void countOnCluster(List<Node> nodes, List<KddmSet<Bucket>> tables, List<String> text)
            throws Exception {
        int per = (text.size() + nodes.size() - 1) / nodes.size();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                List<String> slice = text.subList(Math.min(text.size(), i * per), Math.min(text.size(), (i + 1) * per));
                KddmSet<Bucket> table = tables.get(i);
                done.add(threads.submit(() -> countInto(table, slice)));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
    }

    /** A configuration for a node of a fresh cluster on loopback (the first one starts it, the others join). */
    static NodeConfig config(String cluster, String secret, Path storage, int id, HostAndPort seed) {
        NodeConfig.Builder b = NodeConfig.builder().clusterName(cluster).secret(secret).nodeId(id)
                .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                .storageDir(storage.resolve("node-" + id)).jmx(false);
        if (seed != null) {
            b.seeds(List.of(seed));
        }
        return b.build();
    }

    public static void main(String[] args) throws Exception {
        List<String> text = List.of(
                "Kerrighed offers the view of a unique SMP machine",
                "on top of a cluster of standard PCs",
                "a cluster of JVMs seen as one machine",
                "one process table, one memory, one file tree",
                "objects move to the node that writes them",
                "and copies stay on the nodes that read them");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "wordcount-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        Path storage = Files.createTempDirectory("shared-wordcount-");
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(config(cluster, secret, storage, id, seed), TYPES));
            }
            List<KddmSet<Bucket>> tables = new ArrayList<>();
            for (Node n : nodes) {
                tables.add(table(n));
            }
            countOnCluster(nodes, tables, text);
            Map<String, Long> counts = read(tables.get(2));
            System.out.println("word counts, merged by 3 nodes into a KDDM table, read on node 2:");
            System.out.println(counts);
            System.out.println("same as a count in one JVM: " + counts.equals(local(text)));
            System.out.println("KDDM counters of the table:");
            for (Node n : nodes) {
                SetStats s = n.kddm().stats().stream().filter(t -> t.setId() == SharedWordCount.SET_ID).findFirst().orElseThrow();
                System.out.printf("  node %d: %d hits, %d misses, %d invalidations, %d transfers, %d deferred;"
                                + " buckets held %d, owned %d, backups %d%n", n.id(), s.hits(), s.misses(),
                        s.invalidations(), s.transfers(), s.deferred(), s.objects(), s.owned(), s.backups());
            }
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();                                     // leaving hands the node's buckets to the others
            }
        }
    }

    static Map<String, Long> local(List<String> text) {
        Map<String, Long> m = new TreeMap<>();
        WordCount.count(text).forEach((w, n) -> m.put(w, (long) n));
        return m;
    }
}
