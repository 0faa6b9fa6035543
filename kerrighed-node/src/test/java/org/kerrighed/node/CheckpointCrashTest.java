package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.CheckpointOptions;
import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.PeriodicCheckpoint;
import org.kerrighed.epm.RestartOptions;
import org.kerrighed.epm.Restarted;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoint/restart when a node's JVM is SIGKILLed: an application that ran on a child JVM, checkpointed by the node
 * in this JVM, is restarted by it on the survivors and ends with the answer of an uninterrupted run; and a
 * periodically checkpointed one is restarted by itself when a JVM it ran on dies. Nodes 1-2 are child JVMs
 * ({@link EpmNodeMain}); a node in this JVM checkpoints and restarts. The first test crashes node 2, the second
 * node 1.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(180)
class CheckpointCrashTest {
    /** Three parts of 8 million numbers: 1,600 steps of at least 2 ms each, so several seconds per part. */
    private static final long N = 24_000_000;
    private static final Capabilities CHECKPOINTABLE = Capabilities.DEFAULT.plus(Capability.CHECKPOINTABLE)
            .plus(Capability.DISTANT_FORK);
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path checkpoints;

    private JvmCluster c;
    private Node here;

    @BeforeAll
    void start() throws Exception {
        c = new JvmCluster("ckpt-crash", EpmNodeMain.class);
        c.start(1);
        c.start(2);
        here = Kerrighed.join(c.memberConfig().toBuilder().callTimeout(Duration.ofSeconds(10)).build(),
                EpmNodeMain.TYPES);
    }

    @AfterAll
    void stop() {
        if (here != null) {
            here.close();
        }
        c.close();
    }

    private ClusterProcess startJob(int node, int... parts) throws InterruptedException {
        ClusterProcess job = here.epm().spawn(new EpmNodeMain.SumJob(N, parts), SpawnOptions.defaults().onNode(node)
                .name("sum-job").capabilities(CHECKPOINTABLE));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (here.epm().ps().stream().filter(p -> p.ppid() == job.pid() && p.exit() == null).count() < parts.length) {
            assertTrue(System.nanoTime() < deadline, "the job's parts did not all start within " + WAIT);
            Thread.sleep(20);
        }
        return job;
    }

    @Test
    @Order(1)
    void anApplicationCheckpointedBeforeItsJvmWasKilledRestartsOnTheSurvivorsToTheSameAnswer() throws Exception {
        ClusterProcess job = startJob(2, 2, 2, 2);
        CheckpointReport v = here.epm().checkpoint(job.pid(), CheckpointOptions.defaults().inDirectory(checkpoints)
                .describedAs("before the crash"));
        assertEquals(List.of(2), v.nodes(), v.toString());
        assertEquals(4, v.pids().size(), v.toString());

        c.crash(2);
        ExitStatus died = job.onExit().get(60, TimeUnit.SECONDS);
        assertEquals(Signal.KILL, died.signal(), died.toString());
        assertEquals("node 2 failed", died.reason());

        Restarted again = here.epm().restart(v.directory(), RestartOptions.defaults());
        assertEquals(job.pid(), again.root().pid(), "the same pids");
        assertEquals(Set.of(v.pids().toArray()), again.pids().keySet());
        assertTrue(again.nodes().values().stream().allMatch(n -> n == here.id() || n == 1), again.nodes().toString());
        ExitStatus end = again.root().waitFor(WAIT).orElseThrow(() -> new AssertionError("no end within " + WAIT));
        assertEquals(ExitStatus.exited(0), end);
        assertEquals(EpmNodeMain.SumJob.expected(N), again.root().result().orElseThrow());
    }

    @Test
    @Order(2)
    void aPeriodicallyCheckpointedApplicationIsRestartedWhenAJvmItRanOnIsKilled() throws Exception {
        ClusterProcess job = startJob(1, 1, here.id(), 1);
        try (PeriodicCheckpoint pc = here.epm().checkpointEvery(job, Duration.ofMillis(300),
                CheckpointOptions.defaults().inDirectory(checkpoints), true)) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (pc.last().isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "no checkpoint within " + WAIT);
                Thread.sleep(20);
            }
            assertEquals(List.of(1, here.id()).stream().sorted().toList(), pc.last().get().nodes());

            c.crash(1);
            ExitStatus end = pc.onEnd().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(1, pc.restarts(), pc.toString());
            assertEquals(ExitStatus.exited(0), end);
            assertNotSame(job, pc.root());
            assertEquals(job.pid(), pc.root().pid(), "restarted with the same pids");
            assertEquals(EpmNodeMain.SumJob.expected(N), pc.root().result().orElseThrow());
            assertEquals("node 1 failed", job.onExit().get().reason(), "the first run died with its JVM");
        }
    }
}
