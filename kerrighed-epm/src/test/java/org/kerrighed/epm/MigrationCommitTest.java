package org.kerrighed.epm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.KerrighedException;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node dying around the commit of a move, the moment the new node rewrites the process's row: every node ends up
 * on the row's side. Node 2 starts the process on node 0 (its parent is node 2's INIT), which moves it to node 1;
 * then node 1 or node 0 is crashed. A cluster per test: most crash a node.
 */
@Timeout(120)
class MigrationCommitTest {
    private EpmNodes nodes;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start() {
        nodes = new EpmNodes(3);
    }

    @AfterEach
    void stop() {
        Migration.afterInstallForTests = null;
        Migration.beforeSettleForTests = null;
        Reaper.beforeTellingParentForTests = null;
        ProcessTable.beforeMovedHereForTests = null;
        release.countDown();
        nodes.close();
    }

    private ClusterProcess spawnOnNode0() {
        return nodes.epm(2).spawn(new MigrationTest.BigState(1024), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
    }

    private void hold() {
        try {
            release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Node 1 installs the process and dies before its answer left. A process that moved starts, and has its row
     * rewritten, only once its answer left: it never ran on node 1 and its row still names node 0, so node 0 keeps
     * it. The caller learns that it was not moved, and the process goes on to its end on node 0 alone.
     */
    @Test
    void aTargetThatDiesBeforeItsAnswerLeftLeavesTheProcessWhereItRan() throws Exception {
        ClusterProcess p = spawnOnNode0();
        CountDownLatch installed = new CountDownLatch(1);
        Migration.afterInstallForTests = (pid, move) -> {
            if (pid == p.pid()) {
                installed.countDown();
                hold();                                           // no answer: node 1 dies first
            }
        };
        CompletableFuture<MigrationReport> moving = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(),
                1));
        assertTrue(installed.await(10, TimeUnit.SECONDS), "installed on node 1");
        assertTrue(nodes.epm(1).isLocal(p.pid()), "listed on node 1");
        Thread.sleep(200);                                        // a row write, if any, lands
        assertEquals(0, rowNode(p.pid()), "its row is rewritten only once the answer left");
        nodes.crash(1);
        CompletionException failed = assertThrows(CompletionException.class, moving::join);
        assertInstanceOf(MigrationException.class, failed.getCause(), String.valueOf(failed.getCause()));
        assertEquals(Optional.of(ExitStatus.exited(0)), p.waitFor(Duration.ofSeconds(30)), "it went on on node 0");
    }

    /**
     * Node 1 installs the process, rewrites its row and answers, but dies before it tells the parent's node: the
     * old node told it too, so the parent learns that the process was lost with node 1.
     */
    @Test
    void aTargetThatDiesBeforeTellingTheParentStillHasTheLossReported() throws Exception {
        ClusterProcess p = spawnOnNode0();
        CountDownLatch telling = new CountDownLatch(1);
        Reaper.beforeTellingParentForTests = holdNode1(p, telling);   // node 1's notice never goes
        movedThenNode1Dies(p, telling, "node 1 rewrote the row and is about to tell the parent");
    }

    /** A hook that holds node 1's step for process {@code p}, once {@code reached} is counted down. */
    private java.util.function.BiConsumer<Integer, Integer> holdNode1(ClusterProcess p, CountDownLatch reached) {
        return (node, pid) -> {
            if (node == 1 && pid == p.pid()) {
                reached.countDown();
                hold();
            }
        };
    }

    /**
     * Moves {@code p} from node 0 to node 1, waits until node 1 holds at the step a hook holds it at, crashes node 1,
     * and checks that the parent is told that the process was lost with it.
     */
    private void movedThenNode1Dies(ClusterProcess p, CountDownLatch held, String step) throws Exception {
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
        assertTrue(held.await(10, TimeUnit.SECONDS), step);
        nodes.crash(1);
        ExitStatus status = p.waitFor(Duration.ofSeconds(10)).orElseThrow(() -> new AssertionError(
                "the parent was never told that its child was lost with node 1"));
        assertTrue(status.toString().contains("node 1 failed"), status.toString());
    }

    /**
     * Node 1 installs the process and answers, but dies before it rewrites the row: the old node rewrites it too
     * (before it tells the parent's node), so the parent learns that the process was lost with node 1 rather than
     * wait for it on node 0, where the row would still say it runs.
     */
    @Test
    void aTargetThatDiesBeforeRewritingTheRowStillHasTheLossReported() throws Exception {
        ClusterProcess p = spawnOnNode0();
        CountDownLatch writing = new CountDownLatch(1);
        ProcessTable.beforeMovedHereForTests = holdNode1(p, writing);   // node 1's row write never lands
        movedThenNode1Dies(p, writing, "node 1 is about to rewrite the row");
    }

    /**
     * The process's thread on node 0 is interrupted (a STOP) while it waits for node 1's answer, so it settles the
     * move by asking node 1; the caller of migrate takes node 1's answer meanwhile and lets the process go. Node 1
     * then dies before it rewrote the row, and the settling finds it gone: the move stands all the same (node 1
     * answered that the process ran there), node 0 does not take the process back, and the parent learns that it was
     * lost with node 1.
     */
    @Test
    void aMoveTheCallerCommittedStandsWhenTheProcessThreadSettlesItAfterTheTargetDied() throws Exception {
        ClusterProcess p = spawnOnNode0();
        CountDownLatch writing = new CountDownLatch(1);
        ProcessTable.beforeMovedHereForTests = holdNode1(p, writing);   // node 1's row write never lands
        CountDownLatch settling = new CountDownLatch(1);
        CountDownLatch settle = new CountDownLatch(1);
        Migration.beforeSettleForTests = pid -> {
            if (pid == p.pid()) {
                settling.countDown();
                await(settle);
            }
        };
        Migration.afterInstallForTests = (pid, move) -> {
            if (pid == p.pid()) {
                nodes.epm(0).kill(pid, Signal.STOP);              // interrupts node 0's wait for the answer
                await(settling);                                  // the answer goes once node 0 settles
            }
        };
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to(), "the caller took node 1's answer");
        assertTrue(writing.await(10, TimeUnit.SECONDS), "node 1 is about to rewrite the row");
        nodes.crash(1);
        EpmNodes.await(() -> !nodes.epm(0).isMember(1), "node 0 saw node 1 go");
        settle.countDown();
        ExitStatus status = p.waitFor(Duration.ofSeconds(10)).orElseThrow(() -> new AssertionError(
                "the parent was never told that its child was lost with node 1"));
        assertTrue(status.toString().contains("node 1 failed"), status.toString());
        assertFalse(nodes.epm(0).isLocal(p.pid()), "node 0 did not take it back");
    }

    /** Waits up to 30 s for {@code latch}, through interrupts (kept for later): the process's thread has one. */
    private static void await(CountDownLatch latch) {
        boolean interrupted = Thread.interrupted();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (latch.getCount() > 0 && System.nanoTime() < end) {
            try {
                latch.await(end - System.nanoTime(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The move commits (node 1 rewrote the row) and node 0 dies before either node told the parent's node: that node
     * still thinks the child runs on node 0, but its row names node 1, so it is not reported lost; it runs on, and
     * its parent gets its real end.
     */
    @Test
    void theOldNodeDyingRightAfterTheMoveDoesNotTakeTheProcessWithIt() throws Exception {
        ClusterProcess p = nodes.epm(2).spawn(new TestPrograms.Sleeper(60_000), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        CountDownLatch telling = new CountDownLatch(1);
        Reaper.beforeTellingParentForTests = (node, pid) -> {
            if (pid == p.pid()) {
                if (node == 1) {
                    telling.countDown();
                }
                hold();                                           // neither node tells the parent yet
            }
        };
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
        assertTrue(telling.await(10, TimeUnit.SECONDS), "node 1 rewrote the row and is about to tell the parent");
        nodes.crash(0);
        Thread.sleep(1000);                                       // node 2 handles node 0's failure meanwhile
        assertEquals(Optional.empty(), p.waitFor(Duration.ofMillis(10)), "not reported lost with node 0");
        release.countDown();
        assertTrue(nodes.epm(1).isLocal(p.pid()), "it runs on node 1");
        nodes.epm(2).kill(p.pid(), Signal.KILL);
        ExitStatus status = p.waitFor(Duration.ofSeconds(10)).orElseThrow();
        assertFalse(status.toString().contains("failed"), "its end is its own: " + status);
    }

    /**
     * A parent moves while its child runs on another node, and the child never learns where (the notices of its new
     * node are held); its old node then forgets where it went (as it does after a while): the child's exit, sent to
     * the old node, still reaches it through its row, and its wait for the child ends.
     */
    @Test
    void aChildsExitFindsItsMovedParentByItsRowOnceTheOldNodeForgotTheMove() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.StepParent(1, 60), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE).plus(Capability.DISTANT_FORK)));
        Reaper.beforeTellingParentForTests = (node, pid) -> {
            if (node == 2 && pid == p.pid()) {
                hold();                                           // nor does its child learn where it went
            }
        };
        EpmNodes.await(() -> {
            LocalProcess lp = nodes.epm(0).localProcess(p.pid());
            return lp != null && lp.children.all().size() == 1;
        }, "its child started");
        assertEquals(2, nodes.epm(0).migrate(p.pid(), 2).to());
        nodes.epm(0).migration().forgetForTests(p.pid());
        assertEquals(Optional.of(ExitStatus.exited(10)), p.waitFor(Duration.ofSeconds(10)),
                "it got its child's exit (0) and ended with 10 + it");
    }

    /**
     * A group signal reaches a member while it moves, on both nodes: the new node, which installed it (it runs the
     * signal once it starts there), and the old one, which holds it and sends it on once the move is over. The
     * member takes it once.
     */
    @Test
    void aGroupSignalSentWhileAMemberMovesIsTakenOnce() throws Exception {
        ClusterProcess p = movableHandlers("group-once");
        int pgid = nodes.epm(2).status(p.pid()).orElseThrow().pgid();
        CountDownLatch installed = new CountDownLatch(1);
        Migration.afterInstallForTests = (pid, move) -> {
            if (pid == p.pid()) {
                installed.countDown();
                hold();                                           // node 0 still moving it
            }
        };
        CompletableFuture<MigrationReport> moving = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(),
                1));
        assertTrue(installed.await(10, TimeUnit.SECONDS), "installed on node 1");
        var count = nodes.ipc(2).atomicLong("group-once");
        assertTrue(nodes.epm(1).isLocal(p.pid()), "listed on node 1 (it starts once its answer left)");
        nodes.epm(2).killGroup(pgid, Signal.USR1);
        release.countDown();
        assertEquals(1, moving.join().to());
        awaitLong(() -> count.get() == 1, () -> "USR1 taken on node 1 (it is " + nodes.epm(2).status(p.pid())
                + ")");
        Thread.sleep(300);                                        // node 0 sent on what it held meanwhile
        nodes.epm(2).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(101), p.waitFor(Duration.ofSeconds(10)).orElseThrow(), "USR1 taken once");
    }

    /**
     * A group signal that reaches the old node of a member after the member left it, and reached its new node before
     * the member arrived there (here: sent to the old node only), follows the member there.
     */
    @Test
    void aGroupSignalThatReachesTheOldNodeAfterTheMemberLeftFollowsIt() throws Exception {
        ClusterProcess p = movableHandlers("group-follows");
        int pgid = nodes.epm(2).status(p.pid()).orElseThrow().pgid();
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
        EpmNodes.await(() -> !nodes.epm(0).isLocal(p.pid()), "gone from node 0");
        EpmNodes.await(() -> nodes.epm(1).status(p.pid()).map(i -> i.state() == ProcessState.SLEEPING).orElse(false),
                "running on node 1");
        var root = new org.kerrighed.epm.internal.EpmWire.Requester(0, 2, org.kerrighed.kddm.access.Credentials.ROOT,
                Capabilities.FULL);
        nodes.kddm(2).rpc().call(0, org.kerrighed.epm.internal.EpmWire.KILL_GROUP,
                new org.kerrighed.epm.internal.EpmWire.KillGroup(pgid, Signal.USR1, root, 42)).get(5, TimeUnit.SECONDS);
        var count = nodes.ipc(2).atomicLong("group-follows");
        awaitLong(() -> count.get() == 1, () -> "USR1 taken on node 1 (it is " + nodes.epm(2).status(p.pid())
                + ", alive " + p.isAlive() + ")");
        nodes.epm(2).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(101), p.waitFor(Duration.ofSeconds(10)).orElseThrow());
    }

    /**
     * A late exit notice of a process already reported lost with its node (its old node ends its copy when a move's
     * target died after taking it over, and says so) is dropped: kept as an early exit, it would end the record of a
     * restart of that pid.
     */
    @Test
    void aLateExitNoticeOfALostProcessDoesNotEndARestartOfItsPid() throws Exception {
        ClusterProcess p = nodes.epm(2).spawn(new TestPrograms.Sleeper(60_000), SpawnOptions.defaults().onNode(1));
        Thread.sleep(50);
        nodes.crash(1);
        ExitStatus lost = p.waitFor(Duration.ofSeconds(10)).orElseThrow();
        assertTrue(lost.toString().contains("node 1 failed"), lost.toString());
        nodes.kddm(0).rpc().send(2, org.kerrighed.epm.internal.EpmWire.EXIT, new org.kerrighed.epm.internal.EpmWire.Exit(
                Pids.INIT, p.pid(), 0, ExitStatus.killed(Signal.KILL, "node 1 failed while it moved there"), null,
                null));
        Thread.sleep(300);                                        // the late notice is handled
        Child restarted = nodes.epm(2).reaper().register(null, p.pid(), 0);
        Thread.sleep(100);
        assertFalse(restarted.exit().isDone(), "the restart's record is not ended by the late notice");
    }

    /**
     * A member takes a group signal on its old node, moves, and the same group signal reaches it on its new node (the
     * multicast came there after the move): it does not take it twice (the ids it took travel with it).
     */
    @Test
    void aGroupSignalTakenBeforeAMoveIsNotTakenAgainAfterIt() throws Exception {
        ClusterProcess p = movableHandlers("group-before");
        int pgid = nodes.epm(2).status(p.pid()).orElseThrow().pgid();
        var root = new org.kerrighed.epm.internal.EpmWire.Requester(0, 2, org.kerrighed.kddm.access.Credentials.ROOT,
                Capabilities.FULL);
        var usr1 = new org.kerrighed.epm.internal.EpmWire.KillGroup(pgid, Signal.USR1, root, 77);
        var count = nodes.ipc(2).atomicLong("group-before");
        nodes.kddm(2).rpc().call(0, org.kerrighed.epm.internal.EpmWire.KILL_GROUP, usr1).get(5, TimeUnit.SECONDS);
        awaitLong(() -> count.get() == 1, () -> "USR1 taken on node 0");
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
        var again = nodes.kddm(2).rpc().call(1, org.kerrighed.epm.internal.EpmWire.KILL_GROUP, usr1)
                .get(5, TimeUnit.SECONDS);
        assertEquals(0, again.delivered(), "not taken again on node 1");
        Thread.sleep(200);
        nodes.epm(2).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(101), p.waitFor(Duration.ofSeconds(10)).orElseThrow(), "USR1 taken once");
    }

    /**
     * A group signal counts a member that moved away once, although both its old node (which sends it on) and its
     * new one reach it; once the member has ended, the group has no member left (its old node's record of the move
     * does not count).
     */
    @Test
    void aGroupSignalCountsAMovedMemberOnceAndNoLongerOnceItEnded() throws Exception {
        ClusterProcess p = nodes.epm(2).spawn(new TestPrograms.Sleeper(60_000), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        int pgid = nodes.epm(2).status(p.pid()).orElseThrow().pgid();
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
        EpmNodes.await(() -> !nodes.epm(0).isLocal(p.pid()), "gone from node 0");
        assertEquals(1, nodes.epm(2).killGroup(pgid, Signal.CONT), "one member");
        nodes.epm(2).kill(p.pid(), Signal.KILL);
        p.waitFor(Duration.ofSeconds(10)).orElseThrow();
        assertThrows(NoSuchProcessException.class, () -> nodes.epm(2).killGroup(pgid, Signal.CONT));
    }

    /**
     * A notice for a process that moved 0 -> 1 -> 2 and ended on node 2 (its row removed), sent to node 2: node 2
     * forgets it (no row to go by), rather than send it round the nodes whose records of the moves still stand.
     */
    @Test
    void aNoticeForAProcessThatEndedAfterMovingDoesNotGoRoundTheNodes() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new TestPrograms.Sleeper(400), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        Thread.sleep(20);
        assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
        assertEquals(2, nodes.epm(1).migrate(p.pid(), 2).to());
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(10)).orElseThrow());
        EpmNodes.await(() -> rowNode(p.pid()) == -1, "its row removed");
        long before = noticesHandled();
        nodes.kddm(1).rpc().send(2, org.kerrighed.epm.internal.EpmWire.REPARENT,
                new org.kerrighed.epm.internal.EpmWire.Reparent(p.pid(), Pids.INIT, 1));
        nodes.kddm(1).rpc().send(2, org.kerrighed.epm.internal.EpmWire.EXIT, new org.kerrighed.epm.internal.EpmWire.Exit(
                p.pid(), Pids.make(0, 999), 1, ExitStatus.exited(0), null, null));
        Thread.sleep(1000);
        long handled = noticesHandled() - before;
        assertTrue(handled <= 10, handled + " notices handled in 1 s: they go round the nodes");
    }

    /**
     * A {@link TestPrograms.Handlers} program {@code name}, started from node 2 on node 0, allowed to migrate, once it
     * has installed its handlers.
     */
    private ClusterProcess movableHandlers(String name) throws InterruptedException {
        ClusterProcess p = nodes.epm(2).spawn(new TestPrograms.Handlers(name), SpawnOptions.defaults().onNode(0)
                .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)));
        TestPrograms.awaitHandlers(nodes, name);
        return p;
    }

    /**
     * Waits up to 30 s (a signal handler that counts in a cluster atomic may wait out a KDDM call timeout on a loaded
     * machine), then fails saying {@code what}, computed then.
     */
    private static void awaitLong(java.util.function.BooleanSupplier condition,
                                  java.util.function.Supplier<String> what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting: " + what.get());
            }
            Thread.sleep(5);
        }
    }

    /** The REPARENT, EXIT and MOVED notices (plain and by row) every node has handled so far. */
    private long noticesHandled() {
        long n = 0;
        for (int i = 0; i < 3; i++) {
            for (var s : nodes.kddm(i).rpc().stats().services()) {
                if (s.name().startsWith("epm.reparent") || s.name().startsWith("epm.exit")
                        || s.name().startsWith("epm.moved")) {
                    n += s.callsIn();
                }
            }
        }
        return n;
    }

    private int rowNode(int pid) {
        try {
            return nodes.epm(2).table().nodeOf(pid);
        } catch (RuntimeException e) {
            return -2;
        }
    }
}
