package org.kerrighed.epm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.testing.TestJars;
import org.kerrighed.ipc.ClusterLock;
import org.kerrighed.rpc.KerrighedException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a move's caller and its process see when the move meets trouble after the process stopped at its safe
 * point: an answer that comes late, a target silent for longer than the locks were reserved, a step that fails
 * after the target took the process, a target whose process layer is closing. In each, the process runs on exactly
 * one node, with its locks, and the caller is told where.
 */
@Timeout(120)
class MigrationOutcomeTest {
    private static final SpawnOptions MIGRATABLE = SpawnOptions.defaults()
            .capabilities(Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE));
    private static final Duration QUICK = Duration.ofSeconds(1);

    /** Holders that took their lock, and those released, by lock name (the programs run in this JVM). */
    static final Map<String, Boolean> LOCKED = new ConcurrentHashMap<>();
    static final Map<String, Boolean> RELEASED = new ConcurrentHashMap<>();

    /** Takes cluster lock {@code name} in its first step, then ticks until released; unlocks and exits 0. */
    static final class LockHolder implements StepProgram {
        String name;
        ClusterLock lock;

        private LockHolder() {
        }

        LockHolder(String name) {
            this.name = name;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (lock == null) {
                lock = ctx.ipc().lock(name);
                lock.lock();
                LOCKED.put(name, true);
                return false;
            }
            if (RELEASED.containsKey(name)) {
                lock.unlock();                                // throws if the process does not hold it
                return true;
            }
            ctx.sleep(Duration.ofMillis(5));
            return false;
        }
    }

    /** Starts {@code child} on its own node; ticks until it moved; then waits for the child: exits with its code. */
    static final class WaitsAfterMove implements StepProgram {
        AppMain child;
        int pid;
        int code;

        private WaitsAfterMove() {
        }

        WaitsAfterMove(AppMain child) {
            this.child = child;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (pid == 0) {
                pid = ctx.spawn(child, SpawnOptions.defaults().onNode(ctx.node())).pid();
                return false;
            }
            if (!ctx.resumed()) {
                ctx.sleep(Duration.ofMillis(5));
                return false;
            }
            code = ctx.waitFor(pid).code();
            return true;
        }

        @Override
        public int exitCode() {
            return code;
        }
    }

    /** A child whose result (an application object larger than a frame) cannot travel: it sleeps until killed. */
    static final Map<String, String> LATE_APP = Map.of("lateapp.Child", """
            package lateapp;

            import org.kerrighed.epm.*;

            public class Child implements Program {
                @Override
                public int run(ProcessContext ctx) throws Exception {
                    ctx.setResult(new Blob(new byte[20 << 20]));
                    while (true) {
                        ctx.sleep(java.time.Duration.ofMillis(20));
                    }
                }
            }
            """, "lateapp.Blob", """
            package lateapp;

            public record Blob(byte[] bytes) {
            }
            """);

    // ------------------------------------------------------------------ the caller is told what happened

    /**
     * The commit's answer is lost, and the target stays silent (yet a member) for longer than the old node used to
     * ask: the old node asks until it answers, so the process runs on the target only, and the caller, who waits
     * for the move's end, gets its report.
     */
    @Test
    void aTargetSilentForSeveralTimeoutsIsAskedUntilItAnswers() throws Exception {
        try (QuickEpmNodes nodes = new QuickEpmNodes(2, QUICK)) {
            ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.Ticker(), MIGRATABLE.onNode(0));
            Thread.sleep(50);
            nodes.faults().drop(1, 0);                          // node 1's answers are lost
            long t0 = System.nanoTime();
            CompletableFuture<MigrationReport> move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(
                    p.pid(), 1));
            EpmNodes.await(() -> nodes.epm(1).isLocal(p.pid()), "installed on node 1");
            Thread.sleep(Math.max(0, 6_000 - (System.nanoTime() - t0) / 1_000_000));   // 6 call timeouts of silence
            nodes.faults().heal();
            MigrationReport r = move.get(30, TimeUnit.SECONDS);
            assertEquals(1, r.to());
            assertFalse(nodes.epm(0).isLocal(p.pid()), "no longer on node 0");
            assertTrue(nodes.epm(1).isLocal(p.pid()), "on node 1");
            nodes.epm(0).kill(p.pid(), Signal.TERM);
            assertEquals(40, p.waitFor(Duration.ofSeconds(30)).orElseThrow().code());
        }
    }

    /**
     * The caller of a move that is under way is interrupted: it is not told that the process stayed where it was
     * (a {@link MigrationException}) while the move goes on and succeeds.
     */
    @Test
    void anInterruptedCallerIsNotToldTheProcessStayedWhileItMoves() throws Exception {
        try (EpmNodes nodes = new EpmNodes(2)) {
            ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.Ticker(), MIGRATABLE.onNode(0));
            HeldInstall held = new HeldInstall(p.pid(), Duration.ofSeconds(10));
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(nodes.epm(0).migrate(p.pid(), 1));
                } catch (RuntimeException e) {
                    outcome.set(e);
                }
            });
            try {
                held.awaitReading(Duration.ofSeconds(10));
                caller.interrupt();
                caller.join(TimeUnit.SECONDS.toMillis(5));
            } finally {
                held.close();
            }
            caller.join(TimeUnit.SECONDS.toMillis(30));
            EpmNodes.await(() -> nodes.epm(1).isLocal(p.pid()) && !nodes.epm(0).isLocal(p.pid()), "moved");
            Object o = outcome.get();
            assertNotNull(o, "the caller returned");
            assertFalse(o instanceof MigrationException, "told it stayed, yet it moved: " + o);
            assertTrue(o instanceof MigrationReport || o instanceof KerrighedException, String.valueOf(o));
            nodes.epm(0).kill(p.pid(), Signal.TERM);
            assertEquals(40, p.waitFor(Duration.ofSeconds(30)).orElseThrow().code());
        }
    }

    // ------------------------------------------------------------------ locks after a failed move

    /**
     * A failed move whose end comes later than the old reservation of its locks (its target silent, then heard
     * again), with a STOP posted meanwhile: the process takes its lock back (no other process got it meanwhile) and
     * its STOP still stops it.
     */
    @Test
    void aSlowFailedMoveKeepsTheProcessLocksAndItsStop() throws Exception {
        String name = lockAwayFromNode1("slow-failed-move");
        try (QuickEpmNodes nodes = new QuickEpmNodes(3, QUICK)) {
            ClusterProcess p = nodes.epm(0).spawn(new LockHolder(name), MIGRATABLE.onNode(0));
            EpmNodes.await(() -> LOCKED.containsKey(name), "the lock taken");
            AtomicLong contenderGot = new AtomicLong();
            Thread contender = contend(nodes, name, contenderGot, 1_000);
            nodes.faults().partition(0, 1);
            long t0 = System.nanoTime();
            CompletableFuture<MigrationReport> move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(
                    p.pid(), 1));
            Thread.sleep(1_500);
            nodes.epm(2).kill(p.pid(), Signal.STOP);
            Thread.sleep(Math.max(0, 5_500 - (System.nanoTime() - t0) / 1_000_000));
            nodes.faults().heal();
            refusal(move);
            EpmNodes.await(() -> nodes.epm(0).status(p.pid()).map(i -> i.state() == ProcessState.STOPPED)
                    .orElse(false), "stopped by its STOP");
            assertEquals(0, contenderGot.get(), "nobody else took the lock");
            RELEASED.put(name, true);
            nodes.epm(2).kill(p.pid(), Signal.CONT);
            assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(30)).orElseThrow(),
                    "it still held its lock");
            contender.join(10_000);
            assertTrue(contenderGot.get() != 0, "the lock passed on once released");
        }
    }

    /**
     * A move whose target stays silent past the reservation of the locks, another process taking the lock
     * meanwhile, then the target declared dead: the process cannot take its lock back, and is killed rather than
     * run without it.
     */
    @Test
    void aProcessThatCannotTakeItsLocksBackIsKilled() throws Exception {
        String name = lockAwayFromNode1("lost-lock");
        try (QuickEpmNodes nodes = new QuickEpmNodes(3, QUICK)) {
            ClusterProcess p = nodes.epm(0).spawn(new LockHolder(name), MIGRATABLE.onNode(0));
            EpmNodes.await(() -> LOCKED.containsKey(name), "the lock taken");
            AtomicLong contenderGot = new AtomicLong();
            Thread contender = contend(nodes, name, contenderGot, 60_000);
            nodes.faults().partition(0, 1);
            CompletableFuture<MigrationReport> move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(
                    p.pid(), 1));
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (contenderGot.get() == 0 && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertTrue(contenderGot.get() != 0, "the reservation lapsed");
            nodes.crash(1);
            RELEASED.put(name, true);
            ExitStatus s = p.waitFor(Duration.ofSeconds(30)).orElseThrow();
            Throwable failed = move.handle((r, e) -> e).get(30, TimeUnit.SECONDS);
            assertInstanceOf(KerrighedException.class, failed instanceof CompletionException ? failed.getCause()
                    : failed, "not moved: " + failed);                // past the move's bound: not told which
            assertEquals(Signal.KILL, s.signal(), s + " (move: " + failed + ")");
            assertTrue(s.reason().contains("lock"), s.reason());
            contender.interrupt();
            contender.join(10_000);
        }
    }

    /**
     * A lock name whose KDDM home (round robin over nodes 0-2) is not node 1, so that node 1's silence hides
     * neither the lock from node 2's contender nor the contender from the lock.
     */
    private static String lockAwayFromNode1(String prefix) {
        for (int i = 0; ; i++) {
            String n = prefix + "-" + i;
            if (Math.floorMod(org.kerrighed.ipc.internal.Names.id(n), 3) != 1) {
                return n;
            }
        }
    }

    /**
     * A thread of node 2 that takes lock {@code name} as soon as it can (recording when), holds it {@code hold} ms
     * (or until interrupted), lets go.
     */
    private static Thread contend(QuickEpmNodes nodes, String name, AtomicLong got, long hold) {
        return Thread.ofPlatform().daemon().start(() -> {
            ClusterLock l = nodes.ipc(2).lock(name);
            try {
                while (!l.tryLock(50, TimeUnit.MILLISECONDS)) {
                    Thread.onSpinWait();
                }
            } catch (InterruptedException | RuntimeException e) {
                return;
            }
            got.set(System.nanoTime());
            try {
                Thread.sleep(hold);
            } catch (InterruptedException e) {
                // let go
            }
            l.unlock();
        });
    }

    // ------------------------------------------------------------------ after the target took the process

    /**
     * The exit of a child that came to the old node while its parent moved cannot be forwarded as it is (its
     * result cannot travel): the move stands, the parent runs on the new node only, and it gets the exit without
     * the result.
     */
    @Test
    void aStepFailingAfterTheTargetTookTheProcessDoesNotUndoTheMove(@TempDir Path dir) throws Exception {
        try (EpmNodes nodes = new EpmNodes(2)) {
            String app = nodes.epm(0).applications().install(TestJars.build(dir.resolve("late.jar"), LATE_APP,
                    Map.of()));
            AppMain child = nodes.epm(0).applications().main(app, "lateapp.Child");
            ClusterProcess p = nodes.epm(0).spawn(new WaitsAfterMove(child), MIGRATABLE.onNode(0));
            EpmNodes.await(() -> {
                LocalProcess lp = nodes.epm(0).localProcess(p.pid());
                Child c = lp == null ? null : lp.children.all().stream().findFirst().orElse(null);
                LocalProcess cp = c == null ? null : nodes.epm(0).localProcess(c.pid);
                return cp != null && cp.result() != null;
            }, "the child set its result");
            LocalProcess parent = nodes.epm(0).localProcess(p.pid());
            Child c = parent.children.all().iterator().next();
            HeldInstall held = new HeldInstall(p.pid(), Duration.ofSeconds(10));
            CompletableFuture<MigrationReport> move;
            try {
                move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(), 1));
                held.awaitReading(Duration.ofSeconds(10));
                nodes.epm(0).kill(c.pid, Signal.TERM);           // its exit comes to node 0 after the ghost went
                EpmNodes.await(() -> c.exit().isDone(), "the child's exit applied on node 0");
            } finally {
                held.close();
            }
            MigrationReport r = move.get(30, TimeUnit.SECONDS);
            assertEquals(1, r.to());
            assertFalse(nodes.epm(0).isLocal(p.pid()), "no longer on node 0");
            assertEquals(ExitStatus.killed(Signal.TERM, "").code(), p.waitFor(Duration.ofSeconds(30)).orElseThrow()
                    .code(), "the moved parent got its child's exit");
        }
    }

    /**
     * A move to a node whose process layer is closing (its threads no longer start): refused, and nothing of the
     * process is left there; signals still reach it where it runs.
     */
    @Test
    void aMoveToAClosingNodeLeavesNothingThere() throws Exception {
        try (EpmNodes nodes = new EpmNodes(3)) {
            ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.Ticker(), MIGRATABLE.onNode(0));
            Epm closing = nodes.epm(1);
            closing.close();
            refusal(CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(), 1)));
            assertFalse(closing.isLocal(p.pid()), "no copy left on node 1");
            assertTrue(nodes.epm(0).isLocal(p.pid()), "still on node 0");
            Thread.sleep(200);                                  // a row write, if any, lands
            assertEquals(0, nodes.epm(2).status(p.pid()).orElseThrow().node());
            nodes.epm(2).kill(p.pid(), Signal.TERM);
            assertEquals(40, p.waitFor(Duration.ofSeconds(30)).orElseThrow().code());
        }
    }

    /**
     * A node whose process layer closes while one of its processes is moving away (the new node still reading the
     * ghost): the close does not kill it, the move completes, and the process goes on on its new node.
     */
    @Test
    void aProcessMovingAwayFromAClosingNodeGoesOnWhereItArrived() throws Exception {
        try (EpmNodes nodes = new EpmNodes(3)) {
            ClusterProcess p = nodes.epm(2).spawn(new MigrationTest.Ticker(), MIGRATABLE.onNode(0));
            HeldInstall held = new HeldInstall(p.pid(), Duration.ofSeconds(10));
            CompletableFuture<MigrationReport> move;
            CompletableFuture<Void> closed;
            try {
                move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(), 1));
                held.awaitReading(Duration.ofSeconds(10));
                closed = CompletableFuture.runAsync(() -> nodes.epm(0).close());
                Thread.sleep(300);                              // the close has sent its KILLs and waits
                assertFalse(closed.isDone(), "the close waits for the process that is moving away");
            } finally {
                held.close();
            }
            assertEquals(1, move.get(30, TimeUnit.SECONDS).to());
            closed.get(30, TimeUnit.SECONDS);
            assertFalse(nodes.epm(0).isLocal(p.pid()), "no longer on node 0");
            Thread.sleep(300);                                  // a KILL carried along would have landed
            assertTrue(nodes.epm(1).isLocal(p.pid()), "running on node 1");
            assertTrue(p.isAlive(), "not ended: " + p.onExit().getNow(null));
            assertEquals(1, nodes.epm(2).status(p.pid()).orElseThrow().node());
            nodes.epm(2).kill(p.pid(), Signal.TERM);
            assertEquals(40, p.waitFor(Duration.ofSeconds(30)).orElseThrow().code());
        }
    }

    /**
     * A node whose process layer closes while one of its processes is moving away, the new node still reading the
     * ghost when the close stops waiting (2 s): the old node settles the move by asking, the new node refuses it,
     * and the process, still on the closed node, is killed there (the KILL held back for the move).
     */
    @Test
    void aProcessWhoseMoveEndsWithItOnAClosedNodeIsKilledThere() throws Exception {
        try (EpmNodes nodes = new EpmNodes(3)) {
            ClusterProcess p = nodes.epm(2).spawn(new MigrationTest.Ticker(), MIGRATABLE.onNode(0));
            HeldInstall held = new HeldInstall(p.pid(), Duration.ofSeconds(20));
            CompletableFuture<MigrationReport> move;
            try {
                move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(), 1));
                held.awaitReading(Duration.ofSeconds(10));
                nodes.epm(0).close();                           // gives up waiting after 2 s: the move goes on
                refusal(move);                                  // settled by asking node 1, which refuses it
            } finally {
                held.close();
            }
            ExitStatus s = p.waitFor(Duration.ofSeconds(30)).orElseThrow();
            assertEquals(ExitStatus.killed(Signal.KILL, "").code(), s.code(), String.valueOf(s));
            Thread.sleep(300);                                  // an install on node 1, if any, is done
            assertFalse(nodes.epm(1).isLocal(p.pid()), "nothing of it on node 1");
        }
    }

    /**
     * The row writes of a move fail for a while (as while KDDM recovers from a node's failure): they are tried again,
     * and the moved process's row comes to name its new node (it named the old one for good before).
     */
    @Test
    void aMovedProcessRowNamesItsNewNodeEvenIfRowWritesFailedForAWhile() throws Exception {
        try (EpmNodes nodes = new EpmNodes(3)) {
            ClusterProcess p = nodes.epm(2).spawn(new MigrationTest.Ticker(), MIGRATABLE.onNode(0));
            EpmNodes.await(() -> nodes.epm(2).table().nodeOf(p.pid()) == 0, "the row names node 0");
            ProcessTable.FAIL_ROW_WRITES_FOR_TESTS.set(4);   // both nodes' writes of the move, twice each
            try {
                assertEquals(1, nodes.epm(0).migrate(p.pid(), 1).to());
                EpmNodes.await(() -> nodes.epm(2).table().nodeOf(p.pid()) == 1, "the row names node 1");
                assertEquals(0, ProcessTable.FAIL_ROW_WRITES_FOR_TESTS.get(), "every write made to fail was tried");
            } finally {
                ProcessTable.FAIL_ROW_WRITES_FOR_TESTS.set(0);
            }
            nodes.epm(2).kill(p.pid(), Signal.TERM);
            assertEquals(40, p.waitFor(Duration.ofSeconds(30)).orElseThrow().code());
        }
    }

    /**
     * A move to a node whose process layer starts closing while it reads the ghost (sent in pieces), the close
     * still waiting for a process of its own: refused, and the process goes on where it ran (it used to be
     * installed on the closing node and run there, sent no KILL).
     */
    @Test
    void aMoveToANodeThatStartsClosingWhileItReadsTheGhostIsRefused() throws Exception {
        try (EpmNodes nodes = new EpmNodes(3)) {
            ClusterProcess stubborn = nodes.epm(2).spawn(new Stubborn(4000), SpawnOptions.defaults().onNode(1));
            EpmNodes.await(() -> nodes.epm(1).isLocal(stubborn.pid()), "node 1 runs a process that ends late");
            ClusterProcess p = nodes.epm(2).spawn(new MigrationTest.BigState(6 << 20), MIGRATABLE.onNode(0));
            HeldInstall held = new HeldInstall(p.pid(), Duration.ofSeconds(10));
            CompletableFuture<MigrationReport> move;
            CompletableFuture<Void> closed;
            try {
                move = CompletableFuture.supplyAsync(() -> nodes.epm(0).migrate(p.pid(), 1));
                held.awaitReading(Duration.ofSeconds(20));
                closed = CompletableFuture.runAsync(() -> nodes.epm(1).close());
                Thread.sleep(300);
                assertFalse(closed.isDone(), "node 1's close waits for its process");
            } finally {
                held.close();
            }
            refusal(move);
            ExitStatus s = p.waitFor(Duration.ofSeconds(30)).orElseThrow();
            assertEquals(0, s.code(), String.valueOf(s));
            assertEquals(1L, ((long[]) p.result().orElseThrow())[1], "ran on node 0 only");
            closed.get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * A distant fork while every row write fails (KDDM recovering): the copy's row write, which its new node makes
     * before it answers, is tried again for a quarter of a call timeout only, and the fork goes through.
     */
    @Test
    void aDistantForkGoesThroughWhileRowWritesFail() throws Exception {
        try (EpmNodes nodes = new EpmNodes(3)) {
            ProcessTable.FAIL_ROW_WRITES_FOR_TESTS.set(1_000_000);
            try {
                ClusterProcess p = nodes.epm(0).spawn(new ForkOnce(), SpawnOptions.defaults().onNode(0)
                        .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
                ExitStatus s = p.waitFor(Duration.ofSeconds(60)).orElseThrow();
                assertEquals(27, s.code(), String.valueOf(s));
            } finally {
                ProcessTable.FAIL_ROW_WRITES_FOR_TESTS.set(0);
            }
        }
    }

    /** One step that sleeps {@code millis} through any interrupt: no safe point meanwhile, so KILL waits for it. */
    static final class Stubborn implements StepProgram {
        long millis;

        private Stubborn() {
        }

        Stubborn(long millis) {
            this.millis = millis;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            long end = System.nanoTime() + millis * 1_000_000;
            for (long left = millis; left > 0; left = (end - System.nanoTime()) / 1_000_000) {
                try {
                    Thread.sleep(left);
                } catch (InterruptedException ignored) {
                    // sleeps on
                }
            }
            return true;
        }
    }

    /** Forks a copy onto node 1, which exits 7; the parent waits for it and exits 20 + its code. */
    static final class ForkOnce implements StepProgram {
        int code;

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            code = ctx.forked() ? 7 : 20 + ctx.waitFor(ctx.fork(SpawnOptions.defaults().onNode(1)).pid()).code();
            return true;
        }

        @Override
        public int exitCode() {
            return code;
        }
    }

    /**
     * Holds the install of process {@code pid} on its new node, which has read the ghost, until {@link #close} (or
     * for {@code atMost}).
     */
    private static final class HeldInstall implements AutoCloseable {
        private final CountDownLatch reading = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);

        HeldInstall(int pid, Duration atMost) {
            Migration.beforeInstallForTests = (moving, id) -> {
                if (moving == pid) {
                    reading.countDown();
                    try {
                        release.await(atMost.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
        }

        void awaitReading(Duration atMost) throws InterruptedException {
            assertTrue(reading.await(atMost.toMillis(), TimeUnit.MILLISECONDS), "the new node read the ghost");
        }

        @Override
        public void close() {
            release.countDown();
            Migration.beforeInstallForTests = null;
        }
    }

    /** The move's failure, which must be a {@link MigrationException} (a move that succeeded fails the test). */
    private static Throwable refusal(CompletableFuture<MigrationReport> move) throws Exception {
        Throwable failed = move.handle((r, e) -> e == null ? new AssertionError("moved: " + r) : e)
                .get(60, TimeUnit.SECONDS);
        failed = failed instanceof CompletionException ? failed.getCause() : failed;
        assertInstanceOf(MigrationException.class, failed, String.valueOf(failed));
        return failed;
    }
}
