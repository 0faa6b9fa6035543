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
import org.kerrighed.epm.ProcessState;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.node.Node;
import org.kerrighed.node.PiWorkload;
import org.kerrighed.rpc.TypeRegistrar;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code krg ps}, {@code top}, {@code kill}, {@code capset} and {@code migrate} against two in-process nodes that run the test's
 * programs. Node 0 has root credentials; node 1 has uid 1000, so a tool served by node 1 may not act on node 0's
 * (root) processes. Every process is started by node 0, on the node the test names.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProcessCliTest {
    private static final String SECRET = Base64.getEncoder().encodeToString(new byte[]{9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
            11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
    private static final Duration WAIT = Duration.ofSeconds(20);
    /** Lets {@link Hold} processes end (the nodes run in this JVM). */
    static final AtomicBoolean RELEASE = new AtomicBoolean();

    static final TypeRegistrar TYPES = b -> b.range("krg-process-tests", 30_100, 30_109)
            .register(30_100, Sleep.class)
            .register(30_101, Spin.class)
            .register(30_102, Hold.class)
            .register(30_103, ZombieParent.class)
            .register(30_104, ExitWith.class)
            .register(30_105, HoldsDistantFork.class)
            .register(30_106, Ticks.class);

    /** Sleeps {@code millis} at a safe point, then exits 0. */
    record Sleep(long millis) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(millis));
            return 0;
        }
    }

    /** Uses {@code cpuMillis} of CPU (safe points in between; at most 20 s of wall time), then sleeps a minute. */
    record Spin(long cpuMillis) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            var threads = ManagementFactory.getThreadMXBean();
            long start = threads.getCurrentThreadCpuTime();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long x = 0;
            while (threads.getCurrentThreadCpuTime() - start < cpuMillis * 1_000_000 && System.nanoTime() < deadline) {
                for (int i = 0; i < 100_000; i++) {
                    x += i ^ x;
                }
                ctx.safepoint();
            }
            ctx.sleep(Duration.ofSeconds(60 + (x & 1)));
            return 0;
        }
    }

    /** Spins with no safe point, deaf to interrupts, until {@link #RELEASE} (or 20 s). */
    record Hold() implements Program {
        @Override
        public int run(ProcessContext ctx) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!RELEASE.get() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            return 0;
        }
    }

    /** Starts an {@link ExitWith}(3) here, never waits for it (a zombie), and sleeps a minute. */
    record ZombieParent() implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ctx.spawn(new ExitWith(3), SpawnOptions.defaults().onNode(ctx.node()).name("doomed"));
            ctx.sleep(Duration.ofSeconds(60));
            return 0;
        }
    }

    record ExitWith(int code) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            return code;
        }
    }

    /** Set by {@link HoldsDistantFork} once it holds the capability (the nodes run in this JVM). */
    static final AtomicBoolean HOLDS_DISTANT_FORK = new AtomicBoolean();

    /** Holds DISTANT_FORK in use while it sleeps a minute. */
    record HoldsDistantFork() implements Program {
        @Override
        public int run(ProcessContext ctx) throws Exception {
            try (AutoCloseable ignored = ctx.useCapability(Capability.DISTANT_FORK)) {
                HOLDS_DISTANT_FORK.set(true);
                ctx.sleep(Duration.ofSeconds(60));
            }
            return 0;
        }
    }

    /** Sleeps 10 ms per step until {@link #RELEASE} (or 60 s); result {steps, bitmask of the nodes it ran on}. */
    static final class Ticks implements StepProgram {
        long steps;
        long seen;

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            seen |= 1L << ctx.node();
            ctx.sleep(Duration.ofMillis(10));
            steps++;
            if (!RELEASE.get() && steps < 6000) {
                return false;
            }
            ctx.setResult(new long[]{steps, seen});
            return true;
        }
    }

    /** Holds a thread in a field, which cannot travel: a move of it fails. Never leaves the node it starts on. */
    static final class HoldsThread implements StepProgram {
        final Thread thread = Thread.currentThread();

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(10));
            return RELEASE.get();
        }
    }

    private static final Capabilities MIGRATABLE = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE);

    private CliNodes fixture;
    private List<Node> nodes;
    private List<ClusterProcess> started;
    private CapturedCli cli;

    @BeforeAll
    void startNodes() throws IOException {
        fixture = new CliNodes("cli-ps-", SECRET, TYPES);
        nodes = fixture.nodes;
        started = fixture.started;
        cli = fixture.cli;
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

    /** Starts {@code program} from node 0 (root) on {@code node}, as {@code name}. */
    private ClusterProcess spawn(Program program, int node, String name) {
        return spawn(program, SpawnOptions.defaults().onNode(node).name(name));
    }

    private ClusterProcess spawn(Program program, SpawnOptions options) {
        ClusterProcess p = nodes.get(0).epm().spawn(program, options);
        started.add(p);
        return p;
    }

    private ProcessInfo status(int pid) {
        return nodes.get(0).epm().status(pid).orElseThrow(() -> new AssertionError("no process " + pid));
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

    /** The ps table's row of {@code pid}, split into its ten columns (COMMAND keeps its spaces). */
    private static List<String> row(String table, int pid) {
        for (String line : table.lines().toList()) {
            String[] cells = line.trim().split(" +", 10);
            if (cells[0].equals(Integer.toString(pid))) {
                return List.of(cells);
            }
        }
        fail("no row for pid " + pid + " in\n" + table);
        return null;
    }

    private static boolean hasRow(String table, int pid) {
        return table.lines().anyMatch(l -> l.trim().startsWith(pid + " "));
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
    }

    // ---------------------------------------------------------------- ps

    @Test
    void psListsTheProcessesOfEveryNodeWithTheirColumns() throws InterruptedException {
        ClusterProcess a = spawn(new Sleep(60_000), 0, "sleeper-a");
        ClusterProcess b = spawn(new Sleep(60_000), 1, "sleeper-b");
        ClusterProcess z = spawn(new ZombieParent(), 1, "zombie-parent");
        await(() -> nodes.get(0).epm().ps().stream().anyMatch(p -> p.ppid() == z.pid() && p.exit() != null),
                "the zombie child of " + z.pid() + " is listed");
        int zombie = nodes.get(0).epm().ps().stream().filter(p -> p.ppid() == z.pid()).findFirst().orElseThrow().pid();

        assertEquals(0, krgVia(1, "ps"), cli.printed());
        String table = cli.stdout();
        assertEquals(Processes.HEADERS, List.of(table.lines().findFirst().orElseThrow().trim().split(" +")), cli.printed());
        for (ClusterProcess p : List.of(a, b)) {
            List<String> r = row(table, p.pid());
            assertEquals(List.of(Integer.toString(p.pid()), "1", Integer.toString(p.pid()), Integer.toString(p.node()),
                    "0"), r.subList(0, 5), cli.printed());
            assertTrue(r.get(5).matches("[RS]"), "state " + r.get(5) + cli.printed());
            assertTrue(r.get(6).matches("\\d+:\\d\\d\\.\\d\\d"), "time " + r.get(6) + cli.printed());
            assertTrue(r.get(7).matches("\\d+B|\\d+\\.\\d[KMG]iB"), "mem " + r.get(7) + cli.printed());
            assertEquals("C---R-", r.get(8), Capabilities.DEFAULT + cli.printed());
            assertEquals(p == a ? "sleeper-a" : "sleeper-b", r.get(9), cli.printed());
        }
        List<String> zr = row(table, zombie);
        assertEquals(List.of(Integer.toString(z.pid()), "1", "Z"), List.of(zr.get(1), zr.get(3), zr.get(5)), cli.printed());
        assertEquals("doomed <exited 3>", zr.get(9), cli.printed());

        assertEquals(0, krgVia(0, "ps", "--node", "1"), cli.printed());
        assertTrue(hasRow(cli.stdout(), b.pid()) && hasRow(cli.stdout(), z.pid()), cli.printed());
        assertFalse(hasRow(cli.stdout(), a.pid()), "node 0's process is not listed" + cli.printed());
        cli.stdout().lines().skip(1).forEach(l -> assertEquals("1", l.trim().split(" +")[3], "only node 1: " + l));

        assertUsageError(krgVia(0, "ps", "--node", "7"), "ps: --node: no live node 7");
        assertUsageError(krgVia(0, "ps", "--node", "300"), "--node: must be 0-255");
    }

    @Test
    @SuppressWarnings("unchecked")
    void psJsonParsesAndHasEveryField() throws InterruptedException {
        ClusterProcess a = spawn(new Sleep(60_000), 1, "json-sleeper");
        ClusterProcess z = spawn(new ZombieParent(), 0, "json-zombie-parent");
        await(() -> nodes.get(0).epm().ps().stream().anyMatch(p -> p.ppid() == z.pid() && p.exit() != null),
                "the zombie child of " + z.pid() + " is listed");

        assertEquals(0, krgVia(0, "ps", "--json"), cli.printed());
        List<Object> all = JsonText.array(cli.stdout().strip());
        Map<String, Object> mine = null;
        Map<String, Object> zombie = null;
        for (Object o : all) {
            Map<String, Object> p = (Map<String, Object>) o;
            assertEquals(List.of("pid", "ppid", "pgid", "sid", "node", "uid", "gid", "state", "killPending", "cpuNanos",
                    "allocatedBytes", "startMillis", "command", "capabilities", "exit"), List.copyOf(p.keySet()));
            if (((Long) p.get("pid")) == a.pid()) {
                mine = p;
            }
            if (((Long) p.get("ppid")) == z.pid()) {
                zombie = p;
            }
        }
        assertNotNull(mine, cli.printed());
        assertEquals(1L, mine.get("node"));
        assertEquals("json-sleeper", mine.get("command"));
        assertEquals(false, mine.get("killPending"));
        assertNull(mine.get("exit"));
        assertTrue(List.of("RUNNING", "SLEEPING").contains((String) mine.get("state")), cli.printed());
        Map<String, Object> caps = (Map<String, Object>) mine.get("capabilities");
        assertEquals(List.of("effective", "permitted", "inheritable-effective", "inheritable-permitted"),
                List.copyOf(caps.keySet()));
        Map<String, Object> effective = (Map<String, Object>) caps.get("effective");
        assertEquals((long) Capabilities.DEFAULT.effective(), effective.get("mask"));
        assertEquals(List.of("CHANGE_KERRIGHED_CAP", "USE_REMOTE_MEMORY"), effective.get("names"));

        assertNotNull(zombie, cli.printed());
        assertEquals("ZOMBIE", zombie.get("state"));
        assertEquals(Map.of("code", 3L, "reason", ""), withoutNulls((Map<String, Object>) zombie.get("exit")));
    }

    private static Map<String, Object> withoutNulls(Map<String, Object> m) {
        Map<String, Object> copy = new java.util.HashMap<>(m);
        copy.values().removeIf(java.util.Objects::isNull);
        return copy;
    }

    @Test
    void aPendingKillIsMarkedUntilTheProcessReachesASafePoint() throws InterruptedException {
        ClusterProcess h = spawn(new Hold(), 1, "hold");
        await(() -> status(h.pid()).state() == ProcessState.RUNNING, "hold runs");
        assertEquals(0, krgVia(0, "kill", "-9", Integer.toString(h.pid())), cli.printed());
        assertTrue(h.isAlive(), "it has no safe point");

        assertEquals(0, krgVia(0, "ps"), cli.printed());
        assertEquals("R+K", row(cli.stdout(), h.pid()).get(5), cli.printed());
        assertEquals(0, krgVia(0, "ps", "--json"), cli.printed());
        assertTrue(cli.stdout().contains("\"pid\": " + h.pid() + ", ") && cli.stdout().contains("\"killPending\": true"),
                cli.printed());

        RELEASE.set(true);
        assertEquals(Signal.KILL, exitOf(h).signal());
    }

    // ---------------------------------------------------------------- top

    @Test
    void topEndsAfterItsIterationsWithLoadsAndProcessesByCpuTime() throws InterruptedException {
        ClusterProcess spinner = spawn(new Spin(200), 1, "spinner");
        ClusterProcess sleeper = spawn(new Sleep(60_000), 0, "idle");
        await(() -> status(spinner.pid()).cpuNanos() >= 200_000_000L, "the spinner used 200 ms of CPU");

        assertEquals(0, krgVia(0, "top", "--iterations", "2", "--interval", "200ms"), cli.printed());
        String text = cli.stdout();
        assertFalse(text.contains("\033["), "no screen control when stdout is not a terminal" + cli.printed());
        String[] blocks = text.split("\n\n(?=top - )");
        assertEquals(2, blocks.length, cli.printed());
        for (String block : blocks) {
            List<String> lines = block.lines().toList();
            assertTrue(lines.get(0).matches("top - \\d\\d:\\d\\d:\\d\\d, 2 nodes, \\d+ processes \\(\\d+ running\\), "
                    + "\\d+ zombies?, load average: \\d+\\.\\d\\d, \\d+\\.\\d\\d, \\d+\\.\\d\\d"), block);
            assertEquals(List.of("NODE", "LOAD1", "LOAD5", "LOAD15", "RUNNABLE", "PROCS", "CPUS", "JVM", "CPU", "HEAP"),
                    List.of(lines.get(1).trim().split(" +")), block);
            assertEquals(List.of("0", "1", "all"), lines.subList(2, 5).stream().map(l -> l.trim().split(" +")[0])
                    .toList(), block);
            assertEquals("", lines.get(5), block);
            assertEquals(Processes.HEADERS, List.of(lines.get(6).trim().split(" +")), block);
            int spin = -1;
            int idle = -1;
            for (int i = 7; i < lines.size(); i++) {
                String pid = lines.get(i).trim().split(" +")[0];
                if (pid.equals(Integer.toString(spinner.pid()))) {
                    spin = i;
                } else if (pid.equals(Integer.toString(sleeper.pid()))) {
                    idle = i;
                }
            }
            assertTrue(spin >= 7 && idle > spin, "the spinner sorts before the idle process" + block);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void topJsonPrintsOneObjectPerRefresh() throws InterruptedException {
        ClusterProcess spinner = spawn(new Spin(100), 0, "json-spinner");
        await(() -> status(spinner.pid()).cpuNanos() >= 100_000_000L, "the spinner used 100 ms of CPU");
        assertEquals(0, krgVia(1, "top", "--json", "--iterations", "2", "--interval", "100ms"), cli.printed());
        List<String> lines = cli.stdout().lines().toList();
        assertEquals(2, lines.size(), cli.printed());
        for (String line : lines) {
            Map<String, Object> m = JsonText.object(line);
            assertEquals(List.of("timeMillis", "nodes", "cluster", "processes"), List.copyOf(m.keySet()), line);
            List<Object> loads = (List<Object>) m.get("nodes");
            assertEquals(List.of(0L, 1L), loads.stream().map(l -> ((Map<String, Object>) l).get("node")).toList(),
                    line);
            Map<String, Object> all = (Map<String, Object>) m.get("cluster");
            assertEquals(-1L, all.get("node"), line);
            long sum = 0;
            for (Object l : loads) {
                sum += (Long) ((Map<String, Object>) l).get("processes");
            }
            assertEquals(sum, all.get("processes"), "the aggregate sums the nodes' figures " + line);
            List<Object> ps = (List<Object>) m.get("processes");
            long previous = Long.MAX_VALUE;
            for (Object p : ps) {
                long cpu = (Long) ((Map<String, Object>) p).get("cpuNanos");
                assertTrue(cpu <= previous, "sorted by CPU time " + line);
                previous = cpu;
            }
            assertTrue(ps.stream().anyMatch(p -> ((Long) ((Map<String, Object>) p).get("pid")) == spinner.pid()), line);
        }
    }

    @Test
    void topChecksItsOptions() {
        assertUsageError(krgVia(0, "top", "--interval", "10ms"), "--interval", "at least 100ms");
        assertUsageError(krgVia(0, "top", "--interval", "soon"), "--interval", "'soon'");
        assertUsageError(krgVia(0, "top", "--iterations", "0"), "--iterations", "at least 1");
    }

    // ---------------------------------------------------------------- kill

    @Test
    void killSignalsProcessesOnAnyNode() throws InterruptedException {
        ClusterProcess term = spawn(new Sleep(60_000), 1, "to-term");
        ClusterProcess hup = spawn(new Sleep(60_000), 0, "to-hup");
        ClusterProcess kill = spawn(new Sleep(60_000), 1, "to-kill");
        ClusterProcess usr1 = spawn(new Sleep(60_000), 1, "to-usr1");
        assertEquals(0, krgVia(0, "kill", Integer.toString(term.pid())), cli.printed());
        assertEquals("", cli.stdout(), "kill prints nothing when it succeeds" + cli.printed());
        assertFalse(cli.stderr().contains("kill:"), cli.printed());
        assertEquals(0, krgVia(0, "kill", "-hup", Integer.toString(hup.pid())), cli.printed());
        assertEquals(0, krgVia(0, "kill", "-s", "KILL", Integer.toString(kill.pid())), cli.printed());
        assertEquals(0, krgVia(0, "kill", "-10", Integer.toString(usr1.pid())), cli.printed());
        assertEquals(Signal.TERM, exitOf(term).signal());
        assertEquals(Signal.HUP, exitOf(hup).signal());
        assertEquals(Signal.KILL, exitOf(kill).signal());
        assertEquals(Signal.USR1, exitOf(usr1).signal());
    }

    @Test
    void stopAndContinueShowInPs() throws InterruptedException {
        ClusterProcess p = spawn(new Sleep(60_000), 1, "stopped");
        String pid = Integer.toString(p.pid());
        assertEquals(0, krgVia(0, "kill", "-STOP", pid), cli.printed());
        await(() -> status(p.pid()).state() == ProcessState.STOPPED, "stopped");
        assertEquals(0, krgVia(0, "ps", "--node", "1"), cli.printed());
        assertEquals("T", row(cli.stdout(), p.pid()).get(5), cli.printed());
        assertEquals(0, krgVia(0, "kill", "-CONT", pid), cli.printed());
        await(() -> status(p.pid()).state() != ProcessState.STOPPED, "continued");
        assertTrue(p.isAlive());
    }

    @Test
    void killSignalsAProcessGroupAcrossNodes() throws InterruptedException {
        ClusterProcess leader = spawn(new Sleep(60_000), 0, "leader");
        ClusterProcess member = spawn(new Sleep(60_000), SpawnOptions.defaults().onNode(1).name("member")
                .processGroup(leader.pid()));
        ClusterProcess other = spawn(new Sleep(60_000), 1, "other-group");
        assertEquals(leader.pid(), status(member.pid()).pgid());
        assertEquals(0, krgVia(0, "kill", "-9", "-" + leader.pid()), cli.printed());
        assertEquals(Signal.KILL, exitOf(leader).signal());
        assertEquals(Signal.KILL, exitOf(member).signal());
        assertTrue(other.isAlive(), "another group is left alone");

        ClusterProcess leader2 = spawn(new Sleep(60_000), 1, "leader2");
        ClusterProcess member2 = spawn(new Sleep(60_000), SpawnOptions.defaults().onNode(0).name("member2")
                .processGroup(leader2.pid()));
        assertEquals(0, krgVia(0, "kill", "--", "-" + leader2.pid()), cli.printed());
        assertEquals(Signal.TERM, exitOf(leader2).signal());
        assertEquals(Signal.TERM, exitOf(member2).signal());
        assertTrue(other.isAlive());
    }

    @Test
    void killRejectsBadUsageWithExitCode2() {
        assertUsageError(cli.run("kill", "-BOGUS", "123"), "kill: unknown signal 'BOGUS'", "known: HUP INT KILL");
        assertUsageError(cli.run("kill", "-s", "99", "123"), "unknown signal '99'");
        assertUsageError(cli.run("kill", "-123"), "unknown signal '123'", "krg kill -- -123");
        assertUsageError(cli.run("kill"), "which process?");
        assertUsageError(cli.run("kill", "-9"), "which process?");
        assertUsageError(cli.run("kill", "-9", "abc"), "'abc' is neither a PID nor a -PGID");
        assertUsageError(cli.run("kill", "-9", "-1"), "signalling every process is not supported");
        assertUsageError(cli.run("kill", "0"), "krg is not a process");
    }

    @Test
    void killListsTheSignals() {
        assertEquals(0, cli.run("kill", "-l"), cli.printed());
        assertEquals(List.of("1 HUP", "2 INT", "9 KILL", "10 USR1", "12 USR2", "15 TERM", "17 CHLD", "18 CONT",
                "19 STOP"), cli.stdout().lines().toList());
    }

    @Test
    void killFailsWithExitCode1ForNoSuchProcessOrNoPermission() throws InterruptedException {
        ClusterProcess ended = spawn(new ExitWith(0), 1, "ended");
        assertEquals(0, exitOf(ended).code());
        assertFailure(krgVia(0, "kill", Integer.toString(ended.pid())), "kill: no live process " + ended.pid());
        assertFailure(krgVia(0, "kill", "-9", "--", "-4242"), "kill: no live process group 4242");

        ClusterProcess root = spawn(new Sleep(60_000), 0, "roots");
        ClusterProcess alive = spawn(new Sleep(60_000), 1, "alive");
        assertFailure(krgVia(1, "kill", Integer.toString(root.pid())), "kill: uid=1000 gid=1000 may not send TERM to"
                + " process " + root.pid());
        assertTrue(root.isAlive(), "node 1 (uid 1000) may not signal a root process");

        assertFailure(krgVia(0, "kill", "4242", Integer.toString(alive.pid())), "kill: no live process 4242");
        assertEquals(Signal.TERM, exitOf(alive).signal(), "the other target was still signalled");
    }

    // ---------------------------------------------------------------- capset

    @Test
    void capsetShowsAndEditsTheFourSets() throws InterruptedException {
        ClusterProcess p = spawn(new Sleep(60_000), 1, "capable");
        String pid = Integer.toString(p.pid());
        assertEquals(0, krgVia(0, "capset", "--show", pid), cli.printed());
        assertEquals(List.of("process " + pid + " on node 1 (uid 0): capable",
                        "SET                    MASK  CAPABILITIES",
                        "effective               021  CHANGE_KERRIGHED_CAP,USE_REMOTE_MEMORY",
                        "permitted               077  CHANGE_KERRIGHED_CAP,CAN_MIGRATE,DISTANT_FORK,CHECKPOINTABLE,"
                                + "USE_REMOTE_MEMORY,SEE_LOCAL_PROC_STAT",
                        "inheritable-effective   021  CHANGE_KERRIGHED_CAP,USE_REMOTE_MEMORY",
                        "inheritable-permitted   077  CHANGE_KERRIGHED_CAP,CAN_MIGRATE,DISTANT_FORK,CHECKPOINTABLE,"
                                + "USE_REMOTE_MEMORY,SEE_LOCAL_PROC_STAT"),
                cli.stdout().lines().toList(), cli.printed());

        assertEquals(0, krgVia(0, "capset", "-k", pid, "-e", "+DISTANT_FORK,+can_migrate", "-d", "0",
                "-i", "-CHECKPOINTABLE"), cli.printed());
        assertTrue(cli.stdout().startsWith("process " + pid + ": capabilities changed\n"), cli.printed());
        Capabilities now = status(p.pid()).capabilities();
        assertEquals(setOf(Capability.CHANGE_KERRIGHED_CAP, Capability.CAN_MIGRATE, Capability.DISTANT_FORK,
                Capability.USE_REMOTE_MEMORY), now.effectiveSet());
        assertEquals(0, now.inheritableEffective());
        assertEquals(Capabilities.ALL & ~(1 << Capability.CHECKPOINTABLE.ordinal()), now.inheritablePermitted());
        assertEquals(Capabilities.ALL, now.permitted());
        assertTrue(cli.stdout().contains("effective               027  CHANGE_KERRIGHED_CAP,CAN_MIGRATE,DISTANT_FORK,"
                + "USE_REMOTE_MEMORY"), cli.printed());

        assertEquals(0, krgVia(0, "capset", "-k", pid, "-e", "0o21", "--json"), cli.printed());
        Map<String, Object> json = JsonText.object(cli.stdout().strip());
        assertEquals(List.of("pid", "before", "after"), List.copyOf(json.keySet()));
        assertEquals(Capabilities.DEFAULT.effective(), status(p.pid()).capabilities().effective());

        assertEquals(0, krgVia(0, "capset", "--show", pid, "--json"), cli.printed());
        json = JsonText.object(cli.stdout().strip());
        assertEquals((long) p.pid(), json.get("pid"));
        assertEquals(1L, json.get("node"));
        assertTrue(cli.stdout().contains("\"inheritable-effective\": {\"mask\": 0, \"names\": []}"), cli.printed());
    }

    private static java.util.EnumSet<Capability> setOf(Capability first, Capability... rest) {
        return java.util.EnumSet.of(first, rest);
    }

    @Test
    void droppingChangeKerrighedCapNeedsForce() {
        ClusterProcess p = spawn(new Sleep(60_000), 1, "keeps-change");
        String pid = Integer.toString(p.pid());
        assertUsageError(krgVia(0, "capset", "-k", pid, "-e", "-CHANGE_KERRIGHED_CAP"),
                "capset: dropping CHANGE_KERRIGHED_CAP from the effective set of process " + pid, "--force");
        assertTrue(status(p.pid()).capabilities().has(Capability.CHANGE_KERRIGHED_CAP), "unchanged");
        assertUsageError(krgVia(0, "capset", "-k", pid, "-e", "0"), "--force");

        assertEquals(0, krgVia(0, "capset", "-k", pid, "-e", "-CHANGE_KERRIGHED_CAP", "--force"), cli.printed());
        assertEquals(setOf(Capability.USE_REMOTE_MEMORY), status(p.pid()).capabilities().effectiveSet());
        assertEquals(0, krgVia(0, "capset", "-k", pid, "-e=+change_kerrighed_cap"), cli.printed());
        assertTrue(status(p.pid()).capabilities().has(Capability.CHANGE_KERRIGHED_CAP),
                "the node (not a process) may give it back: it is still permitted");
    }

    @Test
    void capsetReportsTheNodesRefusals() throws InterruptedException {
        ClusterProcess p = spawn(new Sleep(60_000), 1, "refused");
        String pid = Integer.toString(p.pid());
        assertUsageError(krgVia(0, "capset", "-k", pid, "-p", "-DISTANT_FORK,-CAN_MIGRATE", "-e", "+DISTANT_FORK"),
                "capset: effective must be a subset of permitted: DISTANT_FORK not in permitted");
        assertFailure(krgVia(1, "capset", "-k", pid, "-e", "+CAN_MIGRATE"), "capset: uid=1000 gid=1000 may not change"
                + " the capabilities of process " + pid);
        assertFailure(krgVia(0, "capset", "--show", "4242"), "capset: no live process 4242");
        assertFailure(krgVia(0, "capset", "-k", "4242", "-e", "+CAN_MIGRATE"), "capset: no live process 4242");

        assertEquals(0, krgVia(0, "capset", "-k", pid, "-p", "-SEE_LOCAL_PROC_STAT", "-i", "-SEE_LOCAL_PROC_STAT"),
                cli.printed());
        assertEquals(0, krgVia(0, "capset", "-k", pid, "-p", "+SEE_LOCAL_PROC_STAT"), cli.printed());
        assertTrue(cli.stderr().contains("capset: permitted: SEE_LOCAL_PROC_STAT not granted"), cli.printed());
        assertFalse(status(p.pid()).capabilities().permittedSet().contains(Capability.SEE_LOCAL_PROC_STAT));

        ClusterProcess busy = spawn(new HoldsDistantFork(), SpawnOptions.defaults().onNode(1).name("busy")
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        await(() -> HOLDS_DISTANT_FORK.get() && status(busy.pid()).state() == ProcessState.SLEEPING,
                "busy holds DISTANT_FORK and sleeps");
        assertFailure(krgVia(0, "capset", "-k", Integer.toString(busy.pid()), "-e", "-DISTANT_FORK"),
                "is using DISTANT_FORK");
        assertTrue(status(busy.pid()).capabilities().has(Capability.DISTANT_FORK));
    }

    @Test
    void capsetChecksItsArgumentsBeforeConnecting() {
        assertUsageError(cli.run("capset"), "give either --show PID or -k PID");
        assertUsageError(cli.run("capset", "--show", "5", "-k", "6", "-e", "0"), "give either --show PID or -k PID");
        assertUsageError(cli.run("capset", "--show", "5", "-e", "0"), "--show: takes no -e -p -d -i");
        assertUsageError(cli.run("capset", "-k", "5"), "-k: which set?");
        assertUsageError(cli.run("capset", "-k", "5", "-e", "+NOPE"), "-e: unknown capability 'NOPE'");
        assertUsageError(cli.run("capset", "-k", "5", "-p", "+CAN_MIGRATE,DISTANT_FORK"), "-p: mix of +/- and plain names");
        assertUsageError(cli.run("capset", "-k", "5", "-i", "0o99"), "-i: unknown capability '0o99'");
        assertUsageError(cli.run("capset", "-k", "1", "-e", "0"), "-k: a process id is greater than 1");
    }

    // ---------------------------------------------------------------- migrate

    @Test
    void migrateMovesARunningProcessAndPsShowsItOnTheNewNode() throws InterruptedException {
        ClusterProcess p = spawn(new Ticks(), SpawnOptions.defaults().onNode(1).name("ticks").capabilities(MIGRATABLE));
        String pid = Integer.toString(p.pid());
        await(() -> status(p.pid()).state() == ProcessState.SLEEPING, "ticks runs");

        assertEquals(0, krgVia(0, "migrate", pid, "0"), cli.printed());
        String line = cli.stdout().strip();
        assertTrue(line.matches("migrated process " + pid + " from node 1 to node 0 in [0-9.]+ ms \\(safe point"
                + " [0-9.]+ ms, export [0-9.]+ ms, transfer [0-9.]+ ms, commit [0-9.]+ ms; ghost [0-9.]+(B|KiB)\\)"),
                line);
        assertEquals(0, status(p.pid()).node());
        assertEquals(0, krgVia(1, "ps", "--node", "0"), cli.printed());
        assertEquals("0", row(cli.stdout(), p.pid()).get(3), cli.printed());
        assertEquals("ticks", row(cli.stdout(), p.pid()).get(9), cli.printed());
        assertEquals(0, krgVia(1, "ps", "--node", "1"), cli.printed());
        assertFalse(hasRow(cli.stdout(), p.pid()), "no longer on node 1" + cli.printed());

        assertEquals(0, krgVia(0, "migrate", pid, "1", "--json"), cli.printed());
        Map<String, Object> json = JsonText.object(cli.stdout().strip());
        assertEquals(List.of("pid", "from", "to", "bytes", "safepointMillis", "exportMillis", "transferMillis",
                "commitMillis", "totalMillis"), List.copyOf(json.keySet()));
        assertEquals(List.of((long) p.pid(), 0L, 1L), List.of(json.get("pid"), json.get("from"), json.get("to")));
        assertTrue((Long) json.get("bytes") > 0, cli.printed());
        assertEquals(1, status(p.pid()).node());

        RELEASE.set(true);
        assertEquals(ExitStatus.exited(0), exitOf(p));
        long[] result = (long[]) p.result().orElseThrow();
        assertTrue(result[0] > 0, "its step count travelled");
        assertEquals(0b11, result[1], "it ran on nodes 0 and 1");
    }

    @Test
    void aPiWorkerMovedTwiceCountsWhatAnUnmovedOneCounts() throws InterruptedException {
        long points = 200_000_000L;
        ClusterProcess moved = spawn(new PiWorkload.Worker(points, 42), SpawnOptions.defaults().onNode(0)
                .name("moved-worker").capabilities(MIGRATABLE));
        ClusterProcess still = spawn(new PiWorkload.Worker(points, 42), SpawnOptions.defaults().onNode(1)
                .name("still-worker").capabilities(MIGRATABLE));
        String pid = Integer.toString(moved.pid());
        assertEquals(0, krgVia(0, "migrate", pid, "1"), cli.printed());
        assertEquals(0, krgVia(0, "migrate", pid, "0"), cli.printed());
        assertEquals(ExitStatus.exited(0), exitOf(moved));
        assertEquals(ExitStatus.exited(0), exitOf(still));
        assertEquals(still.result().orElseThrow(), moved.result().orElseThrow(), "same points, same hits");
    }

    @Test
    void migrateMovesAMainShapedProgramAtItsBlockingCall() throws InterruptedException {
        ClusterProcess p = spawn(new Sleep(60_000), SpawnOptions.defaults().onNode(0).name("main-shaped")
                .capabilities(MIGRATABLE));
        await(() -> status(p.pid()).state() == ProcessState.SLEEPING, "it sleeps");
        assertEquals(0, krgVia(0, "migrate", Integer.toString(p.pid()), "1"), cli.printed());
        assertTrue(cli.stdout().startsWith("migrated process " + p.pid() + " from node 0 to node 1 in "),
                cli.printed());
        await(() -> status(p.pid()).node() == 1 && status(p.pid()).state() == ProcessState.SLEEPING,
                "it sleeps again on node 1");
        assertEquals(0, krgVia(0, "kill", Integer.toString(p.pid())), cli.printed());
        assertEquals(Signal.TERM, exitOf(p).signal(), "signals follow it");
    }

    @Test
    void migrateReportsRefusalsWithExitCode1AndTheProcessGoesOn() throws InterruptedException {
        ClusterProcess plain = spawn(new Ticks(), SpawnOptions.defaults().onNode(1).name("not-migratable"));
        assertFailure(krgVia(0, "migrate", Integer.toString(plain.pid()), "0"), "migrate: process " + plain.pid()
                + " may not migrate: CAN_MIGRATE is not effective");
        assertEquals("", cli.stdout(), cli.printed());
        assertEquals(1, status(plain.pid()).node());

        ClusterProcess here = spawn(new Ticks(), SpawnOptions.defaults().onNode(1).name("here")
                .capabilities(MIGRATABLE));
        assertFailure(krgVia(0, "migrate", Integer.toString(here.pid()), "1"), "migrate: process " + here.pid()
                + " already runs on node 1");
        assertFailure(krgVia(1, "migrate", Integer.toString(here.pid()), "0"), "migrate: uid=1000 gid=1000 may not"
                + " migrate process " + here.pid());
        assertFailure(krgVia(0, "migrate", "4242", "0"), "migrate: no live process 4242");

        ClusterProcess held = spawn(new HoldsThread(), SpawnOptions.defaults().onNode(0).name("holds-thread")
                .capabilities(MIGRATABLE));
        await(() -> status(held.pid()).state() == ProcessState.SLEEPING, "holds-thread runs");
        assertFailure(krgVia(0, "migrate", Integer.toString(held.pid()), "1"), "migrate: ", "Thread");
        assertEquals(0, status(held.pid()).node(), "it stays where it was");

        assertUsageError(krgVia(0, "migrate", Integer.toString(here.pid()), "7"), "migrate: no live node 7");
        RELEASE.set(true);
        for (ClusterProcess p : List.of(plain, here, held)) {
            assertEquals(ExitStatus.exited(0), exitOf(p), p + " went on and finished");
        }
    }

    @Test
    void migrateChecksItsArgumentsBeforeConnecting() {
        assertUsageError(cli.run("migrate"), "Missing required parameters: 'PID', 'NODE'");
        assertUsageError(cli.run("migrate", "5"), "Missing required parameter: 'NODE'");
        assertUsageError(cli.run("migrate", "abc", "1"), "'abc' is not an int");
        assertUsageError(cli.run("migrate", "1", "1"), "migrate: PID: a process id is greater than 1");
        assertUsageError(cli.run("migrate", "5", "300"), "migrate: NODE: must be 0-255");
        assertUsageError(cli.run("migrate", "5", "1", "2"), "Unmatched argument");
    }
}
