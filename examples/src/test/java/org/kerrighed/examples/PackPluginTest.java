package org.kerrighed.examples;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.scheduler.ClusterScheduler;
import org.kerrighed.scheduler.FilterSpec;
import org.kerrighed.scheduler.NodeSet;
import org.kerrighed.scheduler.PluginSpec;
import org.kerrighed.scheduler.ProcessSet;
import org.kerrighed.scheduler.SchedulerStats;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example scheduler plugin (examples/sched-plugin), its JAR loaded into three real nodes as a user would:
 * its {@code pack} policy places new processes on the lowest nodes that have room, and moves a process off a node
 * onto a fuller one.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class PackPluginTest {
    static final TypeRegistrar TYPES = b -> b.range("pack-plugin-test", 20_050, 20_059).register(20_050, Work.class);
    private static final Capabilities MIGRATABLE = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE);

    @TempDir
    Path storage;

    private final List<Node> nodes = new ArrayList<>();

    @BeforeEach
    void startNodes() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "pack-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        for (int id = 0; id < 3; id++) {
            HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
            nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed), TYPES));
        }
    }

    @AfterEach
    void stopNodes() {
        for (Node n : nodes.reversed()) {
            n.close();
        }
    }

    @Test
    void packFillsTheLowestNodesFirstAndEmptiesTheOthers() throws Exception {
        Path jar = Path.of(System.getProperty("kerrighed.example.sched-plugin.jar", "(not set)"));
        assertTrue(Files.isRegularFile(jar) && jar.toString().endsWith(".jar"),
                "the plugin's JAR (build it first: ./mvnw -pl examples -am verify): " + jar);
        ClusterScheduler sched = nodes.getFirst().scheduler();
        PluginSpec plugin = sched.loadPlugin(jar, "pack");
        assertEquals(List.of("pack"), plugin.policyTypes());
        assertEquals(List.of("slots"), plugin.probeTypes());
        sched.createProbe("slots", "slots", 200, Map.of("slots", "2"));
        sched.createScheduler("pack", "pack", ProcessSet.ALL, NodeSet.ALL, Map.of());
        List<FilterSpec> everyNode = List.of(FilterSpec.parse("remote_cache:polling=200"));
        sched.link("pack", "load", "slots", "used", everyNode);
        long v = sched.link("pack", "capacity", "slots", "capacity", everyNode);
        assertTrue(sched.awaitApplied(v, Duration.ofSeconds(20)), "every node runs the plugin's policy");

        Node spawner = nodes.get(2);
        await(() -> pack(spawner).seen().keySet().containsAll(Set.of("load@0", "load@1", "capacity@0", "capacity@1")),
                "node 2's policy read the other nodes' loads and capacities");
        List<ClusterProcess> placed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            placed.add(spawner.epm().spawn(new Work(100, 10), SpawnOptions.defaults()));
        }
        assertEquals(List.of(0, 0, 1, 1), placed.stream().map(ClusterProcess::node).toList(),
                "two processes (the probe's slots) on node 0, then two on node 1; node 2 stays empty");
        for (ClusterProcess p : placed) {
            assertEquals(ExitStatus.exited(100), p.waitFor());
        }
        assertEquals(4, pack(spawner).placements());
        for (Node n : nodes) {                              // loads are sampled: let every policy see the batch end
            await(() -> pack(n).seen().entrySet().stream().filter(e -> e.getKey().startsWith("load"))
                    .allMatch(e -> e.getValue().doubleValue() == 0), "node " + n.id() + "'s policy saw every load"
                    + " drop to 0 after the first processes ended");
        }

        ClusterProcess stays = nodes.get(1).epm().spawn(new Work(100_000, 5), SpawnOptions.defaults().onNode(1)
                .capabilities(MIGRATABLE));
        ClusterProcess moves = nodes.get(2).epm().spawn(new Work(100_000, 5), SpawnOptions.defaults().onNode(2)
                .capabilities(MIGRATABLE));
        await(() -> nodeOf(moves.pid()) == 1, "node 2's process moved onto node 1, which runs as many and has room");
        // the new node rewrites the process's row before the old node's migrate() returns to the scheduler
        await(() -> pack(nodes.get(2)).migrations() >= 1, "node 2's scheduler counts the move");
        SchedulerStats s = pack(nodes.get(2));
        assertTrue(s.migrations() >= 1, "node 2's scheduler counts the move: " + s);
        assertEquals(1, nodeOf(stays.pid()), "node 1 kept its process");
        for (ClusterProcess p : List.of(stays, moves)) {
            p.signal(Signal.KILL);
            assertEquals(Signal.KILL, p.waitFor().signal());
        }
    }

    private static SchedulerStats pack(Node node) {
        return node.scheduler().report().schedulers().stream().filter(s -> s.scheduler().equals("pack"))
                .findFirst().orElseThrow();
    }

    private int nodeOf(int pid) {
        return nodes.getFirst().epm().status(pid).map(ProcessInfo::node).orElse(-1);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);      // a loaded machine delays the policy
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting: " + what);
            Thread.sleep(20);
        }
    }

    /** A CPU-bound program: {@code steps} steps of about {@code stepMillis} of computation; exits with its steps. */
    static final class Work implements StepProgram {
        private final int steps;
        private final long stepNanos;
        private int done;
        private long sink;

        Work() {
            this(0, 0);                                         // for Kryo
        }

        Work(int steps, long stepMillis) {
            this.steps = steps;
            this.stepNanos = stepMillis * 1_000_000;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            long end = System.nanoTime() + stepNanos;
            long x = sink;
            while (System.nanoTime() < end) {
                x = x * 6364136223846793005L + 1442695040888963407L;
            }
            sink = x;
            return ++done >= steps;
        }

        @Override
        public int exitCode() {
            return done;
        }
    }
}
