package org.kerrighed.node.cli;

import org.kerrighed.epm.testing.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.Applications;
import org.kerrighed.epm.Signal;
import org.kerrighed.node.AppLauncher;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code krg run} against two in-process nodes, with an application JAR built at test time (its classes are on no
 * classpath): shipping once, exit codes, arguments, capabilities, refusals, detaching, and the hangup of a tool
 * that goes away.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KrgRunTest {
    private static final String SECRET = Base64.getEncoder().encodeToString(new byte[]{21, 22, 23, 24, 25, 26, 27,
            28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40});
    static final Map<String, String> SOURCES = Map.of(
            "demoapp.Main", """
                    package demoapp;

                    import org.kerrighed.epm.*;

                    /** No argument: exits 7. "child N": runs a Worker on node N and exits with its code. */
                    public class Main implements Program {
                        @Override
                        public int run(ProcessContext ctx) throws Exception {
                            if (ctx.args().isEmpty()) {
                                return 7;
                            }
                            ctx.spawn(new Worker(), SpawnOptions.defaults().onNode(Integer.parseInt(ctx.args().get(1))));
                            return ctx.waitAny().status().code();
                        }
                    }
                    """,
            "demoapp.Worker", """
                    package demoapp;

                    import org.kerrighed.epm.*;

                    class Worker implements Program {
                        @Override
                        public int run(ProcessContext ctx) {
                            return 40 + ctx.node();
                        }
                    }
                    """,
            "demoapp.Hello", """
                    package demoapp;

                    import org.kerrighed.epm.*;

                    public class Hello {
                        public static void main(String[] args) {
                            ProcessContext ctx = ClusterThread.context().orElseThrow();
                            ctx.out().println("hello " + String.join(",", args) + " from node " + ctx.node());
                        }
                    }
                    """,
            "demoapp.Sleeper", """
                    package demoapp;

                    import org.kerrighed.epm.*;

                    public class Sleeper implements Program {
                        @Override
                        public int run(ProcessContext ctx) throws Exception {
                            ctx.sleep(java.time.Duration.ofSeconds(60));
                            return 0;
                        }
                    }
                    """);
    private static final Pattern STARTED = Pattern.compile("process (\\d+) on node (\\d+)");

    private final String cluster = "cli-run-" + Long.toHexString(new SecureRandom().nextLong() >>> 8);
    private final List<Node> nodes = new ArrayList<>();
    private final CapturedCli cli = new CapturedCli();
    private Path dir;
    private Path secret;
    private Path jar;
    private NodeConfig config;

    @BeforeAll
    void startNodes() throws IOException {
        dir = Files.createTempDirectory("krg-run-test-");
        secret = dir.resolve("secret");
        Files.writeString(secret, SECRET + "\n");
        jar = TestJars.build(dir.resolve("app.jar"), SOURCES, Map.of());
        config = NodeConfig.builder().clusterName(cluster).secretFile(secret)
                .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                .storageDir(dir.resolve("storage")).jmx(false).build();
        nodes.add(Kerrighed.join(config.toBuilder().nodeId(0).build()));
        nodes.add(Kerrighed.join(config.toBuilder().nodeId(1).seeds(List.of(nodes.get(0).rpc().address())).build()));
    }

    @AfterAll
    void stopNodes() throws IOException {
        for (Node n : nodes.reversed()) {
            n.close();
        }
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @BeforeEach
    void captureStreams() {
        cli.install();
    }

    @AfterEach
    void restoreStreams() {
        cli.restore();
    }

    private int run(String... args) {
        List<String> all = new ArrayList<>(List.of("run", "--seed", nodes.get(0).rpc().address().toString(),
                "--cluster", cluster, "--secret-file", secret.toString()));
        all.addAll(List.of(args));
        return cli.run(all.toArray(String[]::new));
    }

    /** The pid of the process krg said it started on {@code node}. */
    private int started(int node) {
        Matcher m = STARTED.matcher(cli.stdout());
        assertTrue(m.find(), "no 'process P on node N' line" + cli.printed());
        assertEquals(node, Integer.parseInt(m.group(2)), cli.printed());
        return Integer.parseInt(m.group(1));
    }

    @Test
    void runIsACommandAndChecksItsArgumentsBeforeConnecting() throws IOException {
        assertEquals(0, Krg.run("run", "--help"), cli.printed());
        assertTrue(cli.stdout().startsWith("Usage: krg run"), cli.printed());
        assertEquals(2, run(dir.resolve("missing.jar").toString(), "demoapp.Main"), cli.printed());
        assertTrue(cli.stderr().contains("APP.JAR: no such file: "), cli.printed());
        Path notAJar = Files.writeString(dir.resolve("not.jar"), "hello");
        assertEquals(2, run(notAJar.toString(), "demoapp.Main"), cli.printed());
        assertTrue(cli.stderr().contains("is not a readable JAR file"), cli.printed());
        assertEquals(2, run("--node", "300", jar.toString(), "demoapp.Main"), cli.printed());
        assertTrue(cli.stderr().contains("--node: must be in 0-255, got 300"), cli.printed());
        assertEquals(2, run("--caps", "+FLY", jar.toString(), "demoapp.Main"), cli.printed());
        assertTrue(cli.stderr().contains("--caps: unknown capability 'FLY'"), cli.printed());
        assertEquals(2, run(jar.toString()), cli.printed());
        assertTrue(cli.stderr().contains("Missing required parameter: 'MAIN'"), cli.printed());
    }

    @Test
    void theJarIsSentOnceAndTheToolExitsWithTheProcessCode() throws IOException {
        Path fresh = TestJars.build(dir.resolve("fresh.jar"), SOURCES, Map.of("fresh.txt", "sent once"));
        String app = Applications.checksum(fresh);
        assertFalse(nodes.get(0).epm().applications().has(app));
        assertEquals(7, run("--node", "1", fresh.toString(), "demoapp.Main"), cli.printed());
        int pid = started(1);
        assertTrue(cli.stdout().contains("process " + pid + " exited 7"), cli.printed());
        assertTrue(cli.stderr().contains("krg run: sent " + fresh + " to node 0"), cli.printed());
        assertTrue(nodes.get(0).epm().applications().has(app));
        assertTrue(nodes.get(1).epm().applications().has(app), "node 1 fetched it from node 0");

        assertEquals(7, run("--node", "1", fresh.toString(), "demoapp.Main"), cli.printed());
        assertFalse(cli.stderr().contains("sent"), "node 0 holds the JAR now: not sent again" + cli.printed());
    }

    @Test
    void aStaticMainGetsEveryArgumentAfterMainAndPrintsOnItsNodesStdout() {
        assertEquals(0, run("--node", "1", jar.toString(), "demoapp.Hello", "a", "-b", "--node", "2"), cli.printed());
        int pid = started(1);
        assertTrue(cli.stdout().contains("[" + pid + "] hello a,-b,--node,2 from node 1"), cli.printed());
        assertTrue(cli.stdout().contains("process " + pid + " exited 0"), cli.printed());
    }

    @Test
    void capsGiveTheProcessDistantFork() {
        assertEquals(41, run("--node", "0", "--caps", "+DISTANT_FORK", jar.toString(), "demoapp.Main", "child", "1"),
                cli.printed());
        assertEquals(1, run("--node", "0", jar.toString(), "demoapp.Main", "child", "1"), cli.printed());
        assertTrue(cli.stdout().contains("exited 1 (uncaught org.kerrighed.epm.CapabilityException"), cli.printed());
    }

    @Test
    void theNodeRefusesAMissingMainClassOrNode() throws IOException {
        assertEquals(2, run(jar.toString(), "demoapp.Nope"), cli.printed());
        assertTrue(cli.stderr().contains("run: no class demoapp.Nope in application "
                + Applications.checksum(jar).substring(0, 12)), cli.printed());
        assertEquals(2, run("--node", "9", jar.toString(), "demoapp.Main"), cli.printed());
        assertTrue(cli.stderr().contains("node 9 is not a live member of the cluster"), cli.printed());
    }

    @Test
    void noWaitPrintsThePidAndLeavesTheProcessRunning() throws Exception {
        assertEquals(0, run("--no-wait", "--node", "1", jar.toString(), "demoapp.Sleeper"), cli.printed());
        int pid = started(1);
        assertTrue(nodes.get(0).epm().status(pid).isPresent(), "still running");
        nodes.get(0).epm().kill(pid, Signal.KILL);
        awaitGone(pid);
    }

    @Test
    void aToolThatGoesAwayHangsUpItsProcess() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicInteger pid = new AtomicInteger();
        RpcClient tool = NodeAdmin.connect(config, nodes.get(0).rpc().address());
        Thread waiter = Thread.ofVirtual().start(() -> {
            try {
                AppLauncher.run(tool, jar, "demoapp.Sleeper", List.of(), 1, null, true, Duration.ofSeconds(10),
                        (p, sent) -> {
                            pid.set(p.pid());
                            started.countDown();
                        });
            } catch (Exception expected) {
                // the connection closes under it
            }
        });
        assertTrue(started.await(20, TimeUnit.SECONDS));
        assertTrue(nodes.get(1).epm().status(pid.get()).isPresent(), "running");
        tool.close();
        awaitGone(pid.get());
        waiter.join(10_000);
        assertFalse(waiter.isAlive());
    }

    private void awaitGone(int pid) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (nodes.get(0).epm().status(pid).isPresent()) {
            assertTrue(System.nanoTime() < end, "process " + pid + " still runs");
            Thread.sleep(20);
        }
    }
}
