package org.kerrighed.node.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.TypeRegistrar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code krg checkpoint} and {@code krg restart} against two in-process nodes. Node 0 has root credentials; node 1
 * has uid 1000, so a tool served by node 1 may not checkpoint node 0's (root) processes. Every application is
 * started by node 0; its parts compute, then wait for {@link #RELEASE} before they end, so the test decides when
 * an application may finish.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CheckpointCliTest {
    private static final String SECRET = Base64.getEncoder().encodeToString(new byte[]{3, 1, 4, 1, 5, 9, 2, 6, 5, 3,
            5, 8, 9, 7, 9, 3, 2, 3, 8, 4});
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** Lets {@link SumPart}s that are done end (the nodes run in this JVM). */
    static final AtomicBoolean RELEASE = new AtomicBoolean();
    /** What each {@link SumJob} found, by {@code tag@pid} (its pid when it ended). */
    static final Map<String, Long> ANSWERS = new ConcurrentHashMap<>();

    static final TypeRegistrar TYPES = b -> b.range("krg-checkpoint-tests", 30_140, 30_149)
            .register(30_140, SumPart.class)
            .register(30_141, SumJob.class)
            .register(30_142, Sleep.class);

    /**
     * Sums {@code (i * 31 + 7) % 1009} over [from, to), 50,000 numbers a step with a 1 ms sleep; once done, waits for
     * {@link #RELEASE}; result: the sum. Its state is its fields.
     */
    static final class SumPart implements StepProgram {
        long to;
        long i;
        long sum;

        private SumPart() {
        }

        SumPart(long from, long to) {
            this.i = from;
            this.to = to;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(1));
            for (long end = Math.min(i + 50_000, to); i < end; i++) {
                sum += (i * 31 + 7) % 1009;
            }
            if (i < to || !RELEASE.get()) {
                return false;
            }
            ctx.setResult(sum);
            return true;
        }
    }

    /**
     * Starts one {@link SumPart} of [0, n) per node of {@code on}, adds up their sums and records the total in
     * {@link #ANSWERS}. Its progress is its fields (parts started, parts ended, total so far), each changed between
     * two safe points, so {@code run} entered again after a restart goes on where it was.
     */
    static final class SumJob implements Program {
        String tag;
        int[] on;
        long n;
        int started;
        int ended;
        long total;

        private SumJob() {
        }

        SumJob(String tag, long n, int... on) {
            this.tag = tag;
            this.n = n;
            this.on = on;
        }

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            while (started < on.length) {
                int k = started;
                ctx.spawn(new SumPart(n * k / on.length, n * (k + 1) / on.length),
                        SpawnOptions.defaults().onNode(on[k]).name(tag + "-part " + k));
                started++;
            }
            while (ended < on.length) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (e.status().code() != 0) {
                    return 1;
                }
                total += (Long) e.result();
                ended++;
            }
            ANSWERS.put(tag + "@" + ctx.pid(), total);
            ctx.setResult(total);
            return 0;
        }
    }

    /** Sleeps a minute, in steps. */
    static final class Sleep implements StepProgram {
        int steps;

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(10));
            return ++steps >= 6000 || RELEASE.get();
        }
    }

    private static final Capabilities CHECKPOINTABLE = Capabilities.DEFAULT.plus(Capability.CHECKPOINTABLE)
            .plus(Capability.DISTANT_FORK);

    private CliNodes fixture;
    private List<Node> nodes;
    private List<ClusterProcess> started;
    private Path dir;
    private Path checkpoints;
    private CapturedCli cli;

    @BeforeAll
    void startNodes() throws IOException {
        fixture = new CliNodes("cli-ckpt-", SECRET, TYPES);
        nodes = fixture.nodes;
        started = fixture.started;
        dir = fixture.dir;
        cli = fixture.cli;
        checkpoints = dir.resolve("checkpoints");
    }

    @AfterAll
    void stopNodes() throws IOException {
        RELEASE.set(true);
        fixture.close();
    }

    @BeforeEach
    void captureStreams() {
        RELEASE.set(false);
        fixture.beforeEach();
    }

    @AfterEach
    void restoreStreamsAndKill() {
        RELEASE.set(true);
        fixture.afterEach();
    }

    // ---------------------------------------------------------------- helpers

    private int krgVia(int via, String... args) {
        return fixture.krgVia(via, args);
    }

    /** Starts {@code job} from node 0 (root) on node {@code node}, checkpointable. */
    private ClusterProcess start(Program job, int node) {
        ClusterProcess p = nodes.get(0).epm().spawn(job, SpawnOptions.defaults().onNode(node).name("job")
                .capabilities(CHECKPOINTABLE));
        started.add(p);
        return p;
    }

    /** Waits until process {@code job} has {@code parts} live children. */
    private void awaitParts(ClusterProcess job, int parts) throws InterruptedException {
        await(() -> children(job.pid()).size() == parts, job + " has started its " + parts + " parts");
    }

    private List<ProcessInfo> children(int pid) {
        return nodes.get(0).epm().ps().stream().filter(p -> p.ppid() == pid && p.exit() == null).toList();
    }

    private Optional<ProcessInfo> status(int pid) {
        return nodes.get(0).epm().status(pid);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + WAIT + ": " + what);
            }
            Thread.sleep(20);
        }
    }

    private static ExitStatus exitOf(ClusterProcess p) throws InterruptedException {
        Optional<ExitStatus> s = p.waitFor(WAIT);
        assertTrue(s.isPresent(), p + " did not end within " + WAIT);
        return s.get();
    }

    /** The sum of every part of [0, n): what an uninterrupted run finds. */
    private static long expected(long n) {
        long s = 0;
        for (long i = 0; i < n; i++) {
            s += (i * 31 + 7) % 1009;
        }
        return s;
    }

    private void assertUsageError(int code, String... fragments) {
        assertEquals(2, code, cli.printed());
        for (String f : fragments) {
            assertTrue(cli.stderr().contains(f), "stderr should mention '" + f + "'" + cli.printed());
        }
        assertEquals("", cli.stdout(), cli.printed());
    }

    private void assertFailure(int code, String... fragments) {
        assertEquals(1, code, cli.printed());
        for (String f : fragments) {
            assertTrue(cli.stderr().contains(f), "stderr should mention '" + f + "'" + cli.printed());
        }
        assertEquals("", cli.stdout(), cli.printed());
    }

    // ---------------------------------------------------------------- tests

    @Test
    void anApplicationCheckpointedKilledAndRestartedEndsWithTheUninterruptedAnswer() throws Exception {
        long n = 3_000_000;
        ClusterProcess job = start(new SumJob("killed", n, 0, 1, 0), 1);
        String pid = Integer.toString(job.pid());
        awaitParts(job, 3);
        List<Integer> parts = children(job.pid()).stream().map(ProcessInfo::pid).sorted().toList();

        assertEquals(0, krgVia(0, "checkpoint", pid, "--dir", checkpoints.toString(), "--kill", "--description",
                "before the end"), cli.printed());
        Path v1 = checkpoints.resolve(pid).resolve("v1");
        List<String> lines = cli.stdout().lines().toList();
        assertEquals(3, lines.size(), cli.printed());
        assertEquals("checkpointed application " + pid + " as version 1 in " + v1, lines.get(0));
        assertTrue(lines.get(1).matches("4 processes \\(\\d+, \\d+, \\d+, \\d+\\) on nodes 0, 1; [0-9.]+(B|KiB)"
                + " written"), lines.get(1));
        for (int p : parts) {
            assertTrue(lines.get(1).contains(Integer.toString(p)), "part " + p + " saved: " + lines.get(1));
        }
        assertTrue(lines.get(2).matches("freeze [0-9.]+ ms, write [0-9.]+ ms, total [0-9.]+ ms; the application was"
                + " killed"), lines.get(2));
        assertTrue(Files.readString(v1.resolve("manifest.properties")).contains("before the end"));
        ExitStatus killed = exitOf(job);
        assertEquals(Signal.KILL, killed.signal(), killed.toString());
        assertTrue(status(job.pid()).isEmpty(), "the root is gone when krg checkpoint --kill returns");
        for (int p : parts) {
            assertTrue(status(p).isEmpty(), "part " + p + " is gone when krg checkpoint --kill returns");
        }

        assertEquals(0, krgVia(0, "restart", v1.toString()), cli.printed());
        lines = cli.stdout().lines().toList();
        assertEquals("restarted application " + pid + " from " + v1 + " by node 0: root process " + pid + " on node 1,"
                + " a child of INIT on node 0", lines.get(0), cli.printed());
        assertEquals(List.of("OLD", "PID", "PID", "NODE"), List.of(lines.get(1).trim().split(" +")), cli.printed());
        assertEquals(6, lines.size(), cli.printed());
        for (String row : lines.subList(2, 6)) {
            String[] cells = row.trim().split(" +");
            assertEquals(cells[0], cells[1], "the same pids: " + row);
            assertEquals(cells[0].equals(pid) ? "1" : Integer.toString(status(Integer.parseInt(cells[0]))
                    .orElseThrow().node()), cells[2], "where it runs: " + row);
        }
        ProcessInfo root = status(job.pid()).orElseThrow();
        assertEquals(1, root.ppid(), "a child of INIT");
        assertEquals(1, root.node());
        for (int p : parts) {
            assertEquals(job.pid(), status(p).orElseThrow().ppid(), "part " + p + " is the root's child again");
        }

        RELEASE.set(true);
        await(() -> ANSWERS.containsKey("killed@" + pid), "the restarted job ends");
        assertEquals(expected(n), ANSWERS.get("killed@" + pid), "the answer of an uninterrupted run");
    }

    @Test
    @SuppressWarnings("unchecked")
    void anApplicationsDirectoryRestartsItsNewestVersionAndPidsInUseNeedNewPids() throws InterruptedException {
        long n = 2_000_000;
        ClusterProcess job = start(new SumJob("copied", n, 1, 0), 0);
        String pid = Integer.toString(job.pid());
        awaitParts(job, 2);
        Path app = checkpoints.resolve(pid);

        assertEquals(0, krgVia(0, "checkpoint", pid, "--dir", checkpoints.toString()), cli.printed());
        assertTrue(cli.stdout().endsWith("; the application goes on\n"), cli.printed());
        assertEquals(0, krgVia(0, "checkpoint", pid, "--dir", checkpoints.toString(), "--json"), cli.printed());
        Map<String, Object> json = JsonText.object(cli.stdout().strip());
        assertEquals(List.of("app", "version", "directory", "pids", "nodes", "bytes", "freezeMillis", "writeMillis",
                "totalMillis", "leftOut", "killed"), List.copyOf(json.keySet()));
        assertEquals(List.of((long) job.pid(), 2L, app.resolve("v2").toString(), List.of(0L, 1L), List.of(), false),
                List.of(json.get("app"), json.get("version"), json.get("directory"), json.get("nodes"),
                        json.get("leftOut"), json.get("killed")), cli.printed());
        assertEquals(3, ((List<Object>) json.get("pids")).size(), cli.printed());
        assertTrue(job.isAlive(), "checkpoints without --kill leave it running");

        assertFailure(krgVia(0, "restart", app.toString()), "restart: node 0: cannot restart application " + pid
                + " from " + app.resolve("v2") + ": pid ", " is in use (restart with new pids to take others)");

        assertEquals(0, krgVia(0, "restart", app.toString(), "--new-pids", "--nodes", "0", "--json"), cli.printed());
        json = JsonText.object(cli.stdout().strip());
        assertEquals(List.of("app", "directory", "node", "root", "rootNode", "processes"), List.copyOf(json.keySet()));
        assertEquals(List.of((long) job.pid(), app.resolve("v2").toString(), 0L, 0L), List.of(json.get("app"),
                json.get("directory"), json.get("node"), json.get("rootNode")), cli.printed());
        int copy = ((Long) json.get("root")).intValue();
        assertNotEquals(job.pid(), copy, "a new pid for the root");
        List<Object> processes = (List<Object>) json.get("processes");
        assertEquals(3, processes.size(), cli.printed());
        for (Object o : processes) {
            Map<String, Object> p = (Map<String, Object>) o;
            assertEquals(List.of("oldPid", "pid", "node"), List.copyOf(p.keySet()));
            assertNotEquals(p.get("oldPid"), p.get("pid"), "every old pid is in use: " + p);
            assertEquals(0L, p.get("node"), "--nodes 0: " + p);
        }

        RELEASE.set(true);
        assertEquals(ExitStatus.exited(0), exitOf(job));
        await(() -> ANSWERS.containsKey("copied@" + copy), "the copy ends");
        assertEquals(expected(n), ANSWERS.get("copied@" + pid), "the original");
        assertEquals(expected(n), ANSWERS.get("copied@" + copy), "the copy, from the second checkpoint");
    }

    @Test
    void aCorruptedCheckpointIsRefusedWithTheReasonAndNothingStarts() throws Exception {
        ClusterProcess job = start(new SumJob("corrupted", 1_000_000, 0), 0);
        String pid = Integer.toString(job.pid());
        awaitParts(job, 1);
        assertEquals(0, krgVia(0, "checkpoint", pid, "--dir", checkpoints.toString(), "--kill"), cli.printed());
        Path v1 = checkpoints.resolve(pid).resolve("v1");
        Path ghost = v1.resolve("process-" + pid + ".ghost");
        byte[] bytes = Files.readAllBytes(ghost);
        bytes[bytes.length - 10] ^= 0x40;
        Files.write(ghost, bytes);

        assertFailure(krgVia(0, "restart", v1.toString()), "restart: ", ghost.toString(), "checksum");
        assertTrue(status(job.pid()).isEmpty(), "nothing started");

        Path empty = Files.createDirectories(dir.resolve("not-a-checkpoint"));
        assertFailure(krgVia(0, "restart", empty.toString()), "restart: " + empty + " is not a checkpoint");
        assertUsageError(krgVia(0, "restart", dir.resolve("nowhere").toString()), "restart: no directory "
                + dir.resolve("nowhere") + " on node 0");
        assertUsageError(krgVia(0, "restart", v1.toString(), "--nodes", "0,7"), "restart: no live node 7");
    }

    @Test
    void checkpointReportsTheNodesRefusalsAndTheApplicationGoesOn() throws InterruptedException {
        ClusterProcess plain = nodes.get(0).epm().spawn(new Sleep(), SpawnOptions.defaults().onNode(1).name("plain"));
        started.add(plain);
        assertFailure(krgVia(0, "checkpoint", Integer.toString(plain.pid()), "--dir", checkpoints.toString()),
                "checkpoint: process " + plain.pid() + " of application " + plain.pid() + " may not be checkpointed:"
                        + " CHECKPOINTABLE is not effective");
        assertTrue(plain.isAlive(), "it goes on");
        assertFalse(Files.exists(checkpoints.resolve(Integer.toString(plain.pid())).resolve("v1")));

        ClusterProcess job = start(new SumJob("refused", 1_000_000, 1), 0);
        awaitParts(job, 1);
        assertFailure(krgVia(1, "checkpoint", Integer.toString(job.pid()), "--dir", checkpoints.toString()),
                "checkpoint: uid=1000 gid=1000 may not checkpoint process " + job.pid());
        assertTrue(job.isAlive(), "it goes on");
        assertFailure(krgVia(0, "checkpoint", "4242"), "checkpoint: no live process 4242");
    }

    @Test
    void theCommandsCheckTheirArgumentsBeforeConnectingAndExplainThemselves() {
        assertUsageError(cli.run("checkpoint"), "Missing required parameter: 'PID'");
        assertUsageError(cli.run("checkpoint", "abc"), "'abc' is not an int");
        assertUsageError(cli.run("checkpoint", "1"), "checkpoint: PID: a process id is greater than 1");
        assertUsageError(cli.run("checkpoint", "5", "6"), "Unmatched argument");
        assertUsageError(cli.run("restart"), "Missing required parameter: 'DIR'");
        assertUsageError(cli.run("restart", "/tmp", "--nodes", "0,300"), "restart: --nodes: a node id is 0-255, got"
                + " 300");
        assertUsageError(cli.run("restart", "/tmp", "--nodes", "x"), "'x' is not an int");

        assertEquals(0, cli.run("checkpoint", "--help"), cli.printed());
        for (String s : List.of("Usage: krg checkpoint", "PID", "--dir", "--kill", "--refuse-shared", "--description",
                "--json", "CHECKPOINTABLE", "krg restart")) {
            assertTrue(cli.stdout().contains(s), "checkpoint --help mentions " + s + cli.printed());
        }
        assertEquals(0, cli.run("restart", "--help"), cli.printed());
        for (String s : List.of("Usage: krg restart", "DIR", "--nodes", "--new-pids", "--json", "newest", "INIT")) {
            assertTrue(cli.stdout().contains(s), "restart --help mentions " + s + cli.printed());
        }
    }
}
