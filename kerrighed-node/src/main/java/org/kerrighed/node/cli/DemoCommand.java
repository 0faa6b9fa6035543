package org.kerrighed.node.cli;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.NodeStatus;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code krg demo}: a cluster of separate JVMs on loopback. It shows the membership forming, runs the
 * link probe on every node (each calls every other, then multicasts), kills one node with SIGKILL and
 * times how long the survivors take to declare it failed, probes the survivors again, and stops them
 * gracefully. Every child JVM goes away with the demo, on Ctrl-C too (and if the demo itself is killed,
 * because the children watch their stdin).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs a local cluster of node JVMs with a workload, kills one, stops.",
                "Starts the nodes on loopback, shows the membership forming, has every",
                "node call every other and multicast, kills one node with SIGKILL, shows",
                "the others declaring it failed, and stops the rest gracefully. Takes",
                "about 20 s; no JVM is left behind, on Ctrl-C too."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--nodes", paramLabel = "N", defaultValue = "3", description = "number of nodes, 2-8 (default 3)")
    int nodes;

    @Option(names = "--calls", paramLabel = "N", defaultValue = "500",
            description = "calls per link in each probe (default 500)")
    int calls;

    @Option(names = "--json", description = "print a JSON summary on stdout (the narrative goes to stderr)")
    boolean json;

    private final long t0 = System.nanoTime();
    private final Map<Integer, ChildJvm> jvms = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final Map<Integer, HostAndPort> addresses = new TreeMap<>();
    private PrintStream out;
    private NodeConfig toolConfig;

    @Override
    public Integer call() throws Exception {
        if (nodes < 2 || nodes > 8) {
            throw new IllegalArgumentException("--nodes: must be in 2-8, got " + nodes);
        }
        if (calls < 1 || calls > 100_000) {
            throw new IllegalArgumentException("--calls: must be in 1-100000, got " + calls);
        }
        out = json ? System.err : System.out;
        Path dir = Files.createTempDirectory("krg-demo-");
        Thread cleanup = Thread.ofPlatform().unstarted(() -> {
            if (!jvms.isEmpty()) {
                System.err.printf("%nkrg demo: interrupted; stopping %d node JVM(s)%n", jvms.size());
            }
            killAll();
        });
        Runtime.getRuntime().addShutdownHook(cleanup);          // Ctrl-C: no JVM is left behind
        try {
            Map<String, Object> summary = run(dir);
            if (json) {
                System.out.println(Output.json(summary));
            }
            return 0;
        } finally {
            killAll();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException ignored) {
                // shutting down already
            }
        }
    }

    private Map<String, Object> run(Path dir) throws Exception {
        String cluster = "demo-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Path secretFile = dir.resolve("secret");
        Files.writeString(secretFile, Base64.getEncoder().encodeToString(secret));
        toolConfig = NodeConfig.builder().clusterName(cluster).secretFile(secretFile).jmx(false).build();
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("cluster", cluster);
        summary.put("logs", dir.toString());

        out.printf("krg demo: %d nodes in separate JVMs on loopback, cluster %s (logs in %s)%n%n", nodes, cluster, dir);
        List<Map<String, Object>> joins = new ArrayList<>();
        for (int id = 0; id < nodes; id++) {
            joins.add(startNode(id, cluster, secretFile, dir));
        }
        summary.put("joins", joins);

        NodeAdmin.ClusterStatus status = status(0);
        out.printf("%nMembership as node 0 sees it:%n%s%n", NodesCommand.format(status));

        out.printf("[%5.1fs] warming up the links (the JIT compiles the call path)%n", elapsed());
        for (int id : addresses.keySet()) {
            probe(id, 2000);
        }
        out.printf("Workload: every node calls every other %d times (64-byte echo, one call in flight),%n"
                + "then multicasts once to all the others.%n", calls);
        summary.put("links", probeAll());

        int victim = nodes - 1;
        ChildJvm v = jvms.get(victim);
        out.printf("%n[%5.1fs] killing node %d (SIGKILL, pid %d)%n", elapsed(), victim, v.pid());
        long killedAt = System.nanoTime();
        v.kill();
        summary.put("failure_detection", awaitDeclared(victim, killedAt));
        jvms.remove(victim);
        addresses.remove(victim);

        out.printf("%nMembership after the failure, as node 0 sees it:%n%s%n", NodesCommand.format(status(0)));
        out.printf("Workload on the survivors:%n");
        summary.put("links_after_failure", probeAll());

        out.printf("%n[%5.1fs] stopping the cluster%n", elapsed());
        summary.put("stopped", stopAll());
        out.printf("[%5.1fs] done: every node JVM has exited%n", elapsed());
        return summary;
    }

    private Map<String, Object> startNode(int id, String cluster, Path secretFile, Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("node", "start", "--exit-on-stdin-eof", "--cluster", cluster,
                "--id", Integer.toString(id), "--bind", "127.0.0.1:0", "--membership-bind", "127.0.0.1:0",
                "--secret-file", secretFile.toString()));
        if (!addresses.isEmpty()) {
            args.addAll(List.of("--join", addresses.get(0).toString()));
        }
        long start = System.nanoTime();
        ChildJvm j = ChildJvm.start("node-" + id, Krg.class.getName(),
                List.of("-Xmx256m", "-XX:+UseSerialGC", "-Xss512k"), args, dir);
        jvms.put(id, j);
        String line = j.awaitLine(l -> l.startsWith("node " + id + " online:"), Duration.ofSeconds(60));
        HostAndPort rpc = HostAndPort.parse(field(line, "rpc="));
        addresses.put(id, rpc);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        out.printf("[%5.1fs] node %d online  pid %-7d rpc %-21s epoch %-3s members %s  (JVM start + %s: %d ms)%n",
                elapsed(), id, j.pid(), rpc, field(line, "epoch="), field(line, "members="),
                id == 0 ? "new cluster" : "join through node 0", ms);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", id);
        m.put("pid", j.pid());
        m.put("rpc", rpc.toString());
        m.put("online_ms", ms);
        return m;
    }

    private static String field(String line, String key) {
        int i = line.indexOf(key);
        if (i < 0) {
            return "?";
        }
        int from = i + key.length();
        if (line.startsWith("[", from)) {
            return line.substring(from, line.indexOf(']', from) + 1);
        }
        int end = line.indexOf(' ', from);
        return line.substring(from, end < 0 ? line.length() : end);
    }

    /** Each node in turn probes its links; prints the per-link table and returns its rows. */
    private List<Map<String, Object>> probeAll() throws Exception {
        List<List<String>> rows = new ArrayList<>();
        List<List<String>> multicast = new ArrayList<>();
        List<Map<String, Object>> result = new ArrayList<>();
        for (int id : addresses.keySet()) {
            NodeAdmin.ProbeResult r = probe(id, calls);
            for (NodeAdmin.LinkStats l : r.links()) {
                rows.add(List.of(l.from() + " -> " + l.to(), Integer.toString(l.calls()), Integer.toString(l.errors()),
                        micros(l.p50Micros()), micros(l.p99Micros()), micros(l.maxMicros())));
                result.add(Output.recordMap(l));
            }
            multicast.add(List.of(Integer.toString(r.from()), Integer.toString(r.multicastTargets()),
                    Integer.toString(r.multicastReplies()), micros(r.multicastMicros())));
        }
        out.print(Output.table(List.of("LINK", "CALLS", "ERRORS", "P50", "P99", "MAX"), rows));
        out.print(Output.table(List.of("MULTICAST FROM", "TARGETS", "REPLIES", "TIME"), multicast));
        return result;
    }

    private NodeAdmin.ProbeResult probe(int id, int callsPerLink) throws Exception {
        try (RpcClient c = tool(id)) {
            return c.call(NodeAdmin.PROBE, new NodeAdmin.ProbeRequest(callsPerLink, 64), Duration.ofSeconds(60))
                    .get(90, TimeUnit.SECONDS);
        }
    }

    private static String micros(long us) {
        return us < 0 ? "-" : us < 10_000 ? us + " us" : String.format("%.1f ms", us / 1000.0);
    }

    /** Polls every survivor until it has declared {@code victim} failed; prints when each did. */
    private List<Map<String, Object>> awaitDeclared(int victim, long killedAt) throws Exception {
        List<Map<String, Object>> result = new ArrayList<>();
        Map<Integer, RpcClient> clients = new TreeMap<>();
        try {
            for (int id : addresses.keySet()) {
                if (id != victim) {
                    clients.put(id, tool(id));
                }
            }
            long deadline = killedAt + TimeUnit.SECONDS.toNanos(30);
            while (!clients.isEmpty() && System.nanoTime() < deadline) {
                for (var it = clients.entrySet().iterator(); it.hasNext(); ) {
                    var e = it.next();
                    NodeAdmin.ClusterStatus s = NodeAdmin.status(e.getValue(), Duration.ofSeconds(5));
                    boolean declared = s.nodes().stream().anyMatch(n -> n.nodeId() == victim && n.state().equals("FAILED"));
                    if (declared) {
                        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
                        out.printf("[%5.1fs] node %d declared node %d failed within %d ms (epoch %d, %d members left)%n",
                                elapsed(), e.getKey(), victim, ms, s.epoch(),
                                s.nodes().stream().filter(NodeStatus::live).count());
                        result.add(Map.of("node", e.getKey(), "declared_ms", ms, "epoch", s.epoch()));
                        e.getValue().close();
                        it.remove();
                    }
                }
                Thread.sleep(20);
            }
            if (!clients.isEmpty()) {
                throw new IllegalStateException("nodes " + clients.keySet() + " did not declare node " + victim
                        + " failed within 30 s; see the logs");
            }
            return result;
        } finally {
            clients.values().forEach(RpcClient::close);
        }
    }

    /** Asks each node to leave, the last-started first, and waits for each JVM to exit. */
    private List<Map<String, Object>> stopAll() throws Exception {
        List<Map<String, Object>> result = new ArrayList<>();
        List<Integer> order = new ArrayList<>(addresses.keySet());
        java.util.Collections.reverse(order);
        for (int id : order) {
            long start = System.nanoTime();
            try (RpcClient c = tool(id)) {
                NodeAdmin.stop(c, "krg demo finished", Duration.ofSeconds(5));
            }
            int code = jvms.get(id).waitFor(Duration.ofSeconds(20));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (code < 0) {
                throw new IllegalStateException("node " + id + " did not exit within 20 s of being asked to stop");
            }
            jvms.remove(id);
            out.printf("[%5.1fs] node %d left the cluster and exited (code %d, %d ms)%n", elapsed(), id, code, ms);
            result.add(Map.of("node", id, "exit_code", code, "stop_ms", ms));
        }
        return result;
    }

    private NodeAdmin.ClusterStatus status(int id) throws Exception {
        try (RpcClient c = tool(id)) {
            return NodeAdmin.status(c, Duration.ofSeconds(5));
        }
    }

    private RpcClient tool(int id) {
        return NodeAdmin.connect(toolConfig, addresses.get(id));
    }

    private double elapsed() {
        return (System.nanoTime() - t0) / 1e9;
    }

    private void killAll() {
        for (var it = jvms.values().iterator(); it.hasNext(); ) {
            it.next().terminate(Duration.ofSeconds(3));
            it.remove();
        }
    }
}
