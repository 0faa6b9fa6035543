package org.kerrighed.examples;

import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.MulticastResult;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The smallest useful cluster program: a text is cut into slices, every node counts the words of its
 * slice (a request to each node, sent as one multicast), and the caller merges the counts.
 *
 * <p>Shows the three things every Kerrighed application does: register its message types in its own id
 * range, register a service on every node, and call it across the cluster.
 *
 * <p>Run {@link #main} with the JVM flags listed in docs/user-guide.md; it starts three nodes in this JVM.
 */
public final class WordCount {
    /** A slice of text for one node: lines [from, to) of the shared text. */
    public record Slice(List<String> lines) {
    }

    /** Word counts of one slice. */
    public record Counts(Map<String, Integer> counts) {
    }

    /** This application's types, in its own id range (applications use 10000 and up). */
    public static final TypeRegistrar TYPES = b -> b.range("wordcount-example", 20_000, 20_009)
            .register(20_000, Slice.class)
            .register(20_001, Counts.class);

    public static final ServiceKey<Slice, Counts> COUNT = ServiceKey.of(1_200, "wordcount.count", Slice.class, Counts.class);

    private WordCount() {
    }

    /** Registers the counting service on a node. */
    public static void serve(RpcNode node) {
        node.register(COUNT, HandlerKind.BLOCKING, (ctx, slice) -> new Counts(count(slice.lines())));
    }

    static Map<String, Integer> count(List<String> lines) {
        Map<String, Integer> m = new HashMap<>();
        for (String line : lines) {
            for (String w : line.toLowerCase(java.util.Locale.ROOT).split("[^\\p{L}']+")) {
                if (!w.isEmpty()) {
                    m.merge(w, 1, Integer::sum);
                }
            }
        }
        return m;
    }

    /** Counts the words of {@code text} using every node of {@code nodes}, asking from {@code caller}. */
    public static Map<String, Integer> countOnCluster(RpcNode caller, List<Integer> nodes, List<String> text)
            throws Exception {
        Map<String, Integer> total = new TreeMap<>();
        int per = (text.size() + nodes.size() - 1) / nodes.size();
        List<java.util.concurrent.CompletableFuture<Counts>> parts = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            List<String> slice = text.subList(Math.min(text.size(), i * per), Math.min(text.size(), (i + 1) * per));
            parts.add(caller.call(nodes.get(i), COUNT, new Slice(new ArrayList<>(slice))));
        }
        for (var part : parts) {
            part.get().counts().forEach((w, n) -> total.merge(w, n, Integer::sum));
        }
        return total;
    }

    /** Sends the whole text to every node at once (a multicast) and checks that all agree. */
    public static boolean allNodesAgree(RpcNode caller, List<Integer> nodes, List<String> text) throws Exception {
        MulticastResult<Counts> r = caller.multicast(nodes, COUNT, new Slice(new ArrayList<>(text)), Duration.ofSeconds(10)).get();
        return r.allSucceeded() && r.replies().values().stream().map(Counts::counts).distinct().count() == 1;
    }

    public static void main(String[] args) throws Exception {
        List<String> text = List.of(
                "Kerrighed offers the view of a unique SMP machine",
                "on top of a cluster of standard PCs",
                "a cluster of JVMs seen as one machine",
                "one process table, one memory, one file tree");
        try (InProcessCluster cluster = InProcessCluster.start(3, b -> b.types(TYPES))) {
            cluster.nodes().forEach(WordCount::serve);
            Map<String, Integer> counts = countOnCluster(cluster.node(0), List.of(0, 1, 2), text);
            System.out.println("word counts from 3 nodes: " + counts);
            System.out.println("all nodes agree on the whole text: " + allNodesAgree(cluster.node(0), List.of(0, 1, 2), text));
        }
    }
}
