package org.kerrighed.node.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.node.FsAdmin;
import org.kerrighed.node.FsCopy;
import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.RpcClient;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code krg fs} against two in-process nodes (node 1 acting as uid 1000): every subcommand, a multi-MiB file copied
 * in through one node and out through the other byte for byte, a copy that fails half-way leaving nothing, the
 * refusals (exit 1 with the path and the reason, exit 2 for bad arguments), and the JSON of each command. Each test
 * works in a directory of its own under {@code /t}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FsCliTest {
    private static final String SECRET = Base64.getEncoder().encodeToString(new byte[]{9, 5, 5, 1, 2, 3, 4, 8, 7, 6,
            21, 22, 23, 24, 25, 26, 27, 28, 29, 31});

    private CliNodes fixture;
    private Path local;

    @BeforeAll
    void startNodes() throws IOException {
        fixture = new CliNodes("cli-fs-", SECRET, b -> { });
    }

    @AfterAll
    void stopNodes() throws IOException {
        fixture.close();
    }

    @BeforeEach
    void captureStreams() throws IOException {
        fixture.beforeEach();
        local = Files.createTempDirectory(fixture.dir, "local-");
    }

    @AfterEach
    void restoreStreams() {
        fixture.afterEach();
    }

    private int krg(String... args) {
        return fixture.krgVia(0, args);
    }

    /** Runs krg through node {@code via} and asserts it succeeded; returns stdout. */
    private String okVia(int via, String... args) {
        int code = fixture.krgVia(via, args);
        assertEquals(0, code, String.join(" ", args) + fixture.cli.printed());
        return fixture.cli.stdout();
    }

    private String ok(String... args) {
        return okVia(0, args);
    }

    /** Runs krg through node 0, asserts it failed with {@code code} and printed nothing on stdout; returns stderr. */
    private String fails(int code, String... args) {
        assertEquals(code, krg(args), String.join(" ", args) + fixture.cli.printed());
        assertEquals("", fixture.cli.stdout(), fixture.cli.printed());
        String err = fixture.cli.stderr().strip();
        assertFalse(err.isEmpty(), fixture.cli.printed());
        return err;
    }

    /** Like {@link #fails}, for a failure that is one line. */
    private String failsWithLine(int code, String... args) {
        String err = fails(code, args);
        assertFalse(err.contains("\n"), "one line" + fixture.cli.printed());
        return err;
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private List<String> names(String dir) {
        return ok("fs", "ls", dir).lines().toList();
    }

    @Test
    void helpListsEverySubcommand() {
        String out = ok("fs", "--help");
        for (String sub : List.of("ls", "cat", "put", "get", "rm", "mkdir", "status")) {
            assertTrue(out.matches("(?s).*\n +" + sub + " .*"), sub + "\n" + out);
        }
        assertTrue(ok("fs", "put", "--help").contains("--replication=N"), fixture.cli.printed());
    }

    @Test
    void mkdirLsAndRmThroughEitherNode() {
        ok("fs", "mkdir", "-p", "/t/tree/a/b");
        ok("fs", "mkdir", "-p", "/t/tree/a/b");                               // exists: no error with -p
        assertEquals("", ok("fs", "mkdir", "/t/tree/c"));
        assertEquals(List.of("a/", "c/"), names("/t/tree"));
        assertEquals(List.of("b/"), List.of(okVia(1, "fs", "ls", "t/tree/a").strip()), "relative, through node 1");

        String table = ok("fs", "ls", "-l", "/t/tree");
        List<String> lines = table.lines().toList();
        assertEquals(3, lines.size(), table);
        assertTrue(lines.get(0).matches("TYPE +MODE +OWNER +GROUP +SIZE +REPL +MODIFIED +NAME"), table);
        assertTrue(lines.get(1).matches("dir +rwxr-xr-x +0 +0 +0 +- +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +a"),
                table);

        Map<String, Object> json = JsonText.object(ok("fs", "ls", "--json", "/t/tree"));
        assertEquals("/t/tree", json.get("path"));
        assertEquals(true, json.get("directory"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> entries = (List<Map<String, Object>>) json.get("entries");
        assertEquals(List.of("a", "c"), entries.stream().map(e -> e.get("name")).toList());
        assertEquals("directory", entries.get(0).get("type"));
        assertEquals("0755", entries.get(0).get("mode"));
        assertEquals("0", entries.get(0).get("owner"));

        assertEquals("fs rm: /t/tree/a: directory not empty", failsWithLine(1, "fs", "rm", "/t/tree/a"));
        assertEquals("", ok("fs", "rm", "/t/tree/c"));
        assertEquals(1, fixture.krgVia(1, "fs", "rm", "-r", "/t/tree/a"), "node 1 acts as uid 1000, root's directory"
                + fixture.cli.printed());
        assertTrue(fixture.cli.stderr().startsWith("fs rm: /t/tree/a"), fixture.cli.printed());
        assertTrue(fixture.cli.stderr().contains(": permission denied"), fixture.cli.printed());
        assertEquals("", ok("fs", "rm", "-r", "/t/tree/a"));
        assertEquals(List.of(), names("/t/tree"));
    }

    @Test
    void putThenGetAMultiMebibyteFileByteForByte() throws IOException {
        byte[] data = random((6 << 20) + 12_345, 42);
        Path in = Files.write(local.resolve("big.bin"), data);
        ok("fs", "mkdir", "-p", "/t/copy");

        String put = ok("fs", "put", in.toString(), "/t/copy/", "--replication", "2");
        assertTrue(put.matches("put " + java.util.regex.Pattern.quote(in.toString())
                + " -> /t/copy/big\\.bin: 6\\.3 MB in \\d+\\.\\d s \\(\\d+\\.\\d MB/s\\), replication 2\n"), put);
        String table = ok("fs", "ls", "-l", "/t/copy/big.bin");
        assertTrue(table.lines().toList().get(1).matches("file +rw-r--r-- +0 +0 +" + data.length
                + " +2 +.* big\\.bin"), table);
        assertEquals(List.of("big.bin"), names("/t/copy"), "no hidden file left");

        Path out = local.resolve("out.bin");
        String get = okVia(1, "fs", "get", "/t/copy/big.bin", out.toString(), "--json");
        Map<String, Object> summary = JsonText.object(get);
        assertEquals((long) data.length, summary.get("bytes"));
        assertEquals("/t/copy/big.bin", summary.get("from"));
        assertEquals(out.toString(), summary.get("to"));
        assertArrayEquals(data, Files.readAllBytes(out), "the copy out through node 1 is the file put through 0");

        Path dir = Files.createDirectory(local.resolve("into"));
        okVia(1, "fs", "get", "/t/copy/big.bin", dir.toString(), "-q");
        assertArrayEquals(data, Files.readAllBytes(dir.resolve("big.bin")), "into a directory, under PATH's name");
        assertEquals(List.of("big.bin"), listLocal(dir), "no temporary file left");

        byte[] smaller = random(100_000, 7);
        Files.write(in, smaller);
        assertEquals("fs put: /t/copy/big.bin: already exists (--force replaces it)",
                failsWithLine(1, "fs", "put", in.toString(), "/t/copy/big.bin"));
        Map<String, Object> replaced = JsonText.object(ok("fs", "put", in.toString(), "/t/copy/big.bin", "-f",
                "--replication", "1", "--json"));
        assertEquals(100_000L, replaced.get("bytes"));
        assertEquals(1L, replaced.get("replication"));
        assertEquals("fs get: LOCAL: " + out + " exists (--force replaces it)",
                failsWithLine(2, "fs", "get", "/t/copy/big.bin", out.toString()));
        okVia(1, "fs", "get", "-f", "/t/copy/big.bin", out.toString());
        assertArrayEquals(smaller, Files.readAllBytes(out));
    }

    @Test
    void catStreamsAFileAndAnEmptyOne() throws IOException {
        Path text = Files.writeString(local.resolve("hello.txt"), "hello, cluster\n");
        Path empty = Files.write(local.resolve("empty"), new byte[0]);
        ok("fs", "mkdir", "-p", "/t/cat");
        ok("fs", "put", text.toString(), "/t/cat/hello.txt");
        ok("fs", "put", empty.toString(), "/t/cat");
        assertEquals("hello, cluster\n", okVia(1, "fs", "cat", "/t/cat/hello.txt"));
        assertEquals("", ok("fs", "cat", "/t/cat/empty"));
        assertTrue(ok("fs", "ls", "-l", "/t/cat").matches("(?s).*\nfile +rw-r--r-- +0 +0 +0 +\\d .* empty\n.*"),
                fixture.cli.printed());
        assertEquals("fs cat: /t/cat: is a directory", failsWithLine(1, "fs", "cat", "/t/cat"));
    }

    @Test
    void statusCountsFilesAndEveryNodesStorage() throws IOException {
        ok("fs", "mkdir", "-p", "/t/status");
        ok("fs", "put", Files.write(local.resolve("s.bin"), random(300_000, 3)).toString(), "/t/status/s.bin",
                "--replication", "2");
        String text = ok("fs", "status");
        assertTrue(text.startsWith("NODE  USED"), text);
        assertTrue(text.matches("(?s).*\n +0 +\\d.*\n +1 +\\d.*"), text);
        assertTrue(text.contains("\nunder-replicated "), text);
        assertTrue(text.matches("(?s).*\nrepairs \\d+ chunks \\(.*\\), repairing (yes|no)\n.*"), text);

        Map<String, Object> json = JsonText.object(okVia(1, "fs", "status", "--json"));
        assertEquals(1L, json.get("node"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> nodes = (List<Map<String, Object>>) json.get("nodes");
        assertEquals(List.of(0L, 1L), nodes.stream().map(n -> n.get("node")).toList());
        assertTrue((Long) json.get("files") >= 1, json.toString());
        assertTrue((Long) json.get("directories") >= 2, json.toString());
        assertTrue((Long) json.get("chunks") >= 1, json.toString());
        long stored = nodes.stream().mapToLong(n -> (Long) n.get("usedBytes")).sum();
        assertTrue(stored >= 2 * 300_000, "two copies of the file at least: " + json);
        assertNull(nodes.getFirst().get("quotaBytes"), "no quota");
        assertEquals(0L, json.get("lost"));
    }

    @Test
    void refusalsNameThePathAndExitWith1() {
        ok("fs", "mkdir", "-p", "/t/err/dir");
        assertEquals("fs ls: /t/err/nope: no such file or directory", failsWithLine(1, "fs", "ls", "/t/err/nope"));
        assertEquals("fs cat: /t/err/nope: no such file or directory", failsWithLine(1, "fs", "cat", "t/err/nope"));
        assertEquals("fs rm: /t/err/nope: no such file or directory", failsWithLine(1, "fs", "rm", "/t/err/nope"));
        assertEquals("fs mkdir: /t/err/dir: already exists", failsWithLine(1, "fs", "mkdir", "/t/err/dir"));
        assertTrue(failsWithLine(1, "fs", "mkdir", "/t/err/x/y").startsWith("fs mkdir: /t/err/x"),
                fixture.cli.printed());
        assertEquals("fs rm: /: permission denied (the root directory is not removed)",
                failsWithLine(1, "fs", "rm", "-r", "/"));
        assertTrue(failsWithLine(1, "fs", "ls", "/proc/nothing-here").startsWith("fs ls: /proc/nothing-here: "),
                fixture.cli.printed());
    }

    @Test
    void eachNodeActsWithItsOwnCredentials() throws IOException {
        ok("fs", "mkdir", "-p", "/t/perm/open");
        Files.setPosixFilePermissions(fixture.nodes.get(0).fs().path("/t/perm/open"),
                PosixFilePermissions.fromString("rwxrwxrwx"));
        Path f = Files.writeString(local.resolve("p.txt"), "uid 1000's\n");
        assertEquals(1, fixture.krgVia(1, "fs", "put", f.toString(), "/t/perm/p.txt"), fixture.cli.printed());
        assertEquals("fs put: /t/perm: permission denied (write permission on the directory)\n",
                fixture.cli.stderr(), "root's directory, to node 1 acting as uid 1000");
        assertEquals(List.of("open/"), names("/t/perm"), "nothing written");

        okVia(1, "fs", "put", f.toString(), "/t/perm/open");
        assertTrue(ok("fs", "ls", "-l", "/t/perm/open/p.txt").lines().toList().get(1)
                .matches("file +rw-r--r-- +1000 +1000 +11 .* p\\.txt"), fixture.cli.printed());
    }

    @Test
    void badArgumentsExitWith2() {
        Path missing = local.resolve("missing.bin");
        assertEquals("fs put: LOCAL: no such file: " + missing,
                failsWithLine(2, "fs", "put", missing.toString(), "/t/x"));
        assertEquals("fs put: LOCAL: not a regular file: " + local,
                failsWithLine(2, "fs", "put", local.toString(), "/t/x"));
        assertEquals("fs put: --replication: must be in 1-8, got 0",
                failsWithLine(2, "fs", "put", missing.toString(), "/t/x", "--replication", "0"));
        assertEquals("fs get: LOCAL: no such directory: " + local.resolve("no/such"),
                failsWithLine(2, "fs", "get", "/t/x", local.resolve("no/such/file").toString()));
        assertEquals("fs get: PATH: / names no file", failsWithLine(2, "fs", "get", "/", local.toString()));

        String err = fails(2, "fs", "put", "onlyone");
        assertTrue(err.contains("Missing required parameter: 'PATH'"), err);
        assertTrue(err.contains("Usage: krg fs put"), "with the usage: " + err);
        assertTrue(fails(2, "fs", "cat").contains("Usage: krg fs cat"), fixture.cli.printed());
        assertTrue(fails(2, "fs", "frobnicate").contains("Unmatched argument"), fixture.cli.printed());
        assertTrue(fails(2, "fs").contains("Usage: krg fs"), fixture.cli.printed());
        assertTrue(fails(2, "fs", "ls", "-x").contains("Unknown option: '-x'"), fixture.cli.printed());
    }

    @Test
    void anUnreachableNodeExitsWith1() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();                             // closed again: connections are refused
        }
        int code = fixture.cli.run("fs", "ls", "/", "--seed", "127.0.0.1:" + port, "--cluster", fixture.cluster,
                "--secret-file", fixture.secret.toString());
        assertEquals(1, code, fixture.cli.printed());
        assertTrue(fixture.cli.stderr().lines().anyMatch(l -> l.startsWith("fs ls: ")), fixture.cli.printed());
        assertEquals("", fixture.cli.stdout(), fixture.cli.printed());
    }

    @Test
    void aPutThatFailsHalfWayLeavesNothing() throws Exception {
        ok("fs", "mkdir", "-p", "/t/half");
        NodeConfig c = NodeConfig.builder().clusterName(fixture.cluster).secretFile(fixture.secret).build();
        InputStream failing = new InputStream() {
            private long left = 3 << 20;

            @Override
            public int read() throws IOException {
                if (left-- <= 0) {
                    throw new IOException("the disk went away");
                }
                return 7;
            }
        };
        Duration timeout = Duration.ofSeconds(10);
        try (RpcClient tool = NodeAdmin.connect(c, fixture.nodes.get(0).rpc().address())) {
            FsAdmin.WriteRequest r = new FsAdmin.WriteRequest("/t/half/f", "f", 8 << 20, 0, false, 1 << 20, 4);
            IOException e = assertThrows(IOException.class, () -> FsCopy.write(tool, r, failing, timeout, b -> { }));
            assertEquals("the disk went away", e.getMessage());
        }
        Path fs = fixture.nodes.get(1).fs().path("/t/half");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (names("/t/half").size() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);                   // the node deletes its hidden file once it sees the abort
        }
        assertEquals(List.of(), names("/t/half"));
        try (var s = Files.list(fs)) {
            assertEquals(0, s.count(), "as node 1 sees it");
        }
    }

    @Test
    void aGetThatFailsLeavesNothingLocally() {
        ok("fs", "mkdir", "-p", "/t/getfail");
        Path target = local.resolve("x");
        assertEquals("fs get: /t/getfail: is a directory",
                failsWithLine(1, "fs", "get", "/t/getfail", target.toString()));
        assertEquals(List.of(), listLocal(local), "no temporary file left");
    }

    private static List<String> listLocal(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
