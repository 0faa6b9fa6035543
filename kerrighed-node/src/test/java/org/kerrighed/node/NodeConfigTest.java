package org.kerrighed.node;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.TlsConfig;
import org.kerrighed.rpc.TransportKind;
import org.kerrighed.rpc.membership.MembershipConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Configuration files and the builder: every key, the defaults, and errors that name the file, line and key. */
class NodeConfigTest {
    private static final String SECRET = "0123456789abcdef-secret";

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    /** Everything a configuration shows the rest of the system, so that two configurations can be compared. */
    private static Map<String, Object> snapshot(NodeConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clusterName", c.clusterName());
        m.put("nodeId", c.nodeId());
        m.put("bind", c.bind());
        m.put("seeds", c.seeds());
        m.put("silence", c.silenceBeforeSuspect());
        m.put("credentials", c.credentials());
        m.put("toString", c.toString());
        RpcConfig r = c.toRpcConfig(5);
        m.put("rpc.clusterName", r.clusterName());
        m.put("rpc.nodeId", r.nodeId());
        m.put("rpc.bind", r.bind());
        m.put("rpc.advertised", r.advertised());
        m.put("rpc.secret", Arrays.toString(r.secret()));
        m.put("rpc.maxFrameBytes", r.maxFrameBytes());
        m.put("rpc.callTimeout", r.defaultCallTimeout());
        m.put("rpc.handshakeTimeout", r.handshakeTimeout());
        m.put("rpc.conversationWindow", r.conversationWindow());
        m.put("rpc.ioThreads", r.ioThreads());
        m.put("rpc.transport", r.transport());
        m.put("rpc.jmx", r.jmx());
        m.put("rpc.tls", r.tls().map(t -> t.keyStore() + "|" + String.valueOf(t.keyStorePassword()) + "|"
                + t.trustStore() + "|" + String.valueOf(t.trustStorePassword())).orElse("none"));
        m.put("membership", c.toMembershipConfig());
        m.put("schedulerConfig", c.schedulerConfig());
        return m;
    }

    private static String fullFile() {
        return """
                # every key of the format
                cluster.name = prod-1
                node.id = 7
                bind = 10.0.0.5:7400          # where the RPC server listens
                advertise = 203.0.113.9:17400
                membership.bind = 10.0.0.5:7401
                seeds = 10.0.0.1:7400, 10.0.0.2:7400 ,[::1]:7402
                secret.file = keys/secret.txt
                limits.max-frame-bytes = 1_048_576
                limits.call-timeout = 45s
                limits.handshake-timeout = 1500ms
                limits.conversation-window = 128
                limits.silence-before-suspect = PT4S
                io-threads = 4
                transport = io-uring
                jmx = no
                storage.dir = data/kerrighed
                node.uid = 1000
                node.gid = 100
                tls.key-store = tls/node.p12
                tls.key-store-password = ks-pass
                tls.trust-store = /etc/kerrighed/trust.p12
                tls.trust-store-password = ts-pass
                scheduler.config = sched.conf
                fs.quota = 2G
                fs.chunk-size = 1M
                fs.replication = 3
                fs.repair-delay = 5s
                """;
    }

    @Test
    void fullFileSetsEveryKeyAndTheBuilderGivesTheSameConfiguration() throws IOException {
        write("keys/secret.txt", SECRET + "\n");                      // trailing newline is stripped
        Path file = write("node.conf", fullFile());

        NodeConfig c = NodeConfig.load(file);

        assertEquals("prod-1", c.clusterName());
        assertEquals(OptionalInt.of(7), c.nodeId());
        assertEquals(new HostAndPort("10.0.0.5", 7400), c.bind());
        List<HostAndPort> seeds = List.of(new HostAndPort("10.0.0.1", 7400), new HostAndPort("10.0.0.2", 7400),
                new HostAndPort("::1", 7402));
        assertEquals(seeds, c.seeds());
        assertEquals(Duration.ofSeconds(4), c.silenceBeforeSuspect());

        RpcConfig r = c.toRpcConfig(7);
        assertEquals("prod-1", r.clusterName());
        assertEquals(7, r.nodeId());
        assertEquals(new HostAndPort("10.0.0.5", 7400), r.bind());
        assertEquals(new HostAndPort("203.0.113.9", 17400), r.advertised().orElseThrow());
        assertArrayEquals(SECRET.getBytes(StandardCharsets.UTF_8), r.secret());
        assertEquals(1_048_576, r.maxFrameBytes());
        assertEquals(Duration.ofSeconds(45), r.defaultCallTimeout());
        assertEquals(Duration.ofMillis(1500), r.handshakeTimeout());
        assertEquals(128, r.conversationWindow());
        assertEquals(4, r.ioThreads());
        assertEquals(TransportKind.IO_URING, r.transport());
        assertFalse(r.jmx());
        assertEquals(dir.resolve("data/kerrighed"), c.storageDir().orElseThrow(), "relative to the file's directory");
        assertEquals(new org.kerrighed.kddm.access.Credentials(1000, 100), c.credentials());
        assertEquals(dir.resolve("sched.conf"), c.schedulerConfig().orElseThrow(), "relative to the file's directory");
        assertEquals(new org.kerrighed.fs.FsConfig(java.util.Optional.empty(), 2L << 30, 1 << 20, 3, 5_000),
                c.fsConfig());
        TlsConfig tls = r.tls().orElseThrow();
        assertEquals(dir.resolve("tls/node.p12"), tls.keyStore(), "relative to the file's directory");
        assertArrayEquals("ks-pass".toCharArray(), tls.keyStorePassword());
        assertEquals(Path.of("/etc/kerrighed/trust.p12"), tls.trustStore(), "absolute paths are kept");
        assertArrayEquals("ts-pass".toCharArray(), tls.trustStorePassword());

        MembershipConfig m = c.toMembershipConfig();
        assertEquals(new HostAndPort("10.0.0.5", 7401), m.discoveryBind());
        assertEquals(seeds, m.seeds());
        assertEquals(7, m.requestedNodeId());
        assertEquals(Duration.ofSeconds(4), m.silenceBeforeSuspect());
        assertEquals(Duration.ofSeconds(15), m.joinTimeout());

        NodeConfig built = NodeConfig.builder()
                .clusterName("prod-1")
                .nodeId(7)
                .bind(new HostAndPort("10.0.0.5", 7400))
                .advertise(new HostAndPort("203.0.113.9", 17400))
                .membershipBind(new HostAndPort("10.0.0.5", 7401))
                .seeds(seeds)
                .secretFile(dir.resolve("keys/secret.txt"))
                .maxFrameBytes(1 << 20)
                .callTimeout(Duration.ofSeconds(45))
                .handshakeTimeout(Duration.ofMillis(1500))
                .conversationWindow(128)
                .silenceBeforeSuspect(Duration.ofSeconds(4))
                .ioThreads(4)
                .transport(TransportKind.IO_URING)
                .jmx(false)
                .credentials(1000, 100)
                .tls(dir.resolve("tls/node.p12"), "ks-pass", Path.of("/etc/kerrighed/trust.p12"), "ts-pass")
                .schedulerConfig(dir.resolve("sched.conf"))
                .build();
        assertEquals(snapshot(c), snapshot(built));
        assertEquals(snapshot(c), snapshot(c.toBuilder().build()), "toBuilder round trip");
    }

    @Test
    void theFullFileAndTheSecretTestTogetherCoverEveryKey() {
        Set<String> used = new TreeSet<>();
        for (String line : fullFile().split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                used.add(line.substring(0, line.indexOf('=')).strip());
            }
        }
        used.add("secret");                                          // secretInline below
        assertEquals(new TreeSet<>(NodeConfig.keys()), used);
    }

    @Test
    void inlineSecretCrLfLineEndingsAndHashesInsideValues() throws IOException {
        Path file = write("node.conf", "cluster.name = c1\r\n# comment\r\n\r\n  secret = abc#def-0123456789 # note\r\n");
        NodeConfig c = NodeConfig.load(file);
        assertEquals("c1", c.clusterName());
        assertArrayEquals("abc#def-0123456789".getBytes(StandardCharsets.UTF_8), c.toRpcConfig(0).secret(),
                "'#' only starts a comment after a space");
    }

    @Test
    void defaults() throws IOException {
        NodeConfig c = NodeConfig.load(write("node.conf", "cluster.name = c1\nsecret = " + SECRET + "\n"));

        assertEquals(OptionalInt.empty(), c.nodeId());
        assertEquals(new HostAndPort("127.0.0.1", 0), c.bind());
        assertEquals(List.of(), c.seeds());
        assertEquals(Duration.ofMillis(2500), c.silenceBeforeSuspect());

        RpcConfig r = c.toRpcConfig(3);
        assertEquals(3, r.nodeId());
        assertTrue(r.advertised().isEmpty());
        assertEquals(16 * 1024 * 1024, r.maxFrameBytes());
        assertEquals(Duration.ofSeconds(30), r.defaultCallTimeout());
        assertEquals(Duration.ofSeconds(5), r.handshakeTimeout());
        assertEquals(64, r.conversationWindow());
        assertEquals(1, r.ioThreads());
        assertEquals(TransportKind.AUTO, r.transport());
        assertTrue(r.jmx());
        assertFalse(c.toRpcConfig(-1).jmx(), "a tool's client endpoint never registers an MXBean");
        assertEquals(-1, c.toRpcConfig(-1).nodeId());
        assertTrue(r.tls().isEmpty());

        MembershipConfig m = c.toMembershipConfig();
        assertEquals(new HostAndPort("127.0.0.1", 0), m.discoveryBind());
        assertEquals(-1, m.requestedNodeId());
        assertEquals(List.of(), m.seeds());
        assertEquals(Duration.ofMillis(2500), m.silenceBeforeSuspect());
        assertEquals(Duration.ofSeconds(15), m.joinTimeout());

        NodeConfig built = NodeConfig.builder().clusterName("c1").secret(SECRET).build();
        assertEquals(snapshot(c), snapshot(built));
    }

    @Test
    void membershipBindDefaultsToAnEphemeralPortOnTheBindHost() throws IOException {
        NodeConfig c = NodeConfig.load(write("node.conf", "cluster.name = c1\nsecret = " + SECRET
                + "\nbind = 10.1.2.3:7400\n"));
        assertEquals(new HostAndPort("10.1.2.3", 0), c.toMembershipConfig().discoveryBind());
    }

    @ParameterizedTest
    @ValueSource(strings = {"node.id = auto", "node.id =", "node.id = -1"})
    void nodeIdAutoOrEmptyMeansAssignedOnJoin(String line) throws IOException {
        NodeConfig c = NodeConfig.load(write("node.conf", "cluster.name = c1\nsecret = " + SECRET + "\n" + line + "\n"));
        assertEquals(OptionalInt.empty(), c.nodeId());
        assertEquals(-1, c.toMembershipConfig().requestedNodeId());
    }

    @Test
    void nodeIdBoundsAreAccepted() throws IOException {
        for (int id : new int[]{0, 255}) {
            NodeConfig c = NodeConfig.load(write("n" + id + ".conf", "cluster.name = c1\nsecret = " + SECRET
                    + "\nnode.id = " + id + "\n"));
            assertEquals(OptionalInt.of(id), c.nodeId());
            assertEquals(id, c.toMembershipConfig().requestedNodeId());
        }
    }

    /** A file whose line 5 is {@code line}, after a comment, the two required keys and a blank line. */
    private Path fileWithLine5(String line) throws IOException {
        return write("bad.conf", "# test\ncluster.name = c1\nsecret = " + SECRET + "\n\n" + line + "\n");
    }

    private static IllegalArgumentException loadFails(Path file) {
        return assertThrows(IllegalArgumentException.class, () -> NodeConfig.load(file));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            bind = 127.0.0.1:70000                  | bind                          | port out of range 0-65535
            bind = 127.0.0.1:-1                     | bind                          | port out of range 0-65535
            bind = 127.0.0.1                        | bind                          | expected HOST:PORT
            membership.bind = localhost             | membership.bind               | expected HOST:PORT
            membership.bind = localhost:65536       | membership.bind               | port out of range
            advertise = host:port                   | advertise                     | numeric port
            seeds = 10.0.0.1:7400, nohost           | seeds                         | expected HOST:PORT, got 'nohost'
            seeds = 10.0.0.1:99999                  | seeds                         | port out of range
            node.id = three                         | node.id                       | expected an integer, got 'three'
            limits.max-frame-bytes = 16MiB          | limits.max-frame-bytes        | expected an integer
            limits.max-frame-bytes = 99999999999    | limits.max-frame-bytes        | expected an integer
            limits.conversation-window = lots       | limits.conversation-window    | expected an integer
            io-threads = many                       | io-threads                    | expected an integer
            limits.call-timeout = 30                | limits.call-timeout           | expected a duration such as 500ms
            limits.call-timeout = 1.5s              | limits.call-timeout           | expected a duration
            limits.handshake-timeout = 5 parsecs    | limits.handshake-timeout      | expected a duration
            limits.handshake-timeout = 1d           | limits.handshake-timeout      | expected a duration
            limits.silence-before-suspect = soon    | limits.silence-before-suspect | expected a duration
            transport = carrier-pigeon              | transport                     | expected auto, nio, epoll or io_uring
            jmx = maybe                             | jmx                           | expected true or false, got 'maybe'
            node.uid = -1                           | node.uid                      | must be >= 0, got -1
            node.gid = staff                        | node.gid                      | expected an integer, got 'staff'
            cluster = c1                            | cluster                       | unknown key; the keys are cluster.name, node.id
            limits.call_timeout = 5s                | limits.call_timeout           | unknown key
            Secret = x                              | Secret                        | unknown key
            """)
    void badValuesAreReportedWithFileLineAndKey(String line, String key, String message) throws IOException {
        Path file = fileWithLine5(line);
        IllegalArgumentException e = loadFails(file);
        assertTrue(e.getMessage().startsWith(file + ":5: " + key + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    /** Values that parse but fail validation: still located at the line that set them. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            node.id = 256                               | node.id                       | must be in 0-255, got 256
            node.id = 300                               | node.id                       | must be in 0-255, got 300
            node.id = -2                                | node.id                       | must be in 0-255, got -2
            limits.max-frame-bytes = 100                | limits.max-frame-bytes        | must be in 4096-
            limits.conversation-window = 0              | limits.conversation-window    | must be in 1-65536
            io-threads = 65                             | io-threads                    | must be in 1-64
            limits.call-timeout = 0s                    | limits.call-timeout           | must be a positive duration
            limits.handshake-timeout = -5s              | limits.handshake-timeout      | must be a positive duration
            limits.silence-before-suspect = 500ms       | limits.silence-before-suspect | must be at least 1s
            advertise = 203.0.113.9:0                   | advertise                     | port 0 cannot be advertised
            tls.key-store = node.p12                    | tls                           | give all four
            """)
    void invalidValuesAreReportedWithFileAndKey(String line, String key, String message) throws IOException {
        Path file = fileWithLine5(line);
        IllegalArgumentException e = loadFails(file);
        String where = key.equals("tls") ? file + ": " : file + ":5: ";   // tls: about four keys together
        assertTrue(e.getMessage().startsWith(where + key + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void clusterNameMustBeValid() throws IOException {
        Path file = write("node.conf", "cluster.name = has space\nsecret = " + SECRET + "\n");
        IllegalArgumentException e = loadFails(file);
        assertTrue(e.getMessage().startsWith(file + ":1: cluster.name: must be 1-64"), e.getMessage());
    }

    @Test
    void lineWithoutKeyValueIsRejected() throws IOException {
        for (String line : new String[]{"just some words", "= value"}) {
            Path file = fileWithLine5(line);
            IllegalArgumentException e = loadFails(file);
            assertEquals(file + ":5: expected KEY = VALUE, got '" + line + "'", e.getMessage());
        }
    }

    @Test
    void theLastSettingOfAKeyWinsAndIsTheOneBlamed() throws IOException {
        Path file = write("node.conf", "cluster.name = c1\nsecret = " + SECRET + "\nnode.id = 1\nnode.id = 999\n");
        assertTrue(loadFails(file).getMessage().startsWith(file + ":4: node.id: "));
        Path ok = write("ok.conf", "cluster.name = c1\nsecret = " + SECRET + "\nnode.id = 999\nnode.id = 9\n");
        assertEquals(OptionalInt.of(9), NodeConfig.load(ok).nodeId());
    }

    @Test
    void missingClusterName() throws IOException {
        Path file = write("node.conf", "# no name\nsecret = " + SECRET + "\n");
        assertEquals(file + ": cluster.name: required", loadFails(file).getMessage());
        Path blank = write("blank.conf", "cluster.name =\nsecret = " + SECRET + "\n");
        assertEquals(blank + ":1: cluster.name: required", loadFails(blank).getMessage());
        var e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().secret(SECRET).build());
        assertEquals("cluster.name: required", e.getMessage());
    }

    @Test
    void missingSecret() throws IOException {
        Path file = write("node.conf", "cluster.name = c1\n");
        IllegalArgumentException e = loadFails(file);
        assertTrue(e.getMessage().startsWith(file + ": secret: required (secret = ... or secret.file = PATH)"),
                e.getMessage());
        var b = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().clusterName("c1").build());
        assertTrue(b.getMessage().startsWith("secret: required"), b.getMessage());
    }

    @Test
    void secretAndSecretFileTogetherAreRejected() throws IOException {
        write("secret.txt", SECRET);
        Path file = write("node.conf", "cluster.name = c1\nsecret.file = secret.txt\nsecret = " + SECRET + "\n");
        IllegalArgumentException e = loadFails(file);
        assertTrue(e.getMessage().startsWith(file + ":3: secret: give either secret or secret.file, not both"),
                e.getMessage());
        var b = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().clusterName("c1")
                .secret(SECRET).secretFile(dir.resolve("secret.txt")).build());
        assertEquals("secret: give either secret or secret.file, not both", b.getMessage());
    }

    @Test
    void shortSecretsAreRejectedNamingTheKeyTheyCameFrom() throws IOException {
        Path inline = write("inline.conf", "cluster.name = c1\nsecret = fifteen-bytes!!\n");
        assertEquals(inline + ":2: secret: the cluster secret must be at least 16 bytes, got 15",
                loadFails(inline).getMessage());

        write("short.txt", "tooshort\n");
        Path fromFile = write("file.conf", "cluster.name = c1\nsecret.file = short.txt\n");
        assertEquals(fromFile + ":2: secret.file: the cluster secret must be at least 16 bytes, got 8",
                loadFails(fromFile).getMessage());
    }

    @Test
    void unreadableSecretFile() throws IOException {
        Path missing = write("missing.conf", "cluster.name = c1\nsecret.file = no-such-secret\n");
        IllegalArgumentException e = loadFails(missing);
        assertTrue(e.getMessage().startsWith(missing + ":2: secret.file: cannot read " + dir.resolve("no-such-secret")),
                e.getMessage());

        Files.createDirectory(dir.resolve("a-directory"));       // unreadable as a file, even for root
        Path directory = write("dir.conf", "cluster.name = c1\nsecret.file = a-directory\n");
        e = loadFails(directory);
        assertTrue(e.getMessage().startsWith(directory + ":2: secret.file: cannot read " + dir.resolve("a-directory")),
                e.getMessage());
    }

    @Test
    void unreadableConfigFile() {
        Path file = dir.resolve("absent.conf");
        IllegalArgumentException e = loadFails(file);
        assertTrue(e.getMessage().startsWith(file + ": cannot read"), e.getMessage());
    }

    @Test
    void relativeSecretFileIsResolvedAgainstTheConfigFilesDirectoryNotTheWorkingDirectory() throws IOException {
        write("etc/kerrighed/secret", SECRET + "\n");
        Path file = write("etc/kerrighed/node.conf", "cluster.name = c1\nsecret.file = secret\n");
        Path relative = Path.of("").toAbsolutePath().relativize(file.toAbsolutePath());
        assertFalse(relative.isAbsolute());
        for (Path p : List.of(file, relative)) {
            NodeConfig c = NodeConfig.load(p);
            assertArrayEquals(SECRET.getBytes(StandardCharsets.UTF_8), c.toRpcConfig(0).secret(), p.toString());
        }

        Path absolute = write("abs.conf", "cluster.name = c1\nsecret.file = " + dir.resolve("etc/kerrighed/secret") + "\n");
        assertArrayEquals(SECRET.getBytes(StandardCharsets.UTF_8), NodeConfig.load(absolute).toRpcConfig(0).secret());
    }

    @Test
    void parseWithoutABaseKeepsRelativePathsAsGiven() {
        NodeConfig.Builder b = NodeConfig.parse("cluster.name = c1\nsecret.file = rel/secret-" + System.nanoTime(),
                "inline", null);
        var e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().startsWith("secret.file: cannot read rel/secret-"), e.getMessage());
    }

    @Test
    void parseNamesItsSource() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> NodeConfig.parse("cluster.name = c1\nio-threads = x", "<flags>", null));
        assertTrue(e.getMessage().startsWith("<flags>:2: io-threads: expected an integer"), e.getMessage());
    }

    @Test
    void builderValidatesLikeTheFile() {
        var e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().clusterName("c1").secret(SECRET)
                .nodeId(256).build());
        assertEquals("node.id: must be in 0-255, got 256", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().clusterName("c1").secret(SECRET)
                .silenceBeforeSuspect(Duration.ofMillis(999)).build());
        assertTrue(e.getMessage().startsWith("limits.silence-before-suspect: must be at least 1s"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().clusterName("c1").secret(SECRET)
                .tls(Path.of("k.p12"), "pw", null, null).build());
        assertTrue(e.getMessage().startsWith("tls: give all four"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().clusterName("c1").secret(SECRET)
                .ioThreads(0).build());
        assertTrue(e.getMessage().startsWith("io-threads: must be in 1-64"), e.getMessage());
        assertNotNull(NodeConfig.builder().clusterName("c1").secret(SECRET).build());
    }

    @Test
    void builderSetTakesTheFileSyntax() {
        NodeConfig c = NodeConfig.builder().set("cluster.name", "c1", null).set("secret", SECRET, null)
                .set("limits.call-timeout", "2m", null).set("transport", "NIO", null).build();
        assertEquals(Duration.ofMinutes(2), c.toRpcConfig(0).defaultCallTimeout());
        assertEquals(TransportKind.NIO, c.toRpcConfig(0).transport());
        var e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.builder().set("nope", "1", null));
        assertTrue(e.getMessage().startsWith("nope: unknown key; the keys are " + String.join(", ", NodeConfig.keys())),
                e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"500ms, PT0.5S", "30s, PT30S", "2m, PT2M", "1h, PT1H", "PT30S, PT30S", "pt1.5s, PT1.5S",
            "'10 s', PT10S", "' 250 MS ', PT0.25S", "P1D, PT24H"})
    void durations(String text, String iso) {
        assertEquals(Duration.parse(iso), NodeConfig.Builder.parseDuration(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "s", "ms", "10", "10d", "1.5s", "abc", "potato", "5 parsecs"})
    void badDurations(String text) {
        var e = assertThrows(IllegalArgumentException.class, () -> NodeConfig.Builder.parseDuration(text));
        assertEquals("expected a duration such as 500ms, 30s, 2m or PT30S, got '" + text + "'", e.getMessage());
    }

    @Test
    void toRpcConfigCarriesTheIdAndExtraTypes() {
        NodeConfig c = NodeConfig.builder().clusterName("c1").secret(SECRET).build();
        AtomicInteger registered = new AtomicInteger();
        RpcConfig r = c.toRpcConfig(42, tb -> registered.incrementAndGet(), tb -> registered.incrementAndGet());
        assertEquals(42, r.nodeId());
        assertEquals(2, registered.get(), "every extra registrar is applied");
        assertThrows(IllegalArgumentException.class, () -> c.toRpcConfig(256), "ids stop at 255");
    }

    @Test
    void toBuilderCopiesWithoutSharingState() {
        NodeConfig c = NodeConfig.builder().clusterName("c1").secret(SECRET)
                .seeds(List.of(new HostAndPort("10.0.0.1", 7400))).build();
        NodeConfig other = c.toBuilder().seeds(List.of(new HostAndPort("10.0.0.2", 7400))).nodeId(3).build();
        assertEquals(List.of(new HostAndPort("10.0.0.1", 7400)), c.seeds());
        assertEquals(OptionalInt.empty(), c.nodeId());
        assertEquals(List.of(new HostAndPort("10.0.0.2", 7400)), other.seeds());
        assertEquals(OptionalInt.of(3), other.nodeId());
        assertEquals(c.clusterName(), other.clusterName());
    }

    @Test
    void toStringHidesTheSecret() {
        NodeConfig c = NodeConfig.builder().clusterName("c1").secret(SECRET).nodeId(4).build();
        assertFalse(c.toString().contains(SECRET), c.toString());
        assertTrue(c.toString().contains("secret=***"), c.toString());
        assertTrue(c.toString().contains("node.id=4"), c.toString());
    }
}
