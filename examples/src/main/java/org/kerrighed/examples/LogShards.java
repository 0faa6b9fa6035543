package org.kerrighed.examples;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.fs.FsStatus;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.io.BufferedWriter;
import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A small log-processing job on the cluster file system: processes on every node write their shard of a web
 * server's access log into one directory, and a process on another node finds the shards with a glob, reads them
 * back and aggregates them. Every file operation is plain {@code java.nio.file} ({@code Files.newBufferedWriter},
 * {@code Files.newDirectoryStream(dir, "shard-*.log")}, {@code Files.lines}, {@code Files.list}).
 *
 * <p>A {@link Job} process lists the cluster's nodes in {@code /proc/nodes} (as {@code ls /proc/nodes} would),
 * starts one {@link Writer} on each node ({@code SpawnOptions.onNode}; the job has {@code DISTANT_FORK}), and
 * each writes {@code /jobs/JOB/shard-N.log}: lines of {@code time client path status bytes}, generated from a seed
 * and its node, so the same log can be made again in memory ({@link AccessLog}). Once all have ended, the job
 * starts an {@link Aggregator} on another node than its own, which counts the requests per status, the requests
 * and bytes per path, and the top paths ({@link Summary}).
 *
 * <p><b>Naming the file system from a process.</b> A process has no {@code Node} object ({@code node.fs()} is for
 * code that started the node), so it opens paths by URI. On a cluster whose nodes each run in a JVM of their own
 * ({@code krg node start}), {@code Path.of(URI.create("krg://CLUSTER/jobs/x"))} names the file system of the node
 * the process runs on, and is all a program needs. This example runs its three nodes in one JVM, where
 * {@code krg://CLUSTER/...} names the node opened first; so each process names its own node,
 * {@code krg://N@CLUSTER/...} with N = {@link ProcessContext#node()} ({@link #jobDirectory}), which means the same
 * in both settings. It matters for where the data goes: a new chunk's first copy is on the node that writes it,
 * so each shard has a copy on its writer's node and another on a second node (replication 2), and the aggregator
 * reads the shards of other nodes over the network.
 *
 * <p>Run {@link #main} (see examples/README.md): it starts three real nodes in this JVM on loopback, runs the job,
 * and checks the aggregate against the same computation done in memory. See docs/fs.md.
 */
public final class LogShards {
    /** The glob that picks the shards out of the job's directory. */
    public static final String SHARD_GLOB = "shard-*.log";

    private static final Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** This example's types, in its own id range: the programs and their results (every node registers them). */
    public static final TypeRegistrar TYPES = b -> b.range("log-shards-example", 20_060, 20_069)
            .register(20_060, Job.class)
            .register(20_061, Writer.class)
            .register(20_062, Aggregator.class)
            .register(20_063, Shard.class)
            .register(20_064, Summary.class)
            .register(20_065, Report.class);

    /** How often the programs reach a safe point: every 4,096 lines. */
    static final int SAFEPOINT_EVERY = 1 << 12;

    private LogShards() {
    }

    /**
     * Directory {@code /jobs/JOB} of the cluster file system as node {@code node}'s file system names it:
     * {@code krg://NODE@CLUSTER/jobs/JOB}.
     *
     * @throws IllegalArgumentException when {@code job} is not 1-64 letters, digits, dots, dashes or underscores
     * @throws java.nio.file.FileSystemNotFoundException when node {@code node} of {@code cluster} has no open file
     *                                                    system in this JVM
     */
    public static Path jobDirectory(String cluster, int node, String job) {
        return Path.of(URI.create("krg://" + node + "@" + cluster + "/jobs/" + checkJobName(job)));
    }

    private static String checkJobName(String job) {
        if (job == null || !JOB_NAME.matcher(job).matches()) {
            throw new IllegalArgumentException("job name '" + job + "': 1-64 letters, digits, '.', '-' or '_'");
        }
        return job;
    }

    /** The shard a writer on {@code node} writes in {@code dir}. */
    public static Path shard(Path dir, int node) {
        return dir.resolve("shard-" + node + ".log");
    }

    /**
     * A shard as its writer left it.
     *
     * @param node  the node its writer ran on
     * @param path  its path in the cluster file system
     * @param lines lines written
     * @param bytes its size
     */
    public record Shard(int node, String path, long lines, long bytes) {
    }

    /**
     * An aggregate of access-log lines. Equal aggregates of the same lines in any order.
     *
     * @param files             shards read (0 for lines made in memory)
     * @param requests          lines
     * @param bytes             bytes sent, all lines
     * @param requestsPerStatus lines per HTTP status
     * @param requestsPerPath   lines per path
     * @param bytesPerPath      bytes sent per path
     */
    public record Summary(int files, long requests, long bytes, Map<Integer, Long> requestsPerStatus,
                          Map<String, Long> requestsPerPath, Map<String, Long> bytesPerPath) {
        public Summary {
            requestsPerStatus = new TreeMap<>(requestsPerStatus);
            requestsPerPath = new TreeMap<>(requestsPerPath);
            bytesPerPath = new TreeMap<>(bytesPerPath);
        }

        /** The {@code n} paths with the most requests, most first (ties by path). */
        public List<String> topPaths(int n) {
            return requestsPerPath.entrySet().stream()
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed()
                            .thenComparing(Map.Entry.comparingByKey()))
                    .limit(n).map(Map.Entry::getKey).toList();
        }

        /** The same figures, with {@code files} set to {@code n}. */
        public Summary withFiles(int n) {
            return new Summary(n, requests, bytes, requestsPerStatus, requestsPerPath, bytesPerPath);
        }
    }

    /** What the job returns: the shards (by node), the node the aggregator ran on, and its summary. */
    public record Report(List<Shard> shards, int readerNode, Summary summary) {
        public Report {
            shards = new ArrayList<>(shards);
        }
    }

    /**
     * Writes {@code lines} lines of node {@code ctx.node()}'s log ({@link AccessLog} with {@code seed}) to
     * {@code shard-N.log} in the job's directory, replacing an older one; sets the {@link Shard} as result.
     */
    public record Writer(String cluster, String job, int lines, long seed) implements Program {
        @Override
        public int run(ProcessContext ctx) throws IOException {
            Path shard = shard(jobDirectory(cluster, ctx.node(), job), ctx.node());
            AccessLog log = new AccessLog(ctx.node(), seed);
            try (BufferedWriter out = Files.newBufferedWriter(shard)) {
                for (int i = 0; i < lines; i++) {
                    if (i % SAFEPOINT_EVERY == 0) {
                        ctx.safepoint();
                    }
                    out.write(log.next());
                    out.newLine();
                }
            }
            ctx.setResult(new Shard(ctx.node(), shard.toString(), lines, Files.size(shard)));
            return 0;
        }
    }

    /**
     * Lists the job's directory with {@link #SHARD_GLOB}, reads every shard with {@code Files.lines} and sets the
     * {@link Summary} of all their lines as result.
     */
    public record Aggregator(String cluster, String job) implements Program {
        @Override
        public int run(ProcessContext ctx) throws IOException {
            Tally tally = new Tally();
            int files = 0;
            try (DirectoryStream<Path> shards = Files.newDirectoryStream(jobDirectory(cluster, ctx.node(), job),
                    SHARD_GLOB)) {
                for (Path shard : shards) {
                    try (Stream<String> lines = Files.lines(shard)) {
                        lines.forEach(line -> {
                            tally.add(line);
                            if (tally.requests % SAFEPOINT_EVERY == 0) {
                                ctx.safepoint();
                            }
                        });
                    }
                    files++;
                }
            }
            ctx.setResult(tally.summary().withFiles(files));
            return 0;
        }
    }

    /**
     * Creates the job's directory, starts a {@link Writer} of {@code linesPerShard} lines on every node listed in
     * {@code /proc/nodes}, waits for them, then runs an {@link Aggregator} on another node (the highest other
     * than its own, or its own on a one-node cluster) and sets the {@link Report} as result. Exits with 1 when a
     * child failed (a failed writer leaves the others running as orphans).
     */
    public record Job(String cluster, String job, int linesPerShard, long seed) implements Program {
        /** @throws IllegalArgumentException on a bad job name or a negative line count */
        public Job {
            checkJobName(job);
            if (linesPerShard < 0) {
                throw new IllegalArgumentException("lines per shard: " + linesPerShard + " is negative");
            }
        }

        @Override
        public int run(ProcessContext ctx) throws IOException, InterruptedException {
            Path dir = Files.createDirectories(jobDirectory(cluster, ctx.node(), job));
            List<Integer> nodes = nodes(dir.getFileSystem().getPath("/proc/nodes"));
            for (int n : nodes) {
                ctx.spawn(new Writer(cluster, job, linesPerShard, seed),
                        SpawnOptions.defaults().onNode(n).name("log-writer " + n));
            }
            List<Shard> shards = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (e.status().code() != 0) {
                    ctx.out().println("writer " + e.pid() + " " + e.status());
                    return 1;
                }
                shards.add((Shard) e.result());
            }
            shards.sort(Comparator.comparingInt(Shard::node));
            int reader = nodes.stream().filter(n -> n != ctx.node()).reduce((a, b) -> b).orElse(ctx.node());
            ClusterProcess aggregator = ctx.spawn(new Aggregator(cluster, job),
                    SpawnOptions.defaults().onNode(reader).name("log-aggregator"));
            ExitStatus s = ctx.waitFor(aggregator.pid());
            if (s.code() != 0) {
                ctx.out().println("aggregator " + aggregator.pid() + " " + s);
                return 1;
            }
            ctx.setResult(new Report(shards, reader, (Summary) aggregator.result().orElseThrow()));
            return 0;
        }

        /** The node ids listed in {@code procNodes}, ascending. */
        private static List<Integer> nodes(Path procNodes) throws IOException {
            try (Stream<Path> s = Files.list(procNodes)) {
                return s.map(p -> Integer.parseInt(p.getFileName().toString())).sorted().toList();
            }
        }
    }

    /**
     * The synthetic access log of one node: {@code time client path status bytes} lines, the same for the same
     * node and seed. Paths and statuses are skewed (a few paths take most requests; most answers are 200). Not
     * thread-safe.
     */
    public static final class AccessLog {
        static final List<String> PATHS = List.of("/", "/index.html", "/search", "/api/items", "/static/app.js",
                "/static/style.css", "/img/logo.png", "/login", "/cart", "/checkout", "/api/users", "/favicon.ico");
        /** Relative weight of each path of {@link #PATHS}. */
        private static final int[] PATH_WEIGHTS = {30, 22, 14, 10, 8, 6, 4, 2, 1, 1, 1, 1};
        /** Typical response size of each path of {@link #PATHS}. */
        private static final int[] PATH_BYTES = {5_120, 18_432, 9_216, 2_048, 180_224, 24_576, 40_960, 3_072, 6_144,
                7_168, 1_024, 1_150};
        private static final int[] STATUSES = {200, 304, 404, 500, 503};
        private static final int[] STATUS_WEIGHTS = {80, 10, 6, 3, 1};
        private static final long START_MILLIS = Instant.parse("2025-06-01T00:00:00Z").toEpochMilli();

        private final int node;
        private final SplittableRandom random;
        private long millis = START_MILLIS;

        public AccessLog(int node, long seed) {
            this.node = node;
            this.random = new SplittableRandom(seed * 1_000_003 + node);
        }

        /** The next line, without a line separator. */
        public String next() {
            millis += random.nextInt(1, 20);
            int path = pick(PATH_WEIGHTS);
            int status = STATUSES[pick(STATUS_WEIGHTS)];
            int bytes = switch (status) {
                case 200 -> PATH_BYTES[path] + random.nextInt(PATH_BYTES[path] / 4 + 1);
                case 304 -> 0;
                default -> 150 + random.nextInt(350);
            };
            return Instant.ofEpochMilli(millis) + " 10." + node + "." + random.nextInt(256) + "."
                    + random.nextInt(1, 255) + " " + PATHS.get(path) + " " + status + " " + bytes;
        }

        private int pick(int[] weights) {
            int total = 0;
            for (int w : weights) {
                total += w;
            }
            int r = random.nextInt(total);
            for (int i = 0; ; i++) {
                r -= weights[i];
                if (r < 0) {
                    return i;
                }
            }
        }
    }

    /** Adds access-log lines up into a {@link Summary}. Not thread-safe. */
    public static final class Tally {
        private long requests;
        private long bytes;
        private final Map<Integer, Long> perStatus = new TreeMap<>();
        private final Map<String, Long> perPath = new TreeMap<>();
        private final Map<String, Long> bytesPerPath = new TreeMap<>();

        /** Counts one {@code time client path status bytes} line. @throws IllegalArgumentException on another line */
        public void add(String line) {
            String[] f = line.split(" ");
            if (f.length != 5) {
                throw new IllegalArgumentException("not a 'time client path status bytes' line: '" + line + "'");
            }
            int status;
            long sent;
            try {
                status = Integer.parseInt(f[3]);
                sent = Long.parseLong(f[4]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad status or byte count in '" + line + "'", e);
            }
            requests++;
            bytes += sent;
            perStatus.merge(status, 1L, Long::sum);
            perPath.merge(f[2], 1L, Long::sum);
            bytesPerPath.merge(f[2], sent, Long::sum);
        }

        /** The figures so far, with {@code files} 0. */
        public Summary summary() {
            return new Summary(0, requests, bytes, perStatus, perPath, bytesPerPath);
        }
    }

    /** The summary of {@code linesPerShard} lines of each node of {@code nodes}, computed in memory. */
    public static Summary inMemory(List<Integer> nodes, int linesPerShard, long seed) {
        Tally tally = new Tally();
        for (int n : nodes) {
            AccessLog log = new AccessLog(n, seed);
            for (int i = 0; i < linesPerShard; i++) {
                tally.add(log.next());
            }
        }
        return tally.summary();
    }

    /**
     * Starts a job named {@code job} on {@code node}, from outside any process, with {@code DISTANT_FORK} added to
     * the default capabilities so that it may start its children on other nodes; waits for it and returns its
     * report.
     *
     * @throws IllegalArgumentException when {@code job} is not 1-64 letters, digits, dots, dashes or underscores,
     *                                  or {@code linesPerShard} is negative
     * @throws IllegalStateException    when the job failed or did not end within {@code timeout}
     */
    public static Report run(Node node, String job, int linesPerShard, long seed, Duration timeout)
            throws InterruptedException {
        ClusterProcess p = node.epm().spawn(new Job(node.config().clusterName(), job, linesPerShard, seed),
                SpawnOptions.defaults().onNode(node.id())
                        .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)).name("log-job " + job));
        ExitStatus s = p.waitFor(timeout).orElseThrow(() -> new IllegalStateException("the log job (process "
                + p.pid() + ") did not end within " + timeout));
        if (s.code() != 0) {
            throw new IllegalStateException("the log job (process " + p.pid() + ") " + s);
        }
        return (Report) p.result().orElseThrow();
    }

    public static void main(String[] args) throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "logs-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        Path storage = Files.createTempDirectory("log-shards-");
        int lines = 50_000;
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed), TYPES));
            }
            long t0 = System.nanoTime();
            Report r = run(nodes.getFirst(), "access-logs", lines, 42, Duration.ofMinutes(2));
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("a job process on node 0 started one writer process per node; each wrote its shard"
                    + " through its node's krg file system:%n");
            for (Shard s : r.shards()) {
                System.out.printf("  %-32s written on node %d: %,d lines, %,d bytes%n", s.path(), s.node(), s.lines(),
                        s.bytes());
            }
            Summary sum = r.summary();
            System.out.printf("an aggregator process on node %d listed /jobs/access-logs/%s and read %d shards"
                    + " (%.1f s in all):%n", r.readerNode(), SHARD_GLOB, sum.files(), seconds);
            System.out.printf("  %,d requests, %,d bytes sent%n  requests per status: %s%n  top paths:%n",
                    sum.requests(), sum.bytes(), sum.requestsPerStatus());
            for (String path : sum.topPaths(5)) {
                System.out.printf("    %-18s %,9d requests %,15d bytes%n", path, sum.requestsPerPath().get(path),
                        sum.bytesPerPath().get(path));
            }
            Summary expected = inMemory(r.shards().stream().map(Shard::node).toList(), lines, 42);
            System.out.printf("same as the computation in memory: %s%n",
                    sum.equals(expected.withFiles(r.shards().size())));
            FsStatus st = nodes.getFirst().fs().status();
            System.out.printf("the file system: %d files, %d chunks, %d under-replicated; copies of chunks per node:%n",
                    st.files(), st.chunks(), st.underReplicated());
            for (FsStatus.NodeStorage n : st.nodes()) {
                System.out.printf("  node %d: %d chunk%s, %,d bytes%n", n.node(), n.chunks(),
                        n.chunks() == 1 ? "" : "s", n.usedBytes());
            }
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
