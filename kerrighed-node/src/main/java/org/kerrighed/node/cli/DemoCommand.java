package org.kerrighed.node.cli;

import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.epm.MigrationReport;
import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.kddm.KddmStats;
import org.kerrighed.kddm.ObjState;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.node.DemoWorkload;
import org.kerrighed.node.FsWorkload;
import org.kerrighed.node.PiWorkload;
import org.kerrighed.node.StencilWorkload;
import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.NodeStatus;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.node.SchedAdmin;
import org.kerrighed.node.SchedWorkload;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.scheduler.NodeReport;
import org.kerrighed.scheduler.SchedulerStats;
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
 * link probe on every node (each calls every other, then multicasts), runs heat diffusion on shared memory,
 * computes pi with processes spread over the nodes ({@link PiWorkload}, with a {@code ps} table mid-run, the job
 * checkpointed and killed as {@code krg checkpoint --kill} does and restarted from its checkpoint as
 * {@code krg restart} does, then one worker moved to another node as {@code krg migrate} does), installs the default
 * schedulers and shows the balancer spreading CPU-bound processes started on one node and round robin placing new
 * ones ({@link SchedWorkload}, with the schedulers' counters), moves shared KDDM
 * counters between the nodes ({@link DemoWorkload}: each node writes them in turn, then all at once, then every
 * node reads them) and shows their states and the KDDM counters, has the node about to be killed write a file of
 * the cluster file system with replication 2 and another node read it back ({@link FsWorkload}, with the chunks
 * each node holds), kills that node with SIGKILL and times how long the survivors take to declare it failed,
 * checks that the counters it owned survived with their last values and that every survivor reads the file's
 * bytes, waits briefly for repair to copy its chunks again, probes the survivors again, and stops them gracefully. Every child JVM goes away with the demo, on
 * Ctrl-C too (and if the demo itself is killed, because the children watch their stdin).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs a local cluster of node JVMs with a workload, kills one, stops.",
                "Starts the nodes on loopback, shows the membership forming, has every",
                "node call every other and multicast, runs heat diffusion on shared",
                "memory, computes pi with processes spread over the nodes (showing a ps",
                "table mid-run, checkpointing the job, killing it and restarting it from",
                "its checkpoint, and migrating one worker to another node), installs the",
                "default schedulers and shows the balancer moving processes started on",
                "one node and round robin placing new ones, moves shared KDDM counters",
                "between the nodes, writes a file of the cluster file system with",
                "replication 2 from one node and reads it from another, kills the",
                "writer with SIGKILL, shows the others declaring it failed, the",
                "counters surviving and the file still readable, and stops the rest",
                "gracefully. Takes about 50 s; no JVM is left behind, on Ctrl-C too."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--nodes", paramLabel = "N", defaultValue = "3", description = "number of nodes, 2-8 (default 3)")
    int nodes;

    @Option(names = "--calls", paramLabel = "N", defaultValue = "500",
            description = "calls per link in each probe (default 500)")
    int calls;

    @Option(names = "--counters", paramLabel = "N", defaultValue = "4",
            description = "shared KDDM counters, 1-" + DemoWorkload.MAX_COUNTERS + " (default 4)")
    int counters;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "25",
            description = "times a node writes each counter in its turn, 1-10000 (default 25)")
    int rounds;

    @Option(names = "--points", paramLabel = "N", defaultValue = "200000000",
            description = "random points each pi worker process counts, 1000-1000000000 (default 200000000)")
    long points;

    @Option(names = "--json", description = "print a JSON summary on stdout (the narrative goes to stderr)")
    boolean json;

    private final long t0 = System.nanoTime();
    private final Map<Integer, ChildJvm> jvms = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final Map<Integer, HostAndPort> addresses = new TreeMap<>();
    private PrintStream out;
    private NodeConfig toolConfig;
    private Path checkpoints;

    @Override
    public Integer call() throws Exception {
        if (nodes < 2 || nodes > 8) {
            throw new IllegalArgumentException("--nodes: must be in 2-8, got " + nodes);
        }
        if (calls < 1 || calls > 100_000) {
            throw new IllegalArgumentException("--calls: must be in 1-100000, got " + calls);
        }
        if (counters < 1 || counters > DemoWorkload.MAX_COUNTERS) {
            throw new IllegalArgumentException("--counters: must be in 1-" + DemoWorkload.MAX_COUNTERS + ", got "
                    + counters);
        }
        if (rounds < 1 || rounds > 10_000) {
            throw new IllegalArgumentException("--rounds: must be in 1-10000, got " + rounds);
        }
        if (points < 1000 || points > 1_000_000_000) {
            throw new IllegalArgumentException("--points: must be in 1000-1000000000, got " + points);
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
        checkpoints = dir.resolve("checkpoints");
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
        summary.put("stencil", stencil());
        summary.put("processes", pi());
        summary.put("scheduler", scheduler());
        summary.put("kddm", kddmWorkload(victim));
        summary.put("fs", fileSystem(victim));

        ChildJvm v = jvms.get(victim);
        out.printf("%n[%5.1fs] killing node %d (SIGKILL, pid %d)%n", elapsed(), victim, v.pid());
        long killedAt = System.nanoTime();
        v.kill();
        summary.put("failure_detection", awaitDeclared(victim, killedAt));
        jvms.remove(victim);
        addresses.remove(victim);

        out.printf("%nMembership after the failure, as node 0 sees it:%n%s%n", NodesCommand.format(status(0)));
        summary.put("kddm_after_failure", kddmAfterFailure(victim));
        summary.put("fs_after_failure", fileSystemAfterFailure(victim));
        out.printf("Workload on the survivors:%n");
        summary.put("links_after_failure", probeAll());

        out.printf("%n[%5.1fs] stopping the cluster%n", elapsed());
        summary.put("stopped", stopAll());
        out.printf("[%5.1fs] done: every node JVM has exited%n", elapsed());
        return summary;
    }

    private Map<String, Object> startNode(int id, String cluster, Path secretFile, Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("node", "start", "--exit-on-stdin-eof", "--demo-workload",
                "--cluster", cluster,
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

    // ---------------------------------------------------------------- file system

    /** The demo's file in the cluster file system, its size, its directory's replication and its bytes' seed. */
    private static final String FS_FILE = "/demo/data.bin";
    private static final long FS_BYTES = 16L << 20;
    private static final int FS_REPLICATION = 2;
    private static final long FS_SEED = 905;
    /** How long the demo waits for repair to give every chunk its copies back after the kill. */
    private static final Duration FS_REPAIR_WAIT = Duration.ofSeconds(5);

    /** The SHA-256 of {@link #FS_FILE} as its writer wrote it. */
    private String fsSha256;

    /**
     * The cluster file system: node {@code victim} (killed next) writes {@link #FS_FILE} with replication
     * {@value #FS_REPLICATION} (each chunk's first copy on the writing node, the second on another), the lowest
     * other node reads it back; prints both SHA-256 checks and the storage per node as {@code krg fs status} shows
     * it. Fails when the bytes read differ from the bytes written.
     */
    private Map<String, Object> fileSystem(int victim) throws Exception {
        int reader = addresses.keySet().stream().filter(n -> n != victim).findFirst().orElseThrow();
        out.printf("%n[%5.1fs] File system: one file tree over the nodes' disks, used through java.nio.file. Node %d"
                        + " (to be killed next)%nwrites %s, %s, with replication %d: each chunk has its first copy"
                        + " on the writing node and%na second on another node; node %d reads it back:%n", elapsed(),
                victim, FS_FILE, mib(FS_BYTES), FS_REPLICATION, reader);
        FsWorkload.Report w = fsCall(victim, new FsWorkload.Request(FsWorkload.Op.WRITE, FS_FILE, FS_BYTES, FS_SEED,
                FS_REPLICATION));
        fsSha256 = w.sha256();
        out.printf("[%5.1fs] node %d wrote %s in %s, replication %d, SHA-256 %s...%n", elapsed(), w.node(),
                mib(w.bytes()), rate(w), w.replication(), w.sha256().substring(0, 16));
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("path", FS_FILE);
        result.put("writer", w.node());
        result.put("bytes", w.bytes());
        result.put("replication", w.replication());
        result.put("sha256", w.sha256());
        result.put("write_ms", w.nanos() / 1e6);
        FsWorkload.Report r = fsRead(reader);
        result.put("reads", List.of(readMap(r)));
        out.printf("Storage, as 'krg fs status' shows it:%n");
        result.putAll(storage(r));
        return result;
    }

    /**
     * After the kill: every survivor reads {@link #FS_FILE} (the dead node held a copy of each of its chunks), then
     * the demo waits at most {@link #FS_REPAIR_WAIT} for repair to give every chunk its copies back on the
     * survivors and prints the storage. Fails when a read fails or differs; a repair still running is reported.
     */
    private Map<String, Object> fileSystemAfterFailure(int victim) throws Exception {
        out.printf("%n[%5.1fs] The file system after the kill: node %d held a copy of every chunk of %s; each"
                + " survivor reads it:%n", elapsed(), victim, FS_FILE);
        List<Map<String, Object>> reads = new ArrayList<>();
        for (int id : addresses.keySet()) {
            reads.add(readMap(fsRead(id)));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("reads", reads);
        int first = addresses.keySet().iterator().next();
        long deadline = System.nanoTime() + FS_REPAIR_WAIT.toNanos();
        FsWorkload.Report s = fsCall(first, new FsWorkload.Request(FsWorkload.Op.STATUS, null, 0, 0, 0));
        out.printf("[%5.1fs] Node %d's status: %d of %d chunks under-replicated. Repair copies a chunk left with"
                        + " fewer copies than%nits file asks for to another live node, once the dead node has been"
                        + " gone for fs.repair-delay (2 s)%s%n", elapsed(), first, s.underReplicated(), s.chunks(),
                s.underReplicated() == 0 ? "." : "; waiting at most " + FS_REPAIR_WAIT.toSeconds() + " s:");
        result.put("under_replicated_after_reads", s.underReplicated());
        while (s.underReplicated() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            s = fsCall(first, new FsWorkload.Request(FsWorkload.Op.STATUS, null, 0, 0, 0));
        }
        String outcome;
        if (s.underReplicated() > 0) {
            outcome = "repair still running: " + s.underReplicated() + " chunk(s) under-replicated";
        } else if (s.repairsDone() == 0) {
            outcome = "nothing to repair: every chunk has as many copies as " + addresses.size() + " live node(s)"
                    + " can hold";
        } else {
            outcome = "every chunk has its copies again; repair copied " + s.repairsDone() + " chunk"
                    + (s.repairsDone() == 1 ? "" : "s") + " (" + mib(s.repairBytes()) + ")";
        }
        out.printf("[%5.1fs] %s%n", elapsed(), outcome);
        result.putAll(storage(s));
        result.put("repairs_done", s.repairsDone());
        result.put("repair_bytes", s.repairBytes());
        return result;
    }

    /** Node {@code id} reads {@link #FS_FILE}; prints the read and fails unless its SHA-256 is the writer's. */
    private FsWorkload.Report fsRead(int id) throws Exception {
        FsWorkload.Report r = fsCall(id, new FsWorkload.Request(FsWorkload.Op.READ, FS_FILE, 0, 0, 0));
        boolean same = r.sha256().equals(fsSha256) && r.bytes() == FS_BYTES;
        out.printf("[%5.1fs] node %d read %s in %s: %s%n", elapsed(), r.node(), mib(r.bytes()), rate(r),
                same ? "the same SHA-256" : "DIFFERENT BYTES (SHA-256 " + r.sha256() + ")");
        if (!same) {
            throw new IllegalStateException("node " + id + " read " + r.bytes() + " bytes of " + FS_FILE
                    + " with SHA-256 " + r.sha256() + ", not the " + FS_BYTES + " bytes written (" + fsSha256 + ")");
        }
        return r;
    }

    private static Map<String, Object> readMap(FsWorkload.Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", r.node());
        m.put("bytes", r.bytes());
        m.put("ms", r.nanos() / 1e6);
        m.put("sha256", r.sha256());
        return m;
    }

    /** Prints the storage table of {@code r} and its totals; returns them. */
    private Map<String, Object> storage(FsWorkload.Report r) {
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> nodesJson = new ArrayList<>();
        for (FsWorkload.Storage st : r.storage()) {
            rows.add(List.of(Integer.toString(st.node()), Long.toString(st.chunks()), mib(st.usedBytes())));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", st.node());
            m.put("chunks", st.chunks());
            m.put("used_bytes", st.usedBytes());
            nodesJson.add(m);
        }
        out.print(Output.table(List.of("NODE", "CHUNKS", "USED"), rows));
        out.printf("%d chunks in all files, %d under-replicated, %d lost%n", r.chunks(), r.underReplicated(),
                r.lost());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("storage", nodesJson);
        m.put("chunks", r.chunks());
        m.put("under_replicated", r.underReplicated());
        m.put("lost", r.lost());
        return m;
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    private static String rate(FsWorkload.Report r) {
        return String.format("%.0f ms (%.0f MiB/s)", r.nanos() / 1e6, r.bytes() / 1048576.0 / (r.nanos() / 1e9));
    }

    private FsWorkload.Report fsCall(int id, FsWorkload.Request r) throws Exception {
        try (RpcClient c = tool(id)) {
            return c.call(FsWorkload.SERVICE, r, Duration.ofSeconds(60)).get(70, TimeUnit.SECONDS);
        }
    }

    // ---------------------------------------------------------------- KDDM

    /** The value every counter should have: what the writes so far added up to. */
    private long expected;

    /**
     * Each node writes every counter in turn (ownership follows the writer), then all at once (requests wait
     * for each other: deferred), then each reads them (read copies, the owner READ_OWNER); then the node
     * about to be killed writes each once more, so it owns them all when it dies.
     */
    private Map<String, Object> kddmWorkload(int victim) throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        out.printf("%n[%5.1fs] KDDM: %d shared counters in static set %d (Long values, replication %d, homes round"
                        + " robin)%nTurn by turn, each node writes each counter %d times (grab, add one, close):%n",
                elapsed(), counters, DemoWorkload.SET_ID, DemoWorkload.REPLICATION, rounds);
        Map<Integer, SetStats> before = new TreeMap<>();
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> turns = new ArrayList<>();
        for (int id : addresses.keySet()) {
            DemoWorkload.Report r = demo(id, DemoWorkload.Op.INCREMENT, rounds);
            expected += rounds;
            rows.add(turnRow(r, before.get(id)));
            turns.add(turnMap(r, before.get(id)));
            before.put(id, r.stats());
        }
        out.print(Output.table(TURN_HEADERS, rows));
        result.put("turns", turns);

        out.printf("%n[%5.1fs] All nodes at once, each writing each counter %d times:%n", elapsed(), rounds);
        Map<Integer, java.util.concurrent.Future<DemoWorkload.Report>> all = new TreeMap<>();
        rows.clear();
        List<Map<String, Object>> together = new ArrayList<>();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int id : addresses.keySet()) {
                all.put(id, threads.submit(() -> demo(id, DemoWorkload.Op.INCREMENT, rounds)));
            }
            for (var e : all.entrySet()) {
                DemoWorkload.Report r = e.getValue().get(120, TimeUnit.SECONDS);
                expected += rounds;
                rows.add(turnRow(r, before.get(e.getKey())));
                together.add(turnMap(r, before.get(e.getKey())));
                before.put(e.getKey(), r.stats());
            }
        }
        out.print(Output.table(TURN_HEADERS, rows));
        result.put("concurrent", together);

        out.printf("%n[%5.1fs] Every node reads every counter (a read copy stays on the reader):%n", elapsed());
        for (int id : addresses.keySet()) {
            demo(id, DemoWorkload.Op.READ, 1);
        }
        result.put("after_reads", counterTable(reportAll()));

        out.printf("%n[%5.1fs] Node %d (to be killed next) writes each counter once more: it owns them all,"
                + " and each write is copied to a backup node before its handle closes.%n", elapsed(), victim);
        demo(victim, DemoWorkload.Op.INCREMENT, 1);
        expected += 1;
        Map<Integer, DemoWorkload.Report> reports = reportAll();
        result.put("before_failure", counterTable(reports));
        List<KddmCommand.NodeStats> stats = new ArrayList<>();
        for (DemoWorkload.Report r : reports.values()) {
            stats.add(new KddmCommand.NodeStats(r.node(), new KddmStats(r.node(), List.of(r.stats())), null));
        }
        out.printf("%nKDDM counters of the demo set (what 'krg kddm stats' shows):%n%s",
                KddmCommand.format(reports.values().iterator().next().epoch(), stats));
        result.put("stats", KddmCommand.toMap(reports.values().iterator().next().epoch(), stats).get("nodes"));
        result.put("expected", expected);
        return result;
    }

    /** The survivors read every counter: the ones the dead node owned come back from its backups. */
    private Map<String, Object> kddmAfterFailure(int victim) throws Exception {
        out.printf("[%5.1fs] The survivors read every counter (node %d owned them all when it died):%n", elapsed(),
                victim);
        for (int id : addresses.keySet()) {
            demo(id, DemoWorkload.Op.READ, 1);
        }
        Map<Integer, DemoWorkload.Report> reports = reportAll();
        Map<String, Object> result = counterTable(reports);
        boolean survived = (Boolean) result.get("all_expected");
        out.printf("%s%n", survived ? "Every counter survived the SIGKILL with its last value (" + expected + ")."
                : "SOME COUNTERS DID NOT SURVIVE with their last value (" + expected + ")");
        result.put("survived", survived);
        if (!survived) {
            throw new IllegalStateException("counters lost or stale after node " + victim + " was killed; see the logs");
        }
        return result;
    }

    private static final List<String> TURN_HEADERS = List.of("NODE", "GRABS", "TIME", "PER GRAB", "MISSES",
            "TRANSFERS", "INVALIDATIONS", "DEFERRED", "OWNED WHEN DONE");

    /** A node's turn: its accesses and the counters that changed since {@code before} (null: since start). */
    private static List<String> turnRow(DemoWorkload.Report r, SetStats before) {
        SetStats d = delta(r.stats(), before);
        return List.of(Integer.toString(r.node()), Integer.toString(r.accesses()), micros(r.micros()),
                micros(r.accesses() == 0 ? -1 : r.micros() / r.accesses()), Long.toString(d.misses()),
                Long.toString(d.transfers()), Long.toString(d.invalidations()), Long.toString(d.deferred()),
                owned(r));
    }

    private static Map<String, Object> turnMap(DemoWorkload.Report r, SetStats before) {
        SetStats d = delta(r.stats(), before);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", r.node());
        m.put("grabs", r.accesses());
        m.put("micros", r.micros());
        m.put("misses", d.misses());
        m.put("transfers", d.transfers());
        m.put("invalidations", d.invalidations());
        m.put("deferred", d.deferred());
        m.put("owns", r.counters().stream().filter(c -> ObjState.valueOf(c.state()).owner())
                .map(DemoWorkload.Counter::id).toList());
        return m;
    }

    private static SetStats delta(SetStats now, SetStats before) {
        if (before == null) {
            return now;
        }
        return new SetStats(now.setId(), now.hits() - before.hits(), now.misses() - before.misses(),
                now.invalidations() - before.invalidations(), now.transfers() - before.transfers(),
                now.deferred() - before.deferred(), now.bytesMoved() - before.bytesMoved(), now.objects(),
                now.owned(), now.backups());
    }

    private static String owned(DemoWorkload.Report r) {
        List<String> ids = new ArrayList<>();
        for (DemoWorkload.Counter c : r.counters()) {
            if (ObjState.valueOf(c.state()).owner()) {
                ids.add(Long.toString(c.id()));
            }
        }
        return ids.isEmpty() ? "-" : String.join(",", ids);
    }

    /** Every node's report, without touching the counters. */
    private Map<Integer, DemoWorkload.Report> reportAll() throws Exception {
        Map<Integer, DemoWorkload.Report> m = new TreeMap<>();
        for (int id : addresses.keySet()) {
            m.put(id, demo(id, DemoWorkload.Op.REPORT, 1));
        }
        return m;
    }

    /**
     * Prints one row per counter: its value at its owner and its state (and local value) on every node; returns
     * the same, with whether every owner holds the expected value.
     */
    private Map<String, Object> counterTable(Map<Integer, DemoWorkload.Report> reports) {
        List<String> headers = new ArrayList<>(List.of("COUNTER", "VALUE", "OWNER"));
        for (int id : reports.keySet()) {
            headers.add("NODE " + id);
        }
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> list = new ArrayList<>();
        boolean allExpected = true;
        for (int c = 0; c < counters; c++) {
            long value = -1;
            int owner = -1;
            List<String> cells = new ArrayList<>();
            Map<String, Object> states = new LinkedHashMap<>();
            for (DemoWorkload.Report r : reports.values()) {
                DemoWorkload.Counter k = r.counters().get(c);
                if (ObjState.valueOf(k.state()).owner()) {
                    owner = r.node();
                    value = k.value();
                }
                cells.add(k.value() < 0 ? k.state() : k.state() + " " + k.value());
                Map<String, Object> st = new LinkedHashMap<>();
                st.put("state", k.state());
                st.put("value", k.value());
                states.put(Integer.toString(r.node()), st);
            }
            allExpected &= value == expected;
            List<String> row = new ArrayList<>(List.of(Integer.toString(c), value < 0 ? "?" : Long.toString(value),
                    owner < 0 ? "?" : Integer.toString(owner)));
            row.addAll(cells);
            rows.add(row);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("counter", c);
            m.put("value", value);
            m.put("owner", owner);
            m.put("nodes", states);
            list.add(m);
        }
        out.print(Output.table(headers, rows));
        out.printf("(expected value %d: every node's writes added up; a state without a number holds no copy)%n",
                expected);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("counters", list);
        result.put("all_expected", allExpected);
        return result;
    }

    /**
     * Heat diffusion on cluster shared memory: node 0 makes the plate's two segments, every node computes a band
     * of rows with a cluster barrier per iteration, node 0 checks the result against a single-threaded run.
     */
    private Map<String, Object> stencil() throws Exception {
        int iterations = 60;
        long key = 0x5e7c11L;
        int bands = addresses.size();
        int size = StencilWorkload.SIZE;
        out.printf("%n[%5.1fs] Shared memory and IPC: heat diffusion on a %dx%d plate (Jacobi, %d iterations).%n"
                + "The grid is in two shared-memory segments (one 4 KiB page per row); each node computes a band of"
                + " rows,%nreading its neighbours' boundary rows (page faults), and a cluster barrier ends each"
                + " iteration:%n", elapsed(), size, size, iterations);
        stencilCall(0, new StencilWorkload.Request(StencilWorkload.Op.PREPARE, key, 0, bands, iterations));
        Map<Integer, java.util.concurrent.Future<StencilWorkload.Report>> runs = new TreeMap<>();
        List<Integer> ids = new ArrayList<>(addresses.keySet());
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int band = 0; band < bands; band++) {
                int b = band;
                runs.put(ids.get(b), threads.submit(() -> stencilCall(ids.get(b),
                        new StencilWorkload.Request(StencilWorkload.Op.BAND, key, b, bands, iterations))));
            }
            List<List<String>> rows = new ArrayList<>();
            List<Map<String, Object>> json = new ArrayList<>();
            int band = 0;
            for (var e : runs.entrySet()) {
                StencilWorkload.Report r = e.getValue().get(120, TimeUnit.SECONDS);
                int from = size * band / bands;
                int to = size * (band + 1) / bands;
                band++;
                rows.add(List.of(Integer.toString(r.node()), from + "-" + (to - 1),
                        String.format("%.0f ms", r.nanos() / 1e6), Long.toString(r.faults()),
                        Long.toString(r.invalidations()), String.format("%.1f MiB", r.bytesMoved() / 1048576.0)));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("node", r.node());
                m.put("rows", List.of(from, to - 1));
                m.put("ms", r.nanos() / 1e6);
                m.put("page_faults", r.faults());
                m.put("invalidations", r.invalidations());
                m.put("bytes_moved", r.bytesMoved());
                json.add(m);
            }
            out.print(Output.table(List.of("NODE", "ROWS", "TIME", "PAGE FAULTS", "INVALIDATIONS", "MOVED"), rows));
            StencilWorkload.Report check = stencilCall(0,
                    new StencilWorkload.Request(StencilWorkload.Op.CHECK, key, 0, bands, iterations));
            long slowest = json.stream().mapToLong(m -> (long) ((double) m.get("ms") * 1e6)).max().orElse(1);
            out.printf("Single-threaded on one node: %.0f ms; on the cluster: %.0f ms (speedup %.2f; %d JVMs share"
                            + " this machine's cores).%nSame grid as the single-threaded run: %s%n",
                    check.referenceNanos() / 1e6, slowest / 1e6, (double) check.referenceNanos() / slowest, bands,
                    check.maxError() == 0 ? "yes, bit for bit" : "NO (largest difference " + check.maxError() + ")");
            if (check.maxError() != 0) {
                throw new IllegalStateException("the stencil's grid differs from the single-threaded one by up to "
                        + check.maxError());
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("iterations", iterations);
            result.put("bands", json);
            result.put("single_threaded_ms", check.referenceNanos() / 1e6);
            result.put("max_error", check.maxError());
            return result;
        }
    }

    /**
     * Cluster processes: node 0 starts a pi job (with DISTANT_FORK and CHECKPOINTABLE), which spawns two workers per
     * node that the placement spreads round robin; a ps table once every worker runs (after at least a second, so
     * their CPU times show); the job checkpointed and killed, then restarted from its checkpoint; one worker moved to
     * another node; then the estimate.
     */
    private Map<String, Object> pi() throws Exception {
        int workers = 2 * addresses.size();
        out.printf("%n[%5.1fs] Processes: a Monte Carlo estimate of pi. Node 0 starts a job process with DISTANT_FORK"
                + " and CHECKPOINTABLE%nin its capabilities; it spawns %d worker processes, which the cluster places"
                + " round robin, each counts%nwhich of its %,d random points fall inside the quarter circle and returns"
                + " the count to the job.%n", elapsed(), workers, points);
        long t0 = System.nanoTime();
        int job = piCall(0, new PiWorkload.Request(PiWorkload.Op.START, workers, points, 0, 0, null)).pid();
        List<PiWorkload.Proc> ps = List.of();
        long earliest = t0 + TimeUnit.SECONDS.toNanos(1);
        long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Thread.sleep(Math.max(50, TimeUnit.NANOSECONDS.toMillis(earliest - System.nanoTime())));
            List<PiWorkload.Proc> now = piCall(0, new PiWorkload.Request(PiWorkload.Op.PS, 0, 0, 0, 0, null))
                    .processes();
            long running = now.stream().filter(p -> p.command().startsWith("pi-worker") && p.state() != 'Z').count();
            boolean jobLives = now.stream().anyMatch(p -> p.pid() == job);
            if (running > 0 || ps.isEmpty()) {
                ps = now;
            }
            if (running == workers || !jobLives) {
                break;
            }
        }
        out.printf("[%5.1fs] ps, as 'krg ps' would show it (CPU: the process's thread, on the node it runs on):%n",
                elapsed());
        List<Map<String, Object>> psJson = psTable(ps);
        Map<String, Object> restart = checkpointAndRestart(job);
        if (restart.get("processes") instanceof List<?> again && !again.isEmpty()) {
            ps = piCall(0, new PiWorkload.Request(PiWorkload.Op.PS, 0, 0, 0, 0, null)).processes();
        }
        Map<String, Object> migration = migrateOneWorker(ps);
        PiWorkload.Report end = piCall(0, new PiWorkload.Request(PiWorkload.Op.WAIT, 0, 0, job, 120_000, null));
        if (end.exit() == null || end.result() == null) {
            throw new IllegalStateException("the pi job (process " + job + ") "
                    + (end.exit() == null ? "did not end within 2 minutes" : end.exit()) + "; see the logs");
        }
        PiWorkload.Result r = end.result();
        double ms = (System.nanoTime() - t0) / 1e6;
        out.printf("[%5.1fs] pi is about %.6f (off by %.6f): %,d of %,d points inside, counted by %d processes"
                        + " started on nodes %s in %.1f s%s%s%n", elapsed(), r.pi(), Math.abs(r.pi() - Math.PI), r.hits(),
                r.samples(), workers, r.workerNodes(), ms / 1000, restart.get("restarted_ms") == null ? ""
                        : String.format(";%nthe job was checkpointed, killed and restarted from its checkpoint on the"
                        + " way, and went on from where it was saved"), migration.get("node") == null ? ""
                        : String.format(";%nprocess %s finished on node %s, its count the same as if it had not moved",
                        migration.get("pid"), migration.get("node")));
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("job", job);
        result.put("workers", workers);
        result.put("points_per_worker", points);
        result.put("ps", psJson);
        result.put("restart", restart);
        result.put("migration", migration);
        result.put("worker_nodes", r.workerNodes());
        result.put("hits", r.hits());
        result.put("pi", r.pi());
        result.put("error", Math.abs(r.pi() - Math.PI));
        result.put("ms", ms);
        return result;
    }

    /** Prints processes as a ps table (PID, PPID, NODE, S, CPU, COMMAND) and returns them as JSON maps. */
    private List<Map<String, Object>> psTable(List<PiWorkload.Proc> ps) {
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> psJson = new ArrayList<>();
        for (PiWorkload.Proc p : ps) {
            rows.add(List.of(Integer.toString(p.pid()), Integer.toString(p.ppid()), Integer.toString(p.node()),
                    String.valueOf(p.state()), p.cpuMillis() + " ms", p.command()));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pid", p.pid());
            m.put("ppid", p.ppid());
            m.put("node", p.node());
            m.put("state", String.valueOf(p.state()));
            m.put("cpu_ms", p.cpuMillis());
            m.put("command", p.command());
            psJson.add(m);
        }
        out.print(Output.table(List.of("PID", "PPID", "NODE", "S", "CPU", "COMMAND"), rows));
        return psJson;
    }

    /**
     * Checkpoints the pi job and kills it, as {@code krg checkpoint --kill} does (node 0 writes the files under the
     * demo's directory), shows it gone, restarts it from the checkpoint on node 0 (as {@code krg restart} does, with
     * the pi service keeping the restarted root's handle so that the demo can wait for its answer) and shows the
     * restarted processes. A job that ended before the checkpoint, or a checkpoint refused (the job then goes on),
     * is printed and the demo goes on. Returns {@code checkpoint} (the report's fields), {@code restarted_ms}
     * and {@code processes} (the restarted ones), or {@code stopped} (why not).
     */
    private Map<String, Object> checkpointAndRestart(int job) throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        out.printf("[%5.1fs] Checkpoint/restart: the job and its workers are CHECKPOINTABLE and keep their progress in"
                + " their fields.%nNode 0 freezes each of them at its next safe point, writes their states to its disk"
                + " and kills them,%nas 'krg checkpoint --kill %d --dir %s' does:%n", elapsed(), job, checkpoints);
        CheckpointReport saved;
        try (RpcClient c = tool(0)) {
            saved = ProcessAdmin.checkpoint(c, new ProcessAdmin.CheckpointRequest(job, checkpoints.toString(), true,
                    false, "krg demo"), CheckpointCommand.TIMEOUT);
        } catch (NoSuchProcessException e) {
            out.printf("[%5.1fs] the job had ended already: not checkpointed%n", elapsed());
            m.put("stopped", e.getMessage());
            return m;
        } catch (KerrighedException | PermissionDeniedException e) {
            out.printf("[%5.1fs] not checkpointed, the job goes on: %s%n", elapsed(), e.getMessage());
            m.put("stopped", e.getMessage());
            return m;
        }
        out.printf("%s%n", Processes.checkpointLines(saved, true).indent(2).stripTrailing());
        m.put("checkpoint", CheckpointCommand.toMap(saved, true));
        PiWorkload.Report killed = piCall(0, new PiWorkload.Request(PiWorkload.Op.WAIT, 0, 0, job, 20_000, null));
        List<PiWorkload.Proc> left = piCall(0, new PiWorkload.Request(PiWorkload.Op.PS, 0, 0, 0, 0, null)).processes()
                .stream().filter(p -> saved.pids().contains(p.pid())).toList();
        out.printf("[%5.1fs] the job %s; ps lists %s of its processes%n", elapsed(),
                killed.exit() == null ? "has not ended yet" : "ended: " + killed.exit(), left.isEmpty() ? "none"
                        : left.size());
        long start = System.nanoTime();
        PiWorkload.Report again;
        try {
            again = piCall(0, new PiWorkload.Request(PiWorkload.Op.RESTART, 0, 0, 0, 0,
                    saved.directory().toString()));
        } catch (java.util.concurrent.ExecutionException | KerrighedException e) {
            String why = Krg.rootMessage(e);
            out.printf("[%5.1fs] not restarted: %s%n", elapsed(), why);
            m.put("stopped", why);
            return m;
        }
        double ms = (System.nanoTime() - start) / 1e6;
        out.printf("[%5.1fs] node 0 restarted it in %.0f ms, as 'krg restart %s' does:%nthe same pids, each on"
                + " the node it ran on, going on from its saved state (CPU time included):%n", elapsed(), ms,
                saved.directory());
        m.put("restarted_ms", ms);
        m.put("processes", psTable(again.processes()));
        return m;
    }

    /**
     * Moves the pi worker of {@code ps} with the most work left (the least CPU time used) to another node (the
     * last node, or the first for a worker there), then on to a third node (or back, with two nodes), with
     * {@code krg migrate}'s service, and prints each report and where {@code ps} sees the worker at the end. A
     * worker that ended meanwhile, or a move that failed (the worker then goes on where it was), is printed and the
     * demo goes on.
     * Returns {@code pid}, {@code moves} (the reports' fields), {@code node} (where it runs after them, null if
     * none) and {@code stopped} (why it moved less than twice, or null).
     */
    private Map<String, Object> migrateOneWorker(List<PiWorkload.Proc> ps) throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Map<String, Object>> moves = new ArrayList<>();
        PiWorkload.Proc w = ps.stream().filter(p -> p.command().startsWith("pi-worker") && p.state() != 'Z')
                .min(java.util.Comparator.comparingLong(PiWorkload.Proc::cpuMillis)).orElse(null);
        m.put("pid", w == null ? null : w.pid());
        m.put("moves", moves);
        m.put("node", null);
        m.put("stopped", null);
        if (w == null) {
            out.printf("[%5.1fs] Migration: every worker has ended already, none to move%n", elapsed());
            m.put("stopped", "every worker has ended");
            return m;
        }
        int first = java.util.Collections.min(addresses.keySet());
        int last = java.util.Collections.max(addresses.keySet());
        int to = w.node() == last ? first : last;
        int then = addresses.keySet().stream().filter(n -> n != w.node() && n != to).findFirst().orElse(w.node());
        out.printf("[%5.1fs] Migration: the workers are step programs with CAN_MIGRATE; their state (points counted,"
                        + " hits, generator)%ntravels between two steps. %s (process %d) moves from node %d to node %d,"
                        + " then to node %d, as 'krg migrate'%ndoes:%n",
                elapsed(), w.command(), w.pid(), w.node(), to, then);
        try (RpcClient c = tool(first)) {
            for (int target : List.of(to, then)) {
                MigrationReport r = ProcessAdmin.migrate(c, w.pid(), target, MigrateCommand.TIMEOUT);
                out.printf("[%5.1fs] %s%n", elapsed(), Processes.migrationLine(r));
                moves.add(MigrateCommand.toMap(r));
                m.put("node", r.to());
            }
        } catch (NoSuchProcessException e) {
            out.printf("[%5.1fs] %s had ended already: %s%n", elapsed(), w.command(),
                    moves.isEmpty() ? "not moved" : "no second move");
            m.put("stopped", e.getMessage());
        } catch (KerrighedException | PermissionDeniedException e) {
            out.printf("[%5.1fs] %s not moved%s, it goes on where it was: %s%n", elapsed(), w.command(),
                    moves.isEmpty() ? "" : " again", e.getMessage());
            m.put("stopped", e.getMessage());
        }
        piCall(first, new PiWorkload.Request(PiWorkload.Op.PS, 0, 0, 0, 0, null)).processes().stream()
                .filter(p -> p.pid() == w.pid() && p.state() != 'Z').findFirst()
                .ifPresent(p -> out.printf("[%5.1fs] ps: process %d (%s) runs on node %d, state %s%n", elapsed(),
                        p.pid(), p.command(), p.node(), p.state()));
        return m;
    }

    // ---------------------------------------------------------------- scheduler

    /** CPU-bound processes the balancer spreads: how many, how many steps, how long each. */
    private static final int SPIN_PROCESSES = 6;
    private static final int SPIN_STEPS = 400;
    private static final int SPIN_STEP_MILLIS = 10;
    /** Short processes the round-robin scheduler places, one per node. */
    private static final int PLACED_STEPS = 20;

    /**
     * The cluster-wide scheduler: installs Kerrighed's defaults (as {@code krg sched defaults} does) and shows the
     * graph; node 0 starts {@value #SPIN_PROCESSES} CPU-bound processes with {@code CAN_MIGRATE}, all on itself, and
     * the {@code mosix} balancer moves some to the other nodes (each move printed as {@code ps} sees it); a table of
     * where each started and ended; then one short process per node started without a node, which {@code rr} places
     * round robin; then the schedulers' counters ({@code krg sched stats}). Every process must end with all its
     * steps run once.
     */
    private Map<String, Object> scheduler() throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        out.printf("%n[%5.1fs] Scheduler: until one is configured nothing moves automatically. 'krg sched defaults'"
                + " installs Kerrighed's%ndefault schedulers: rr places new processes round robin, mosix balances the"
                + " load by migration:%n", elapsed());
        SchedAdmin.Info info;
        try (RpcClient c = tool(0)) {
            Duration timeout = Duration.ofSeconds(30);
            long version = SchedAdmin.change(c, List.of("defaults"), timeout);
            SchedAdmin.Applied applied = SchedAdmin.awaitApplied(c, version, Duration.ofSeconds(10), timeout);
            if (!applied.all()) {
                throw new IllegalStateException("nodes " + applied.behind() + " did not apply the default schedulers"
                        + " in 10 s; see the logs");
            }
            info = SchedAdmin.info(c, false, timeout);
            out.print(info.config().describe().indent(2));
            out.printf("[%5.1fs] configuration version %d, applied by every node (%s)%n", elapsed(), version,
                    SchedCommand.join(applied.members()));
            result.put("version", version);
        }

        out.printf("%n[%5.1fs] Node 0 starts %d CPU-bound processes (%d steps of %d ms each) with CAN_MIGRATE, all on"
                        + " node 0:%n", elapsed(), SPIN_PROCESSES, SPIN_STEPS, SPIN_STEP_MILLIS);
        List<SchedWorkload.Proc> spins = schedCall(0, new SchedWorkload.Request(SchedWorkload.Op.START,
                SPIN_PROCESSES, SPIN_STEPS, SPIN_STEP_MILLIS, 0, "spin", List.of(), 0)).processes();
        List<Integer> pids = spins.stream().map(SchedWorkload.Proc::pid).toList();
        Map<Integer, Integer> where = new TreeMap<>();
        spins.forEach(p -> where.put(p.pid(), p.startNode()));
        out.print(Output.table(List.of("PID", "NODE", "COMMAND"), spins.stream().map(p -> List.of(
                Integer.toString(p.pid()), Integer.toString(p.startNode()), "spin")).toList()));
        out.printf("[%5.1fs] The mosix balancer of node 0 sees its load rise and moves processes to the least loaded"
                + " nodes (ps every 200 ms):%n", elapsed());
        List<Map<String, Object>> moves = watchMoves(pids, where);
        result.put("moves_seen", moves);

        List<SchedWorkload.Proc> ended = schedCall(0, new SchedWorkload.Request(SchedWorkload.Op.WAIT, 0, 0, 0,
                SpawnOptions.ANY_NODE, null, pids, 60_000)).processes();
        List<List<String>> rows = new ArrayList<>();
        List<Map<String, Object>> procs = new ArrayList<>();
        for (SchedWorkload.Proc p : ended) {
            SchedWorkload.Result r = p.result();
            rows.add(List.of(Integer.toString(p.pid()), Integer.toString(p.startNode()),
                    r == null ? "-" : Integer.toString(r.moves()), r == null ? "-" : Integer.toString(r.node()),
                    r == null ? "-" : Integer.toString(r.steps()), String.valueOf(p.status())));
            procs.add(procMap(p));
        }
        out.printf("[%5.1fs] Where they ran:%n", elapsed());
        out.print(Output.table(List.of("PID", "STARTED ON", "MOVES", "ENDED ON", "STEPS", "STATUS"), rows));
        result.put("processes", procs);
        checkEnded(ended, SPIN_STEPS);

        int n = addresses.size();
        out.printf("%n[%5.1fs] Node 0 starts %d short processes without naming a node: scheduler rr places them:%n",
                elapsed(), n);
        List<SchedWorkload.Proc> placed = schedCall(0, new SchedWorkload.Request(SchedWorkload.Op.START, n,
                PLACED_STEPS, SPIN_STEP_MILLIS, SpawnOptions.ANY_NODE, "placed", List.of(), 0)).processes();
        out.print(Output.table(List.of("PID", "NODE", "COMMAND"), placed.stream().map(p -> List.of(
                Integer.toString(p.pid()), Integer.toString(p.startNode()), "placed")).toList()));
        List<SchedWorkload.Proc> placedEnded = schedCall(0, new SchedWorkload.Request(SchedWorkload.Op.WAIT, 0, 0, 0,
                SpawnOptions.ANY_NODE, null, placed.stream().map(SchedWorkload.Proc::pid).toList(), 30_000))
                .processes();
        checkEnded(placedEnded, PLACED_STEPS);
        result.put("placed", placedEnded.stream().map(DemoCommand::procMap).toList());

        List<NodeReport> reports;
        try (RpcClient c = tool(0)) {
            reports = SchedAdmin.info(c, true, Duration.ofSeconds(30)).reports();
        }
        long migrations = 0;
        long placements = 0;
        List<Map<String, Object>> stats = new ArrayList<>();
        for (NodeReport r : reports) {
            for (SchedulerStats st : r.schedulers()) {
                migrations += st.migrations();
                placements += st.placements();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("node", r.node());
                m.put("scheduler", st.scheduler());
                m.put("decisions", st.decisions());
                m.put("placements", st.placements());
                m.put("migrations", st.migrations());
                m.put("failed_moves", st.failed());
                stats.add(m);
            }
        }
        out.printf("[%5.1fs] The schedulers' counters, as 'krg sched stats' shows them:%n%s", elapsed(),
                SchedText.stats(reports));
        out.printf("[%5.1fs] %d migration%s and %d placement%s by the schedulers; every process ran each of its steps"
                        + " once%s%n", elapsed(), migrations, migrations == 1 ? "" : "s", placements,
                placements == 1 ? "" : "s", migrations == 0 ? " (none moved: the machine was too busy for the"
                        + " balancer to act in time)" : "");
        result.put("stats", stats);
        result.put("migrations", migrations);
        result.put("placements", placements);
        return result;
    }

    /**
     * Polls {@code ps} every 200 ms until processes {@code pids} have all ended (at most 60 s), printing each move
     * ({@code where}: each one's node so far); returns the moves seen.
     */
    private List<Map<String, Object>> watchMoves(List<Integer> pids, Map<Integer, Integer> where) throws Exception {
        List<Map<String, Object>> moves = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (RpcClient c = tool(0)) {
            while (System.nanoTime() < deadline) {
                boolean running = false;
                for (ProcessInfo p : ProcessAdmin.ps(c, -1, Duration.ofSeconds(10))) {
                    Integer before = where.get(p.pid());
                    if (before == null || p.exit() != null) {
                        continue;
                    }
                    running = true;
                    if (p.node() != before) {
                        out.printf("[%5.1fs] process %d moved from node %d to node %d%n", elapsed(), p.pid(), before,
                                p.node());
                        moves.add(Map.of("pid", p.pid(), "from", before, "to", p.node()));
                        where.put(p.pid(), p.node());
                    }
                }
                if (!running) {
                    break;
                }
                Thread.sleep(200);
            }
        }
        return moves;
    }

    /** Fails unless every process exited 0 having run {@code steps} steps. */
    private static void checkEnded(List<SchedWorkload.Proc> ended, int steps) {
        for (SchedWorkload.Proc p : ended) {
            if (p.result() == null || p.result().steps() != steps) {
                throw new IllegalStateException("process " + p.pid() + " " + (p.status() == null
                        ? "did not end in time" : p.status() + (p.result() == null ? "" : " after "
                        + p.result().steps() + " steps, not " + steps)) + "; see the logs");
            }
        }
    }

    private static Map<String, Object> procMap(SchedWorkload.Proc p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", p.pid());
        m.put("started_on", p.startNode());
        m.put("status", p.status());
        m.put("ended_on", p.result() == null ? null : p.result().node());
        m.put("moves", p.result() == null ? null : p.result().moves());
        m.put("steps", p.result() == null ? null : p.result().steps());
        return m;
    }

    private SchedWorkload.Report schedCall(int id, SchedWorkload.Request r) throws Exception {
        try (RpcClient c = tool(id)) {
            return c.call(SchedWorkload.SERVICE, r, Duration.ofSeconds(70)).get(80, TimeUnit.SECONDS);
        }
    }

    private PiWorkload.Report piCall(int id, PiWorkload.Request r) throws Exception {
        try (RpcClient c = tool(id)) {
            return c.call(PiWorkload.SERVICE, r, Duration.ofSeconds(130)).get(140, TimeUnit.SECONDS);
        }
    }

    private StencilWorkload.Report stencilCall(int id, StencilWorkload.Request r) throws Exception {
        try (RpcClient c = tool(id)) {
            return c.call(StencilWorkload.SERVICE, r, Duration.ofSeconds(110)).get(120, TimeUnit.SECONDS);
        }
    }

    private DemoWorkload.Report demo(int id, DemoWorkload.Op op, int times) throws Exception {
        try (RpcClient c = tool(id)) {
            return c.call(DemoWorkload.SERVICE, new DemoWorkload.Request(op, counters, times), Duration.ofSeconds(90))
                    .get(100, TimeUnit.SECONDS);
        }
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
