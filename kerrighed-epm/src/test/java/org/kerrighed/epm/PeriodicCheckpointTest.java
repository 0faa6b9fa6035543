package org.kerrighed.epm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.mm.SharedMemory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Periodic checkpoints and automatic restart where failures, leaves and ends meet (each test on a cluster of its
 * own: each takes a node away).
 */
class PeriodicCheckpointTest {
    EpmNodes nodes;

    @TempDir
    Path dir;

    @BeforeEach
    void start() {
        nodes = new EpmNodes(3);
    }

    @AfterEach
    void stop() {
        Checkpoints.afterStartForTests = null;
        PeriodicCheckpoint.afterCheckpointForTests = null;
        nodes.close();
    }

    /** Starts a child that sleeps 3 s on node 1 and waits for it; restarted, it ends at once (result 42). */
    static final class QuickRoot implements Program {
        boolean spawned;

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            if (ctx.resumed()) {
                ctx.setResult(42L);
                return 0;
            }
            if (!spawned) {
                ctx.spawn(new TestPrograms.Sleeper(3_000), SpawnOptions.defaults().onNode(1));
                spawned = true;
            }
            ctx.waitAny();
            return 0;
        }
    }

    /** Starts a child that sleeps a minute on node 2, waits for its end (killed), then ends 0.5 s later. */
    static final class LeaveRoot implements Program {
        boolean spawned;

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            if (!spawned) {
                ctx.spawn(new TestPrograms.Sleeper(60_000), SpawnOptions.defaults().onNode(2));
                spawned = true;
            }
            ctx.waitAny();
            ctx.sleep(Duration.ofMillis(500));
            return 0;
        }
    }

    /** A restarted root that ends before its restart has returned still ends the application for good. */
    @Test
    void aRestartedRootThatEndsAtOnceEndsTheApplication() throws Exception {
        ClusterProcess job = nodes.epm(0).spawn(new QuickRoot(), SpawnOptions.defaults().onNode(0)
                .capabilities(CheckpointTest.CKPT));
        try (PeriodicCheckpoint pc = nodes.epm(0).checkpointEvery(job, Duration.ofMillis(150),
                CheckpointOptions.defaults().inDirectory(dir), true)) {
            EpmNodes.await(() -> pc.last().isPresent(), "a first checkpoint");
            Checkpoints.afterStartForTests = pid -> {       // the restarted root ends before the restart returns
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            nodes.crash(1);
            assertEquals(ExitStatus.exited(0), pc.onEnd().get(30, TimeUnit.SECONDS));
            assertEquals(1, pc.restarts());
            assertEquals(42L, pc.root().result().orElseThrow());
        }
    }

    /**
     * A node that leaves (its processes killed, not failed) is no lost node: checkpointing goes on, nothing restarts,
     * and the application's end is its end.
     */
    @Test
    void aNodeThatLeavesIsNotTakenForAFailure() throws Exception {
        ClusterProcess job = nodes.epm(0).spawn(new LeaveRoot(), SpawnOptions.defaults().onNode(0)
                .capabilities(CheckpointTest.CKPT));
        try (PeriodicCheckpoint pc = nodes.epm(0).checkpointEvery(job, Duration.ofMillis(100),
                CheckpointOptions.defaults().inDirectory(dir), true)) {
            EpmNodes.await(() -> pc.last().isPresent() && pc.last().get().nodes().contains(2), "a checkpoint");
            nodes.leave(2);
            int version = pc.last().get().version();
            EpmNodes.await(() -> pc.last().get().version() > version, "a checkpoint after the leave");
            assertEquals(ExitStatus.exited(0), pc.onEnd().get(30, TimeUnit.SECONDS));
            assertEquals(0, pc.restarts());
        }
    }

    /**
     * A node fails while the first checkpoint is taken (after its process was saved): that checkpoint is dropped,
     * and with none to restart from, the application's end fails with the reason (it was not left waiting).
     */
    @Test
    void aNodeFailureDuringTheFirstCheckpointEndsTheApplicationWithTheReason() throws Exception {
        long seg = nodes.shm(0).open(0x5eee, 4096, SharedMemory.CREATE | 0600);
        ClusterProcess job = nodes.epm(0).spawn(new CheckpointTest.Job(new int[]{1, 2}, 30_000_000, seg),
                SpawnOptions.defaults().onNode(0).capabilities(CheckpointTest.CKPT));
        PeriodicCheckpoint.afterCheckpointForTests = r -> nodes.crash(2);
        try (PeriodicCheckpoint pc = nodes.epm(0).checkpointEvery(job, Duration.ofMillis(150),
                CheckpointOptions.defaults().inDirectory(dir), true)) {
            java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> pc.onEnd().get(30, TimeUnit.SECONDS));
            org.junit.jupiter.api.Assertions.assertTrue(e.getCause().getMessage().contains("before its first"
                    + " checkpoint was complete"), e.getCause().getMessage());
            assertEquals(0, pc.restarts());
            org.junit.jupiter.api.Assertions.assertTrue(pc.last().isEmpty());
        } finally {
            nodes.epm(0).killGroup(job.pid(), Signal.KILL);
        }
    }

    /**
     * A node fails while a later checkpoint is taken (after its process was saved): that checkpoint is dropped, and
     * the application restarts from the one before, to the right answer.
     */
    @Test
    void aCheckpointTakenWhileANodeFailedIsDroppedAndTheOneBeforeRestarts() throws Exception {
        long n = 30_000_000;
        long seg = nodes.shm(0).open(0x5eed, 4096, SharedMemory.CREATE | 0600);
        ClusterProcess job = nodes.epm(0).spawn(new CheckpointTest.Job(new int[]{1, 2}, n, seg),
                SpawnOptions.defaults().onNode(0).capabilities(CheckpointTest.CKPT));
        AtomicInteger taken = new AtomicInteger();
        PeriodicCheckpoint.afterCheckpointForTests = r -> {
            if (taken.incrementAndGet() == 2) {
                nodes.crash(2);                              // after it saved node 2's process, before it is kept
            }
        };
        try (PeriodicCheckpoint pc = nodes.epm(0).checkpointEvery(job, Duration.ofMillis(150),
                CheckpointOptions.defaults().inDirectory(dir), true)) {
            EpmNodes.await(() -> pc.restarts() == 1, "a restart");
            assertEquals(ExitStatus.exited(0), pc.onEnd().get(60, TimeUnit.SECONDS));
            assertEquals(CheckpointTest.expected(n), pc.root().result().orElseThrow());
        }
    }
}
