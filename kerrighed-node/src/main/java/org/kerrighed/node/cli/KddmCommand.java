package org.kerrighed.node.cli;

import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmStats;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeStatus;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** {@code krg kddm ...}: the distributed object sets. */
@Command(name = "kddm", mixinStandardHelpOptions = true, description = "Distributed object sets (KDDM).",
        subcommands = KddmCommand.Stats.class)
final class KddmCommand {

    /** One node's answer: its counters, or why it gave none. */
    record NodeStats(int node, KddmStats stats, String error) {
    }

    /** {@code krg kddm stats}: every member's KDDM counters, per set. */
    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = {"Prints every node's KDDM counters, per set: hits, misses, invalidations,",
                    "ownership transfers, deferred requests, bytes moved, objects held, owned, backups."})
    static final class Stats implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = "--json", description = "print JSON instead of a table")
        boolean json;

        @Override
        public Integer call() throws Exception {
            NodeAdmin.ClusterStatus s;
            List<NodeStats> all;
            try (RpcClient seed = tool.connect()) {
                s = NodeAdmin.status(seed, Duration.ofSeconds(10));
                all = ask(s, seed);
            }
            System.out.print(json ? Output.json(toMap(s.epoch(), all)) + "\n" : format(s.epoch(), all));
            int failed = 0;
            for (NodeStats n : all) {
                if (n.error() != null) {
                    System.err.println("node " + n.node() + ": " + n.error());
                    failed++;
                }
            }
            return failed == 0 ? 0 : 1;
        }

        /** Asks every live member, in parallel (the seed through its own connection). */
        private List<NodeStats> ask(NodeAdmin.ClusterStatus s, RpcClient seed) throws InterruptedException {
            List<CompletableFuture<NodeStats>> asks = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (NodeStatus n : s.nodes()) {
                    if (!n.live()) {
                        continue;
                    }
                    asks.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            if (n.nodeId() == seed.server()) {
                                return new NodeStats(n.nodeId(), stats(seed), null);
                            }
                            try (RpcClient c = tool.connect(HostAndPort.parse(n.rpcAddress()))) {
                                return new NodeStats(n.nodeId(), stats(c), null);
                            }
                        } catch (Exception e) {
                            return new NodeStats(n.nodeId(), null, Krg.rootMessage(e));
                        }
                    }, ex));
                }
            }
            List<NodeStats> out = new ArrayList<>();
            for (CompletableFuture<NodeStats> a : asks) {
                out.add(a.join());
            }
            return out;
        }
    }

    /** One node's counters, through a tool connected to it. */
    static KddmStats stats(RpcClient c) throws Exception {
        return c.call(Kddm.STATS, 0L, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
    }

    static final List<String> HEADERS = List.of("NODE", "SET", "HITS", "MISSES", "INVALIDATIONS", "TRANSFERS",
            "DEFERRED", "BYTES MOVED", "OBJECTS", "OWNED", "BACKUPS");

    /** The table row of one set on one node. */
    static List<String> row(int node, SetStats t) {
        return List.of(Integer.toString(node), Long.toUnsignedString(t.setId()), Long.toString(t.hits()),
                Long.toString(t.misses()), Long.toString(t.invalidations()), Long.toString(t.transfers()),
                Long.toString(t.deferred()), Long.toString(t.bytesMoved()), Integer.toString(t.objects()),
                Integer.toString(t.owned()), Integer.toString(t.backups()));
    }

    /** A first line, then one row per node and set; a node without sets (-) or that did not answer (?) gets one row. */
    static String format(long epoch, List<NodeStats> all) {
        List<List<String>> rows = new ArrayList<>();
        for (NodeStats n : all) {
            if (n.error() != null || n.stats().sets().isEmpty()) {
                List<String> r = new ArrayList<>();
                r.add(Integer.toString(n.node()));
                while (r.size() < HEADERS.size()) {
                    r.add(n.error() != null ? "?" : "-");       // ?: no answer (the error is on stderr); -: no sets
                }
                rows.add(r);
            } else {
                for (SetStats t : n.stats().sets()) {
                    rows.add(row(n.node(), t));
                }
            }
        }
        return "epoch " + epoch + ", " + all.size() + " node" + (all.size() == 1 ? "" : "s") + "\n"
                + Output.table(HEADERS, rows);
    }

    static Map<String, Object> toMap(long epoch, List<NodeStats> all) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epoch", epoch);
        List<Object> nodes = new ArrayList<>();
        for (NodeStats n : all) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("node", n.node());
            if (n.error() != null) {
                o.put("error", n.error());
            } else {
                List<Object> sets = new ArrayList<>();
                for (SetStats t : n.stats().sets()) {
                    sets.add(Output.recordMap(t));
                }
                o.put("sets", sets);
            }
            nodes.add(o);
        }
        m.put("nodes", nodes);
        return m;
    }
}
