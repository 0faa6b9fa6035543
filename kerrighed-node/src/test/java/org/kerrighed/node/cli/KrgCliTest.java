package org.kerrighed.node.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;
import picocli.CommandLine;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The krg command line run in-process with {@link Krg#run}: help, exit codes and messages for bad usage,
 * {@code krg nodes} against one in-process node and {@code krg kddm stats} against two. Starts no cluster of JVMs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KrgCliTest {
    private static final String SECRET = Base64.getEncoder().encodeToString(new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
            11, 12, 13, 14, 15, 16, 17, 18, 19, 20});

    private final CapturedCli cli = new CapturedCli();

    @TempDir
    Path dir;

    @BeforeEach
    void captureStreams() {
        cli.install();
    }

    @AfterEach
    void restoreStreams() {
        cli.restore();
    }

    private Path secretFile() throws IOException {
        Path p = dir.resolve("secret");
        if (!Files.exists(p)) {
            Files.writeString(p, SECRET + "\n");
        }
        return p;
    }

    private void assertUsageError(String[] args, String... fragments) {
        int code = cli.run(args);
        assertEquals(2, code, "krg " + String.join(" ", args) + cli.printed());
        for (String f : fragments) {
            assertTrue(cli.stderr().contains(f), "stderr should mention '" + f + "'" + cli.printed());
        }
        assertEquals("", cli.stdout(), "errors go to stderr" + cli.printed());
    }

    // ---------------------------------------------------------------- help

    /** Every command and subcommand (extensions included), as the argument path that reaches it. */
    static Stream<List<String>> commandPaths() {
        List<List<String>> paths = new ArrayList<>();
        collect(Krg.commandLine(), new ArrayList<>(), paths);
        return paths.stream();
    }

    private static void collect(CommandLine cl, List<String> path, List<List<String>> paths) {
        paths.add(List.copyOf(path));
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) {
                continue;                                   // picocli's help command: tested below
            }
            List<String> sub = new ArrayList<>(path);
            sub.add(e.getKey());
            collect(e.getValue(), sub, paths);
        }
    }

    @ParameterizedTest(name = "krg {0} --help")
    @MethodSource("commandPaths")
    void helpOnEveryCommandSucceeds(List<String> path) {
        List<String> args = new ArrayList<>(path);
        args.add("--help");
        assertEquals(0, cli.run(args.toArray(String[]::new)), cli.printed());
        String usage = "Usage: krg" + (path.isEmpty() ? "" : " " + String.join(" ", path));
        assertTrue(cli.stdout().startsWith(usage), "help goes to stdout and starts with '" + usage + "'" + cli.printed());
        assertEquals("", cli.stderr(), cli.printed());

        args.set(args.size() - 1, "-h");
        assertEquals(0, cli.run(args.toArray(String[]::new)), cli.printed());
        assertTrue(cli.stdout().startsWith(usage), cli.printed());
    }

    @Test
    void theCommandTreeHasTheDocumentedCommands() {
        List<String> names = commandPaths().map(p -> String.join(" ", p)).toList();
        for (String c : List.of("", "node", "node start", "nodes", "nodes remove", "cluster", "cluster stop", "kddm",
                "kddm stats", "ps", "top", "kill", "capset", "migrate", "demo", "test")) {
            assertTrue(names.contains(c), "krg " + c + " is missing from " + names);
        }
    }

    @Test
    void helpCommandAndVersion() {
        assertEquals(0, cli.run("help"), cli.printed());
        assertTrue(cli.stdout().startsWith("Usage: krg"), cli.printed());
        assertEquals(0, cli.run("help", "nodes"), cli.printed());
        assertTrue(cli.stdout().startsWith("Usage: krg nodes"), cli.printed());
        assertTrue(cli.stdout().contains("--seed=HOST:PORT"), cli.printed());
        assertEquals(0, cli.run("--version"), cli.printed());
        assertTrue(cli.stdout().startsWith("krg "), cli.printed());
    }

    // ---------------------------------------------------------------- bad usage: exit code 2

    @Test
    void noCommandOrSubcommand() {
        assertUsageError(new String[]{}, "Missing required subcommand");
        assertUsageError(new String[]{"node"}, "Missing required subcommand", "Usage: krg node");
        assertUsageError(new String[]{"cluster"}, "Missing required subcommand", "Usage: krg cluster");
    }

    @Test
    void unknownSubcommandOrOption() {
        assertUsageError(new String[]{"bogus"}, "Unmatched argument", "'bogus'");
        assertUsageError(new String[]{"node", "stop"}, "Unmatched argument", "'stop'");
        assertUsageError(new String[]{"nodes", "--bogus"}, "Unknown option: '--bogus'");
        assertUsageError(new String[]{"node", "start", "--join"}, "Missing required parameter for option '--join'");
    }

    @Test
    void nodeStartRejectsBadOptionsBeforeStartingAnything() throws IOException {
        assertUsageError(new String[]{"node", "start", "--id", "300"}, "--id", "0-255", "300");
        assertUsageError(new String[]{"node", "start", "--id", "-1"}, "--id", "0-255", "-1");
        assertUsageError(new String[]{"node", "start", "--id", "three"}, "--id", "three");
        assertUsageError(new String[]{"node", "start", "--cluster", "c1", "--bind", "nowhere"}, "--bind",
                "expected HOST:PORT");
        assertUsageError(new String[]{"node", "start", "--cluster", "c1", "--advertise", "h:x"}, "--advertise",
                "numeric port");
        assertUsageError(new String[]{"node", "start", "--cluster", "c1", "--membership-bind", "h:70000"},
                "--membership-bind", "port out of range");
        assertUsageError(new String[]{"node", "start", "--cluster", "c1", "--join", "127.0.0.1:7400", "--join",
                "10.0.0.1"}, "--join", "'10.0.0.1'");
        assertUsageError(new String[]{"node", "start", "--cluster", "c1", "--secret-env",
                "KRG_TEST_SURELY_UNSET_" + System.nanoTime()}, "--secret-env", "is not set");
        assertUsageError(new String[]{"node", "start", "--secret-file", secretFile().toString()}, "cluster.name",
                "required");
        assertUsageError(new String[]{"node", "start", "--cluster", "c1"}, "secret", "required");
        assertUsageError(new String[]{"node", "start", "--config", dir.resolve("absent.conf").toString()}, "--config",
                "cannot read");

        Path conf = dir.resolve("bad.conf");
        Files.writeString(conf, "cluster.name = c1\nsecret = " + SECRET + "\nio-threads = lots\n");
        assertUsageError(new String[]{"node", "start", "--config", conf.toString()}, conf + ":3: io-threads: "
                + "expected an integer");
    }

    @Test
    void nodesNeedsASeedAClusterAndASecret() throws IOException {
        String secret = secretFile().toString();
        assertUsageError(new String[]{"nodes"}, "--cluster");
        assertUsageError(new String[]{"nodes", "--seed", "notanaddress"}, "--seed", "notanaddress");
        assertUsageError(new String[]{"nodes", "--seed", "127.0.0.1:99999", "--cluster", "c1", "--secret-file", secret},
                "--seed", "port out of range");
        assertUsageError(new String[]{"nodes", "--seed", "127.0.0.1:7400"}, "--cluster", "required");
        assertUsageError(new String[]{"nodes", "--seed", "127.0.0.1:7400", "--cluster", "c1"},
                "--secret-file/--secret-env", "secret: required");
        assertUsageError(new String[]{"nodes", "--seed", "127.0.0.1:7400", "--cluster", "c1", "--secret-file",
                dir.resolve("absent").toString()}, "--secret-file/--secret-env", "cannot read");
        assertUsageError(new String[]{"nodes", "--cluster", "c1", "--secret-file", secret}, "--seed", "which node?");
        assertUsageError(new String[]{"nodes", "--config", dir.resolve("absent.conf").toString()}, "--config",
                "cannot read");
    }

    @Test
    void anInvalidClusterNameIsNotReportedAsMissing() throws IOException {
        assertUsageError(new String[]{"nodes", "--seed", "127.0.0.1:7400", "--cluster", "no spaces allowed",
                "--secret-file", secretFile().toString()}, "--cluster", "must be 1-64", "'no spaces allowed'");
        assertFalse(cli.stderr().contains("required"), cli.printed());

        Path conf = dir.resolve("node.conf");
        Files.writeString(conf, "cluster.name = -starts-with-a-dash\nsecret = " + SECRET + "\nseeds = 127.0.0.1:7400\n");
        assertUsageError(new String[]{"nodes", "--config", conf.toString()}, "--config: cluster.name: must be 1-64");
        assertFalse(cli.stderr().contains("required"), cli.printed());
    }

    @Test
    void nodesRemoveAndClusterStopCheckTheirArguments() throws IOException {
        assertUsageError(new String[]{"nodes", "remove"}, "Missing required parameter: 'ID'");
        assertUsageError(new String[]{"nodes", "remove", "abc"}, "'abc'", "ID");
        assertUsageError(new String[]{"nodes", "remove", "3", "--seed", "x"}, "--seed");
        assertUsageError(new String[]{"cluster", "stop"}, "--cluster");
        assertUsageError(new String[]{"cluster", "stop", "--cluster", "c1", "--secret-file", secretFile().toString()},
                "--seed");
    }

    @Test
    void kddmStatsChecksItsArguments() throws IOException {
        assertUsageError(new String[]{"kddm"}, "Missing required subcommand", "Usage: krg kddm");
        assertUsageError(new String[]{"kddm", "statz"}, "Unmatched argument", "'statz'");
        assertUsageError(new String[]{"kddm", "stats"}, "--cluster");
        assertUsageError(new String[]{"kddm", "stats", "--seed", "nowhere"}, "--seed", "nowhere");
        assertUsageError(new String[]{"kddm", "stats", "--cluster", "c1", "--secret-file", secretFile().toString()},
                "--seed", "which node?");
        assertUsageError(new String[]{"kddm", "stats", "--bogus"}, "Unknown option: '--bogus'");
    }

    @Test
    void demoChecksItsNumbersBeforeStartingAnything() {
        assertUsageError(new String[]{"demo", "--nodes", "1"}, "--nodes", "2-8", "got 1");
        assertUsageError(new String[]{"demo", "--nodes", "9"}, "--nodes", "2-8", "got 9");
        assertUsageError(new String[]{"demo", "--nodes", "three"}, "--nodes", "'three'");
        assertUsageError(new String[]{"demo", "--calls", "0"}, "--calls", "got 0");
        assertUsageError(new String[]{"demo", "--counters", "0"}, "--counters", "1-64", "got 0");
        assertUsageError(new String[]{"demo", "--counters", "65"}, "--counters", "1-64", "got 65");
        assertUsageError(new String[]{"demo", "--rounds", "0"}, "--rounds", "1-10000", "got 0");
    }

    // ---------------------------------------------------------------- failures: exit code 1

    @Test
    void nodesFailsWithExitCode1WhenNoNodeAnswers() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();                             // closed again: connections are refused
        }
        int code = cli.run("nodes", "--seed", "127.0.0.1:" + port, "--cluster", "c1", "--secret-file",
                secretFile().toString());
        assertEquals(1, code, cli.printed());
        assertTrue(cli.stderr().lines().anyMatch(l -> l.startsWith("nodes: ")), cli.printed());
        assertEquals("", cli.stdout(), cli.printed());
    }

    // ---------------------------------------------------------------- against a running node

    /** One in-process node, started once for these tests. */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class AgainstARunningNode {
        private final String cluster = "cli-" + Long.toHexString(new SecureRandom().nextLong() >>> 8);
        private Path nodeDir;
        private Path secret;
        private Node node;
        private HostAndPort rpc;

        @BeforeAll
        void startNode() throws IOException {
            nodeDir = Files.createTempDirectory("krg-cli-test-");
            secret = nodeDir.resolve("secret");
            Files.writeString(secret, SECRET + "\n");
            NodeConfig c = NodeConfig.builder().clusterName(cluster).secretFile(secret)
                    .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                    .jmx(false).build();
            node = Kerrighed.join(c);
            rpc = node.rpc().address();
        }

        @AfterAll
        void stopNode() throws IOException {
            if (node != null) {
                node.close();
            }
            try (var files = Files.walk(nodeDir)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }

        private String[] nodes(String... extra) {
            List<String> args = new ArrayList<>(List.of("nodes", "--seed", rpc.toString(), "--cluster", cluster,
                    "--secret-file", secret.toString()));
            args.addAll(List.of(extra));
            return args.toArray(String[]::new);
        }

        @Test
        void json() {
            assertEquals(0, cli.run(nodes("--json")), cli.printed());
            String json = cli.stdout().strip();
            assertTrue(json.startsWith("{\"epoch\": ") && json.endsWith("}]}"), cli.printed());
            assertTrue(json.contains("\"master\": " + node.id() + ","), cli.printed());
            assertTrue(json.contains("\"writable\": true"), cli.printed());
            assertTrue(json.contains("\"nodes\": [{\"nodeId\": " + node.id() + ", \"rpcAddress\": \"" + rpc + "\", "
                    + "\"discovery\": \"" + node.membership().discoveryAddress() + "\", \"state\": \"ONLINE\""), cli.printed());
            for (String key : List.of("epoch", "uptimeMillis", "load", "heapUsedBytes", "rttMicros")) {
                assertTrue(json.contains("\"" + key + "\": "), key + cli.printed());
            }
            assertEquals(1, json.split("\"nodeId\"", -1).length - 1, "one node" + cli.printed());
            assertBalanced(json);
        }

        private void assertBalanced(String json) {
            int depth = 0;
            boolean inString = false;
            for (int i = 0; i < json.length(); i++) {
                char ch = json.charAt(i);
                if (inString) {
                    if (ch == '\\') {
                        i++;
                    } else if (ch == '"') {
                        inString = false;
                    }
                } else if (ch == '"') {
                    inString = true;
                } else if (ch == '{' || ch == '[') {
                    depth++;
                } else if (ch == '}' || ch == ']') {
                    depth--;
                    assertTrue(depth >= 0, json);
                }
            }
            assertFalse(inString, json);
            assertEquals(0, depth, json);
        }

        @Test
        void table() {
            assertEquals(0, cli.run(nodes()), cli.printed());
            List<String> lines = cli.stdout().lines().toList();
            assertEquals(3, lines.size(), cli.printed());
            assertTrue(lines.get(0).matches("epoch \\d+, master " + node.id() + " \\(\\*\\), writable"), cli.printed());
            assertEquals(List.of("ID", "RPC", "DISCOVERY", "STATE", "EPOCH", "UPTIME", "CPU", "HEAP", "RTT"),
                    List.of(lines.get(1).trim().split(" +")), cli.printed());
            List<String> row = List.of(lines.get(2).trim().split(" +"));
            assertEquals(node.id() + "*", row.get(0), cli.printed());
            assertEquals(rpc.toString(), row.get(1), cli.printed());
            assertEquals(node.membership().discoveryAddress().toString(), row.get(2), cli.printed());
            assertEquals("ONLINE", row.get(3), cli.printed());
            assertEquals(lines.get(1).indexOf("RPC"), lines.get(2).indexOf(rpc.toString()), "columns align" + cli.printed());
        }

        @Test
        void configFileGivesClusterSecretAndSeed() throws IOException {
            Path confDir = Files.createDirectories(nodeDir.resolve("etc"));
            Files.writeString(confDir.resolve("secret"), SECRET);
            Path conf = confDir.resolve("node.conf");
            Files.writeString(conf, "cluster.name = " + cluster + "\nseeds = " + rpc + "\nsecret.file = secret\n");
            assertEquals(0, cli.run("nodes", "--config", conf.toString(), "--json"), cli.printed());
            assertTrue(cli.stdout().contains("\"rpcAddress\": \"" + rpc + "\""), cli.printed());
        }

        @Test
        void wrongSecretFails() throws IOException {
            Path wrong = nodeDir.resolve("wrong-secret");
            Files.writeString(wrong, "not-the-cluster-secret-at-all");
            int code = cli.run("nodes", "--seed", rpc.toString(), "--cluster", cluster, "--secret-file", wrong.toString());
            assertEquals(1, code, cli.printed());
            assertTrue(cli.stderr().lines().anyMatch(l -> l.startsWith("nodes: ")), cli.printed());
            assertEquals("", cli.stdout(), cli.printed());
        }

        @Test
        void removingAnUnknownNodeIsAUsageError() {
            List<String> args = new ArrayList<>(List.of(nodes()));
            args.add(1, "remove");
            args.add("99");
            assertUsageError(args.toArray(String[]::new), "ID: no live node 99");
        }
    }

    /** Two in-process nodes sharing a static KDDM set, for {@code krg kddm stats}. */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class KddmStatsAgainstTwoNodes {
        private static final long SET = 77;
        private final String cluster = "cli-kddm-" + Long.toHexString(new SecureRandom().nextLong() >>> 8);
        private Path nodeDir;
        private Path secret;
        private final List<Node> nodes = new ArrayList<>();

        @BeforeAll
        void startNodes() throws IOException {
            nodeDir = Files.createTempDirectory("krg-cli-kddm-test-");
            secret = nodeDir.resolve("secret");
            Files.writeString(secret, SECRET + "\n");
            NodeConfig c = NodeConfig.builder().clusterName(cluster).secretFile(secret)
                    .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                    .storageDir(nodeDir.resolve("storage")).jmx(false).build();
            nodes.add(Kerrighed.join(c.toBuilder().nodeId(0).build()));
            nodes.add(Kerrighed.join(c.toBuilder().nodeId(1).seeds(List.of(nodes.get(0).rpc().address())).build()));
            List<KddmSet<Long>> sets = new ArrayList<>();
            for (Node n : nodes) {
                sets.add(n.kddm().createStaticSet(SET, n.kddm().objectSpec(Long.class),
                        new ObjectLinker<>(Long.class, id -> 0L)));
            }
            // Object 1 is written on node 0, then on node 1 (ownership moves), read on node 0 (a read copy),
            // written on node 1 again (node 0's copy is invalidated).
            increment(sets.get(0), 1);
            increment(sets.get(1), 1);
            try (Handle<Long> h = sets.get(0).get(1)) {
                assertEquals(2L, h.value());
            }
            increment(sets.get(1), 1);
        }

        private void increment(KddmSet<Long> s, long id) {
            try (Handle<Long> h = s.grab(id)) {
                h.set(h.value() + 1);
            }
        }

        @AfterAll
        void stopNodes() throws IOException {
            for (Node n : nodes.reversed()) {
                n.close();
            }
            try (var files = Files.walk(nodeDir)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }

        private String[] stats(String... extra) {
            List<String> args = new ArrayList<>(List.of("kddm", "stats", "--seed", nodes.get(0).rpc().address().toString(),
                    "--cluster", cluster, "--secret-file", secret.toString()));
            args.addAll(List.of(extra));
            return args.toArray(String[]::new);
        }

        @Test
        void jsonHasEveryNodesCountersAsTheNodeKeepsThem() {
            assertEquals(0, cli.run(stats("--json")), cli.printed());
            String json = cli.stdout().strip();
            assertTrue(json.startsWith("{\"epoch\": ") && json.endsWith("]}]}"), cli.printed());
            for (Node n : nodes) {
                SetStats mine = n.kddm().stats().getFirst();
                assertEquals(SET, mine.setId());
                assertTrue(json.contains("{\"node\": " + n.id() + ", \"sets\": [" + Output.json(mine)),   // set 77 sorts first
                        "node " + n.id() + " " + mine + cli.printed());
            }
            SetStats zero = nodes.get(0).kddm().stats().getFirst();
            SetStats one = nodes.get(1).kddm().stats().getFirst();
            assertEquals(1, zero.invalidations(), "node 0's read copy was invalidated" + cli.printed());
            assertTrue(one.transfers() >= 1, "node 1 took the ownership" + cli.printed());
            assertEquals(1, one.owned(), cli.printed());
            assertEquals(0, zero.owned(), cli.printed());
        }

        @Test
        void tableHasOneRowPerNodeAndSet() {
            assertEquals(0, cli.run(stats()), cli.printed());
            List<String> all = cli.stdout().lines().toList();
            // the test's set 77, and the sets services create on every node (IPC's), one row per node and set
            List<String> lines = all.stream().filter(l -> !l.matches(" *\\d+ +(?!77 )\\d+ .*")).toList();
            assertEquals(4, lines.size(), cli.printed());
            assertTrue(lines.get(0).matches("epoch \\d+, 2 nodes"), cli.printed());
            assertEquals(List.of("NODE", "SET", "HITS", "MISSES", "INVALIDATIONS", "TRANSFERS", "DEFERRED", "BYTES",
                    "MOVED", "OBJECTS", "OWNED", "BACKUPS"), List.of(lines.get(1).trim().split(" +")), cli.printed());
            for (int i = 0; i < 2; i++) {
                SetStats t = nodes.get(i).kddm().stats().getFirst();
                List<String> row = List.of(lines.get(2 + i).trim().split(" +"));
                assertEquals(List.of(Integer.toString(nodes.get(i).id()), "77", Long.toString(t.hits()),
                        Long.toString(t.misses()), Long.toString(t.invalidations()), Long.toString(t.transfers()),
                        Long.toString(t.deferred()), Long.toString(t.bytesMoved()), Integer.toString(t.objects()),
                        Integer.toString(t.owned()), Integer.toString(t.backups())), row, cli.printed());
            }
            assertEquals(lines.get(1).length(), lines.get(2).length(), "numbers are right-aligned" + cli.printed());
        }
    }
}
