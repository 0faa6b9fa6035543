package org.kerrighed.epm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.rpc.RpcNode;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A migration whose target dies while the ghost travels, or whose old node stops waiting while the target reads
 * the ghost: refused, the process goes on where it was, and only there.
 */
@Timeout(120)
class MigrationFailureTest {
    static EpmNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new EpmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    /**
     * The old node asks the target whether the process arrived (what it does when the answer does not come in
     * time) while the target is still reading its ghost: the answer is no, and the target then refuses it.
     */
    @Test
    void aProcessWhoseOldNodeStoppedWaitingIsNotInstalledWhenItsReadEnds() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.BigState(1024), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong move = new AtomicLong();
        Migration.beforeInstallForTests = (pid, id) -> {
            if (pid == p.pid()) {
                move.set(id);
                reading.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try {
            CompletableFuture<MigrationReport> moving = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(
                    p.pid(), 1));
            assertTrue(reading.await(10, TimeUnit.SECONDS), "node 1 read the ghost");
            int arrived = nodes.kddm(0).rpc().call(1, EpmWire.ARRIVED, new EpmWire.Arrival(p.pid(), move.get()))
                    .get(5, TimeUnit.SECONDS);
            assertEquals(0, arrived, "not arrived while it is being read");
            release.countDown();
            Throwable failed = refusal(moving);
            assertTrue(failed.getMessage().contains("stopped waiting"), failed.getMessage());
        } finally {
            Migration.beforeInstallForTests = null;
            release.countDown();
        }
        assertFalse(nodes.epm(1).isLocal(p.pid()), "not installed on node 1");
        assertTrue(nodes.epm(0).isLocal(p.pid()), "still on node 0");
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(30)).orElseThrow());
        assertEquals(1, ((long[]) p.result().orElseThrow())[1], "it only ever ran on node 0");
    }

    /**
     * The old node asks about a move whose ghost has not reached the new node yet (pieces still on the way): the
     * answer is no, and the ghost is refused when it comes. Node 0 writes the ghost of one of its processes and
     * sends it to node 1 by hand, after asking.
     */
    @Test
    void aMoveAskedAboutBeforeItsGhostCameIsRefusedWhenItComes() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.BigState(1024), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        LocalProcess lp = nodes.epm(0).localProcess(p.pid());
        GhostCodec.Sealed g = nodes.epm(0).ghosts().write(lp, Ghost.MIGRATION, lp.capture(java.util.List.of()),
                new GhostCodec.Binding(nodes.epm(0)));
        long move = 0x5eed;
        RpcNode rpc = nodes.kddm(0).rpc();
        assertEquals(0, rpc.call(1, EpmWire.ARRIVED, new EpmWire.Arrival(p.pid(), move)).get(5, TimeUnit.SECONDS));
        ExecutionException refused = assertThrows(ExecutionException.class, () -> rpc.call(1,
                EpmWire.GHOST_MOVE_SMALL, EpmWire.Ghost.toSend(p.pid(), move, out -> {
                    out.writeBytes(g.buf(), 0, g.length());
                    return g.length();
                }))
                .get(5, TimeUnit.SECONDS));
        assertTrue(refused.getCause().getMessage().contains("stopped waiting"), refused.getCause().getMessage());
        assertFalse(nodes.epm(1).isLocal(p.pid()), "not installed on node 1");
        assertEquals(0, rpc.call(1, EpmWire.ARRIVED, new EpmWire.Arrival(p.pid(), move)).get(5, TimeUnit.SECONDS),
                "still no");
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(30)).orElseThrow());
    }

    /**
     * A ghost that arrives in one call is checked where it lies in the message's frame: one flipped bit of its state
     * and it is refused as corrupted; nothing is installed, and the process runs on where it was.
     */
    @Test
    void aCorruptedGhostInOneCallIsRefused() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.BigState(64 << 10), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        LocalProcess lp = nodes.epm(0).localProcess(p.pid());
        GhostCodec.Sealed g = nodes.epm(0).ghosts().write(lp, Ghost.MIGRATION, lp.capture(java.util.List.of()),
                new GhostCodec.Binding(nodes.epm(0)));
        g.buf()[g.length() - 1000] ^= 0x10;
        ExecutionException refused = assertThrows(ExecutionException.class, () -> nodes.kddm(0).rpc().call(1,
                EpmWire.GHOST_MOVE_SMALL, EpmWire.Ghost.toSend(p.pid(), 0x5eee, out -> {
                    out.writeBytes(g.buf(), 0, g.length());
                    return g.length();
                })).get(5, TimeUnit.SECONDS));
        assertTrue(refused.getCause().getMessage().contains("corrupted"), refused.getCause().getMessage());
        assertFalse(nodes.epm(1).isLocal(p.pid()), "not installed on node 1");
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(30)).orElseThrow());
    }

    @Test
    void aMoveWhoseTargetDiesMidWayLeavesTheProcessRunningWhereItWas() throws Exception {
        MigrationTest.BigState local = new MigrationTest.BigState(64 << 20);
        ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.BigState(64 << 20), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        Thread.sleep(20);
        CompletableFuture<MigrationReport> move = CompletableFuture.supplyAsync(() -> nodes.epm(1).migrate(p.pid(), 2));
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).map(i -> i.state() == ProcessState.MIGRATING).orElse(false)
                || move.isDone(), "the move under way");
        nodes.crash(2);
        refusal(move);
        EpmNodes.await(() -> nodes.epm(1).status(p.pid()).map(i -> i.node() == 0
                && i.state() != ProcessState.MIGRATING).orElse(false), "running on node 0 again");
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(30)).orElseThrow());
        long[] got = (long[]) p.result().orElseThrow();
        assertEquals(java.util.Arrays.hashCode(local.state), got[0], "its state is intact");
        assertEquals(1, got[1], "it only ever ran on node 0");
        assertTrue(nodes.epm(0).migrate(nodes.epm(0).spawn(new MigrationTest.BigState(1024), SpawnOptions.defaults()
                .onNode(0).capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE))).pid(), 1).to() == 1,
                "moves to a live node still work");
    }

    /** The move's failure, which must be a {@link MigrationException} (a move that succeeded fails the test). */
    private static Throwable refusal(CompletableFuture<MigrationReport> move) throws Exception {
        Throwable failed = move.handle((r, e) -> e == null ? new AssertionError("moved: " + r) : e).get();
        failed = failed instanceof CompletionException ? failed.getCause() : failed;
        assertInstanceOf(MigrationException.class, failed, String.valueOf(failed));
        return failed;
    }
}
