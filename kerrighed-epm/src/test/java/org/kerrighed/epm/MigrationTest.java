package org.kerrighed.epm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.ipc.ClusterLock;
import org.kerrighed.ipc.Pipe;
import org.kerrighed.ipc.PipeEndHandle;
import org.kerrighed.ipc.PipeReadEnd;
import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SharedMemory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Migration on 3 in-process nodes: state, handles, locks, pipes, signals, wait, refusals. */
@Timeout(120)
class MigrationTest {
    static EpmNodes nodes;
    static final Capabilities MIGRATABLE = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE);

    @BeforeAll
    static void start() {
        nodes = new EpmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    static SpawnOptions migratable(int node) {
        return SpawnOptions.defaults().onNode(node).capabilities(MIGRATABLE);
    }

    /** Sums a function of i for i < n, {@code chunk} per step; result {sum, bitmask of the nodes it ran on}. */
    static final class Summer implements StepProgram {
        long n;
        long chunk;
        long i;
        long sum;
        long seen;

        private Summer() {
        }

        Summer(long n, long chunk) {
            this.n = n;
            this.chunk = chunk;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(1));                       // a floor on its length, whatever the CPU
            for (long end = Math.min(i + chunk, n); i < end; i++) {
                sum += (i * i) % 7919;
            }
            seen |= 1L << ctx.node();
            if (i < n) {
                return false;
            }
            ctx.setResult(new long[]{sum, seen});
            return true;
        }
    }

    /**
     * Holds a cluster lock for its whole life, reads {@code count} longs from a pipe (one per step), folds them into
     * a hash and writes each partial hash into a shared segment. Result: {hash, 1 if it ever found its lock not
     * held, bitmask of nodes}.
     */
    static final class Mixed implements StepProgram {
        String lockName;
        long segment;
        PipeEndHandle input;
        int count;
        ClusterLock lock;
        Segment seg;
        PipeReadEnd in;
        int k;
        long hash;
        long lockLost;
        long seen;

        private Mixed() {
        }

        Mixed(String lockName, long segment, PipeEndHandle input, int count) {
            this.lockName = lockName;
            this.segment = segment;
            this.input = input;
            this.count = count;
        }

        @Override
        public boolean step(ProcessContext ctx) throws Exception {
            seen |= 1L << ctx.node();
            if (lock == null) {
                lock = ctx.ipc().lock(lockName);
                lock.lock();
                ctx.ipc().atomicLong(lockName + "-state").set(1);        // holding
                seg = ctx.shm().attach(segment);
                in = ctx.ipc().openReadEnd(input);
                return false;
            }
            if (!lock.isHeldByCurrentThread()) {
                lockLost = 1;
            }
            ByteBuffer b = ByteBuffer.allocate(8);
            while (b.hasRemaining()) {
                if (in.read(b) < 0) {
                    throw new IllegalStateException("EOF after " + k + " values");
                }
            }
            hash = hash * 31 + b.flip().getLong();
            seg.putLong(8L * k, hash);
            k++;
            if (k < count) {
                return false;
            }
            ctx.ipc().atomicLong(lockName + "-state").set(2);            // releasing
            lock.unlock();
            in.close();
            seg.close();
            ctx.setResult(new long[]{hash, lockLost, seen});
            return true;
        }
    }

    /** A main-shaped loop with safe points and short sleeps; result {sum, times run() was entered}. */
    static final class Loop implements Program {
        long n;
        long i;
        long sum;
        long entries;

        private Loop() {
        }

        Loop(long n) {
            this.n = n;
        }

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            entries++;
            while (i < n) {
                sum += i ^ (i >>> 3);
                i++;
                if ((i & 1023) == 0) {
                    ctx.safepoint();
                }
                if ((i & 0xffff) == 0) {
                    ctx.sleep(Duration.ofMillis(1));              // about 1.5 s for 100 million, whatever the CPU
                }
            }
            ctx.setResult(new long[]{sum, entries});
            return ctx.resumed() ? 0 : 1;
        }
    }

    /** Sleeps 5 ms per step forever; counts USR1 with a handler; exits 40 + count on TERM. */
    static final class Ticker implements StepProgram {
        int usr1;
        boolean installed;

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (!installed) {
                installed = true;
                ctx.handle(Signal.USR1, s -> usr1++);
                ctx.handle(Signal.TERM, s -> ctx.exit(40 + usr1));
            }
            ctx.sleep(Duration.ofMillis(5));
            return false;
        }
    }

    /**
     * Counts its steps in a cluster atomic long held in a field, and keeps the last node it ran on in a cluster
     * atomic reference, 5 ms a step; ends after {@code steps} steps with the count as exit code.
     */
    static final class AtomicStepper implements StepProgram {
        String name;
        int steps;
        org.kerrighed.ipc.ClusterAtomicLong count;
        org.kerrighed.ipc.ClusterAtomicReference<Integer> node;
        int code;

        private AtomicStepper() {
        }

        AtomicStepper(String name, int steps) {
            this.name = name;
            this.steps = steps;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (count == null) {
                count = ctx.ipc().atomicLong(name);
                node = ctx.ipc().atomicReference(name + "-node", Integer.class);
            }
            node.set(ctx.node());
            code = (int) count.incrementAndGet();
            ctx.sleep(Duration.ofMillis(5));
            return code >= steps;
        }

        @Override
        public int exitCode() {
            return code;
        }
    }

    /** A process whose fields hold cluster atomics moves with them: they are the same objects on its new node. */
    @Test
    void clusterAtomicsInFieldsTravel() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new AtomicStepper("stepper", 60), migratable(0));
        var count = nodes.ipc(2).atomicLong("stepper");
        EpmNodes.await(() -> count.get() > 5, "stepping on node 0");
        nodes.epm(2).migrate(p.pid(), 1);
        long there = count.get();
        EpmNodes.await(() -> count.get() > there + 5, "stepping on node 1");
        assertEquals(1, nodes.ipc(2).atomicReference("stepper-node", Integer.class).get());
        nodes.epm(2).migrate(p.pid(), 2);
        assertEquals(ExitStatus.exited(60), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertEquals(60, count.get());
    }

    /** {@link Ticker} main-shaped: its handlers (lambdas capturing the program and its context) travel. */
    static final class MainTicker implements Program {
        int usr1;

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            if (!ctx.resumed()) {
                ctx.handle(Signal.USR1, s -> usr1++);
                ctx.handle(Signal.TERM, s -> ctx.exit(40 + usr1));
            }
            while (true) {
                ctx.sleep(Duration.ofMillis(5));
            }
        }
    }

    /** Starts a child on {@code childNode} that sleeps; ticks {@code ticks} steps; then waits for it: 10 + its code. */
    static final class StepParent implements StepProgram {
        int childNode;
        int ticks;
        int child;
        int t;
        int code;

        private StepParent() {
        }

        StepParent(int childNode, int ticks) {
            this.childNode = childNode;
            this.ticks = ticks;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (child == 0) {
                child = ctx.spawn(new TestPrograms.Sleeper(400), SpawnOptions.defaults().onNode(childNode)).pid();
                return false;
            }
            if (t++ < ticks) {
                ctx.sleep(Duration.ofMillis(10));
                return false;
            }
            code = 10 + ctx.waitFor(child).code();
            return true;
        }

        @Override
        public int exitCode() {
            return code;
        }
    }

    /** A program whose state holds a thread: it cannot travel. */
    static final class HoldsThread implements StepProgram {
        Thread thread = Thread.currentThread();
        int steps;

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(5));
            return ++steps >= 100;
        }
    }

    /**
     * Counts to 10 in steps, with a segment attached; at step 5 forks a copy onto node 2. Each writes its sum and
     * node into its slot of the segment (parent 0, copy 1); the parent waits for the copy and exits 20 + its code.
     */
    static final class Forker implements StepProgram {
        long segment;
        Segment seg;
        int i;
        long sum;
        int child;

        private Forker() {
        }

        Forker(long segment) {
            this.segment = segment;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (seg == null) {
                seg = ctx.shm().attach(segment);
            }
            if (i == 5 && child == 0 && !ctx.forked()) {
                child = ctx.fork(SpawnOptions.defaults().onNode(2)).pid();
            }
            sum += ++i;
            if (i < 10) {
                return false;
            }
            int slot = ctx.forked() ? 1 : 0;
            seg.putLong(16L * slot, sum);
            seg.putLong(16L * slot + 8, ctx.node());
            if (!ctx.forked()) {
                i = 20 + ctx.waitFor(child).code();
            } else {
                i = 7;
            }
            return true;
        }

        @Override
        public int exitCode() {
            return i;
        }
    }

    /** Writes its step count into slot 0 of segment {@code segment} for 100 steps of 5 ms; result: the nodes seen. */
    static final class SegmentWriter implements StepProgram {
        long segment;
        Segment seg;
        long i;
        long seen;

        private SegmentWriter() {
        }

        SegmentWriter(long segment) {
            this.segment = segment;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (seg == null) {
                seg = ctx.shm().attach(segment);
            }
            ctx.sleep(Duration.ofMillis(5));
            seg.putLong(0, ++i);
            seen |= 1L << ctx.node();
            if (i < 100) {
                return false;
            }
            ctx.setResult(new long[]{seg.getLong(0), seen});
            return true;
        }
    }

    /**
     * The SysV habit of marking a segment for removal right after attaching it (it goes when its last user does):
     * the process still moves with it, and the segment is freed once the process ended.
     */
    @Test
    void aProcessMovesWithASegmentMarkedForRemoval() throws Exception {
        long seg = nodes.shm(0).open(0x5e6, 4096, SharedMemory.CREATE | 0600);
        ClusterProcess p = nodes.epm(0).spawn(new SegmentWriter(seg), SpawnOptions.defaults().onNode(1)
                .capabilities(MIGRATABLE));
        EpmNodes.await(() -> nodes.shm(0).stat(seg).attachCount() == 1, "the process attached the segment");
        nodes.shm(0).remove(seg);
        MigrationReport m = nodes.epm(0).migrate(p.pid(), 2);
        assertEquals(2, m.to());
        ExitStatus end = p.waitFor(Duration.ofSeconds(20)).orElseThrow();
        assertEquals(ExitStatus.exited(0), end);
        long[] r = (long[]) p.result().orElseThrow();
        assertEquals(100, r[0], "it wrote on through the segment after the move");
        assertEquals((1L << 1) | (1L << 2), r[1], "it ran on nodes 1 and 2");
        EpmNodes.await(() -> {
            try {
                nodes.shm(0).stat(seg);
                return false;
            } catch (org.kerrighed.mm.NoSuchSegmentException freed) {
                return true;
            }
        }, "the segment freed after its last user ended");
    }

    /** Adds 1 to slot 0 of segment {@code segment} every 2 ms until slot 8 holds 1; result: its count. */
    static final class SegmentTicker implements StepProgram {
        long segment;
        Segment seg;
        long n;

        private SegmentTicker() {
        }

        SegmentTicker(long segment) {
            this.segment = segment;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (seg == null) {
                seg = ctx.shm().attach(segment);
            }
            ctx.sleep(Duration.ofMillis(2));
            seg.putLong(0, ++n);
            if (seg.getLong(8) == 1) {
                ctx.setResult(n);
                return true;
            }
            return false;
        }
    }

    /**
     * The caller of a move is told before the old node has released the process's copies there (its segments, its
     * pipe ends). A move back to that node meanwhile waits for the release, which would otherwise detach the
     * segments the process has just attached again there.
     */
    @Test
    void aProcessMovedBackBeforeItsOldNodeReleasedItKeepsTheSegmentsItAttachedThere() throws Exception {
        long seg = nodes.shm(0).open(0x7e1e, 4096, SharedMemory.CREATE | 0600);
        ClusterProcess p = nodes.epm(0).spawn(new SegmentTicker(seg), migratable(1));
        EpmNodes.await(() -> nodes.shm(0).stat(seg).attachCount() == 1, "the process attached the segment");
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        Migration.beforeReleaseForTests = (node, pid) -> {
            if (node == 1 && pid == p.pid()) {
                held.countDown();
                try {
                    go.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try {
            assertEquals(2, nodes.epm(0).migrate(p.pid(), 2).to(), "told while node 1 has not released it yet");
            assertTrue(held.await(10, java.util.concurrent.TimeUnit.SECONDS));
            java.util.concurrent.CompletableFuture<MigrationReport> back = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> nodes.epm(0).migrate(p.pid(), 1));
            Thread.sleep(300);
            assertFalse(back.isDone(), "the move back waits for node 1 to release the copies of the move away");
            go.countDown();
            assertEquals(1, back.get(20, java.util.concurrent.TimeUnit.SECONDS).to());
        } finally {
            Migration.beforeReleaseForTests = null;
            go.countDown();
        }
        try (Segment s = nodes.shm(0).attach(seg)) {
            long before = s.getLong(0);
            EpmNodes.await(() -> s.getLong(0) > before + 10, "the process ticks on through its segment on node 1");
            assertEquals(2, nodes.shm(0).stat(seg).attachCount(), "the process's attachment and this one");
            s.putLong(8, 1);
        }
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        nodes.shm(0).remove(seg);
    }

    /** Rests 5 ms between steps until it runs on another node than its first; result: who it is there. */
    static final class Identity implements StepProgram {
        int first = -1;

        @Override
        public boolean step(ProcessContext ctx) {
            if (first < 0) {
                first = ctx.node();
            }
            if (ctx.node() == first) {
                ctx.nextStepAfter(Duration.ofMillis(5));
                return false;
            }
            ctx.setResult(ctx.pid() + " " + ctx.ppid() + " " + ctx.pgid() + " " + ctx.sid() + " " + ctx.args() + " "
                    + new java.util.TreeMap<>(ctx.env()) + " " + ctx.credentials() + " " + ctx.capabilities());
            return true;
        }
    }

    /** The identity a ghost carries (written field by field) is the same after a move. */
    @Test
    void aMovedProcessKeepsItsIdentity() throws Exception {
        org.kerrighed.kddm.access.Credentials who = new org.kerrighed.kddm.access.Credentials(1234, 56);
        Capabilities uneven = Capabilities.of(java.util.Set.of(Capability.CAN_MIGRATE),
                java.util.Set.of(Capability.CAN_MIGRATE, Capability.CHECKPOINTABLE), java.util.Set.of(),
                java.util.Set.of(Capability.CHECKPOINTABLE));
        ClusterProcess leader = nodes.epm(0).spawn(new Rester(3_600_000, 2), migratable(0));
        ClusterProcess p = nodes.epm(0).spawn(new Identity(), SpawnOptions.defaults().onNode(1).capabilities(uneven)
                .processGroup(leader.pid()).args("a", "b c", "")
                .env(java.util.Map.of("K", "v", "EMPTY", "", "UNICODE", "été")).credentials(who));
        ProcessInfo before = nodes.epm(0).status(p.pid()).orElseThrow();
        assertEquals(leader.pid(), before.pgid(), "a group of its own would hide a swap of pid and group");
        assertEquals(2, nodes.epm(0).migrate(p.pid(), 2).to());
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertEquals(p.pid() + " " + before.ppid() + " " + before.pgid() + " " + before.sid()
                + " [a, b c, ] {EMPTY=, K=v, UNICODE=été} "
                + who + " " + uneven, p.result().orElseThrow());
        ProcessInfo after = nodes.epm(0).status(p.pid()).orElse(null);
        if (after != null) {                                          // a zombie still listed: the rest of its row
            assertEquals(before.sid(), after.sid());
            assertEquals(before.command(), after.command());
            assertEquals(before.startMillis(), after.startMillis());
        }
        nodes.epm(0).kill(leader.pid(), Signal.KILL);
    }

    /**
     * Spawns a child on its node (exiting at once with {@code exitCode}, or sleeping a minute for -1), rests until it
     * runs on another node, then waits for the child through its {@link ClusterProcess} handle (TERM first for the
     * sleeping one); result: the child's end as the handle saw it.
     */
    static final class HandleParent implements StepProgram {
        int exitCode;
        ClusterProcess child;
        int first = -1;

        private HandleParent() {
        }

        HandleParent(int exitCode) {
            this.exitCode = exitCode;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            if (child == null) {
                first = ctx.node();
                Program p = exitCode >= 0 ? new TestPrograms.ExitWith(exitCode) : new TestPrograms.Sleeper(60_000);
                child = ctx.spawn(p, SpawnOptions.defaults().onNode(first));
            }
            if (ctx.node() == first) {
                ctx.nextStepAfter(Duration.ofMillis(5));
                return false;
            }
            if (exitCode < 0) {
                ctx.kill(child.pid(), Signal.TERM);
            }
            ctx.setResult(String.valueOf(child.waitFor(Duration.ofSeconds(10)).orElse(null)));
            return true;
        }
    }

    /**
     * A program's handle on its child, carried by a move, is the moved process's record of that child: it sees the
     * child's real end, whether the child had ended before the move or ends after it.
     */
    @Test
    void aHandleOnAChildFollowsItsParentsMove() throws Exception {
        // spawned here: a program with a handle field travels in a ghost, not in a spawn request
        ClusterProcess zombieParent = nodes.epm(0).spawn(new HandleParent(7), migratable(0));
        ClusterProcess runningParent = nodes.epm(0).spawn(new HandleParent(-1), migratable(0));
        Thread.sleep(300);                                            // the first child has ended by now
        assertEquals(2, nodes.epm(0).migrate(zombieParent.pid(), 2).to());
        assertEquals(2, nodes.epm(0).migrate(runningParent.pid(), 2).to());
        assertEquals(ExitStatus.exited(0), zombieParent.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertEquals(ExitStatus.exited(0), runningParent.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertEquals(ExitStatus.exited(7).toString(), zombieParent.result().orElseThrow());
        assertEquals(ExitStatus.killed(Signal.TERM, "").toString(), runningParent.result().orElseThrow());
    }

    /** Runs {@code steps} steps with a rest of {@code restMillis} between two; result: {steps, nodes it ran on}. */
    static final class Rester implements StepProgram {
        long restMillis;
        int steps;
        int done;
        long seen;

        private Rester() {
        }

        Rester(long restMillis, int steps) {
            this.restMillis = restMillis;
            this.steps = steps;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            seen |= 1L << ctx.node();
            if (++done == steps) {
                ctx.setResult(new long[]{done, seen});
                return true;
            }
            ctx.nextStepAfter(Duration.ofMillis(restMillis));
            return false;
        }
    }

    /**
     * Installs handlers in its first step (USR1 counted, TERM ends it with 40 + that count), then rests an hour between
     * steps (a move ends the rest).
     */
    static final class LongRester implements StepProgram {
        int usr1;
        boolean installed;

        @Override
        public boolean step(ProcessContext ctx) {
            if (!installed) {
                installed = true;
                ctx.handle(Signal.USR1, s -> usr1++);
                ctx.handle(Signal.TERM, s -> ctx.exit(40 + usr1));
            }
            ctx.nextStepAfter(Duration.ofHours(1));
            return false;
        }
    }

    /**
     * Moves process {@code p} (a resting {@link LongRester}) from node 0 to node 1 on a thread of its own, holding
     * node 1's install until {@code meanwhile} (run on this thread) is done (then refused, with {@code refused}); the
     * move's outcome.
     */
    private static CompletableFuture<MigrationReport> moveHeld(ClusterProcess p, boolean refused, Runnable meanwhile)
            throws Exception {
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        Migration.beforeInstallForTests = (pid, move) -> {
            if (pid == p.pid()) {
                reading.countDown();
                try {
                    go.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (refused) {
                    throw new MigrationException("refused by the test");
                }
            }
        };
        CompletableFuture<MigrationReport> move = new CompletableFuture<>();
        Thread mover = new Thread(() -> {
            try {
                move.complete(nodes.epm(0).migrate(p.pid(), 1));
            } catch (Throwable e) {
                move.completeExceptionally(e);
            }
        }, "test-mover");
        mover.start();
        try {
            assertTrue(reading.await(10, TimeUnit.SECONDS), "node 1 read the ghost");
            meanwhile.run();
        } finally {
            Migration.beforeInstallForTests = null;
            go.countDown();
        }
        return move;
    }

    /**
     * A signal that reaches the old node of a resting process while it moves (its new node holds the arrival) waits,
     * and is sent on with the move: taken once, there.
     */
    @Test
    void aSignalSentWhileARestingProcessMovesFollowsIt() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new LongRester(), migratable(0));
        Thread.sleep(100);                                            // its handlers installed, resting an hour
        CompletableFuture<MigrationReport> move = moveHeld(p, false, () -> nodes.epm(2).kill(p.pid(), Signal.USR1));
        assertEquals(1, move.get(20, TimeUnit.SECONDS).to());
        EpmNodes.await(() -> !nodes.epm(0).isLocal(p.pid()), "its old thread ended on node 0");
        nodes.epm(2).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(41), p.waitFor(Duration.ofSeconds(20)).orElseThrow(), "USR1 taken once");
    }

    /** A resting process whose move is refused goes on where it was, and takes the signal sent meanwhile, once. */
    @Test
    void aRestingProcessWhoseMoveIsRefusedGoesOnAndTakesTheSignalSentMeanwhile() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new LongRester(), migratable(0));
        Thread.sleep(100);
        CompletableFuture<MigrationReport> move = moveHeld(p, true, () -> nodes.epm(2).kill(p.pid(), Signal.USR1));
        ExecutionException failed = assertThrows(ExecutionException.class, () -> move.get(20, TimeUnit.SECONDS));
        assertInstanceOf(MigrationException.class, failed.getCause(), String.valueOf(failed.getCause()));
        assertTrue(nodes.epm(0).isLocal(p.pid()), "still on node 0");
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).orElseThrow().state() == ProcessState.SLEEPING,
                "resting again on node 0");
        nodes.epm(2).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(41), p.waitFor(Duration.ofSeconds(20)).orElseThrow(), "USR1 taken once");
    }

    /**
     * A KILL that reaches the old node while a resting process moves ends it wherever the move leaves it: the KILL
     * interrupts the old node's wait for the answer, which then asks the new node (still reading: the move is
     * refused, and the process killed where it was), or the answer came first (the KILL follows the process).
     */
    @Test
    void aKillSentWhileARestingProcessMovesEndsIt() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new LongRester(), migratable(0));
        Thread.sleep(100);
        CompletableFuture<MigrationReport> move = moveHeld(p, false, () -> nodes.epm(2).kill(p.pid(), Signal.KILL));
        try {
            assertEquals(1, move.get(20, TimeUnit.SECONDS).to());
        } catch (ExecutionException stayed) {
            assertInstanceOf(MigrationException.class, stayed.getCause(), String.valueOf(stayed.getCause()));
        }
        assertEquals(ExitStatus.killed(Signal.KILL, ""), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        EpmNodes.await(() -> !nodes.epm(0).isLocal(p.pid()) && !nodes.epm(1).isLocal(p.pid()), "on no node");
    }

    /** Calls {@link ProcessContext#nextStepAfter}, which a main-shaped program may not: exits 3 when refused. */
    static final class RestsInMain implements Program {
        @Override
        public int run(ProcessContext ctx) {
            try {
                ctx.nextStepAfter(Duration.ofMillis(1));
                return 0;
            } catch (IllegalStateException expected) {
                return 3;
            }
        }
    }

    /** A rest between steps is a safe point: a move, a signal, are taken at once, and the next step runs after a move. */
    @Test
    void aProcessRestingBetweenStepsMovesAndTakesSignalsAtOnce() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Rester(3_600_000, 2), migratable(1));
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).orElseThrow().node() == 1, "it runs on node 1");
        MigrationReport m = nodes.epm(0).migrate(p.pid(), 2);        // an hour's rest: it would time out otherwise
        assertEquals(2, m.to());
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertArrayEquals(new long[]{2, (1L << 1) | (1L << 2)}, (long[]) p.result().orElseThrow(),
                "its second step ran on node 2 at once");

        ClusterProcess q = nodes.epm(0).spawn(new Rester(3_600_000, 100), migratable(1));
        Thread.sleep(100);
        nodes.epm(0).kill(q.pid(), Signal.TERM);
        assertEquals(ExitStatus.killed(Signal.TERM, ""), q.waitFor(Duration.ofSeconds(20)).orElseThrow());
    }

    /**
     * Interrupts its own thread in its first step, then asks for an hour's rest; clears the flag in its second step;
     * rests 100 ms after the later ones; result: the steps that found the flag set.
     */
    static final class SelfInterrupter implements StepProgram {
        int done;
        int seenSet;

        @Override
        public boolean step(ProcessContext ctx) {
            done++;
            if (done == 1) {
                Thread.currentThread().interrupt();
            } else if (Thread.interrupted()) {
                seenSet++;
            }
            if (done == 4) {
                ctx.setResult(seenSet);
                return true;
            }
            ctx.nextStepAfter(done == 1 ? Duration.ofHours(1) : Duration.ofMillis(100));
            return false;
        }
    }

    /** The program's own interrupt of its thread ends the rest and stays set for its next step, which sees it. */
    @Test
    void aProgramsOwnInterruptEndsTheRestAndReachesItsNextStep() throws Exception {
        long t0 = System.nanoTime();
        ClusterProcess p = nodes.epm(0).spawn(new SelfInterrupter(), migratable(0));
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertEquals(1, p.result().orElseThrow(), "its second step saw the flag");
        assertTrue(System.nanoTime() - t0 >= 200_000_000L, "the two rests after it waited");
        // the hour's rest ended at once: the flag was set (it used to spin until its end)
    }

    /** An interrupt of the process ends the rest it finds and is spent by it: the later rests still wait. */
    @Test
    void anInterruptEndsOneRestAndIsSpentByIt() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Rester(100, 8), migratable(0));
        Thread.sleep(50);
        long t0 = System.nanoTime();
        nodes.epm(0).interrupt(p.pid());
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertTrue(System.nanoTime() - t0 >= 500_000_000L, "the six rests after the interrupted one waited");
    }

    @Test
    void aRestBetweenStepsLastsAtLeastWhatWasAsked() throws Exception {
        long t0 = System.nanoTime();
        ClusterProcess p = nodes.epm(0).spawn(new Rester(30, 6), migratable(0));
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        assertTrue(System.nanoTime() - t0 >= 150_000_000L, "five rests of 30 ms");
        ClusterProcess main = nodes.epm(0).spawn(new RestsInMain(), migratable(0));
        assertEquals(3, main.waitFor(Duration.ofSeconds(20)).orElseThrow().code(), "a main-shaped program has no steps");
    }

    @Test
    void aDistantForkCopiesTheRunningProgramWithItsHandles() throws Exception {
        long seg = nodes.shm(0).open(0xf04c, 4096, SharedMemory.CREATE | 0600);
        ClusterProcess p = nodes.epm(0).spawn(new Forker(seg),
                SpawnOptions.defaults().onNode(0).capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(27), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        try (Segment s = nodes.shm(1).attach(seg)) {
            assertEquals(55, s.getLong(0), "the parent's sum");
            assertEquals(0, s.getLong(8));
            assertEquals(55, s.getLong(16), "the copy went on from the parent's fields");
            assertEquals(2, s.getLong(24), "the copy ran on node 2");
        }
        nodes.shm(0).remove(seg);
        ClusterProcess noFork = nodes.epm(0).spawn(new Forker(nodes.shm(0).open(0xf04d, 4096,
                SharedMemory.CREATE | 0600)), SpawnOptions.defaults().onNode(0));
        assertEquals(1, noFork.waitFor(Duration.ofSeconds(20)).orElseThrow().code(), "no DISTANT_FORK: it fails");
    }

    /** 6 MiB of state (more than one message: the ghost goes in pieces); result: its hash and the nodes it saw. */
    static final class BigState implements StepProgram {
        byte[] state;
        int steps;
        long seen;

        private BigState() {
        }

        BigState(int bytes) {
            state = new byte[bytes];
            new java.util.SplittableRandom(7).nextBytes(state);
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(5));
            seen |= 1L << ctx.node();
            if (++steps < 200) {
                return false;
            }
            ctx.setResult(new long[]{java.util.Arrays.hashCode(state), seen});
            return true;
        }
    }

    @Test
    void aProcessWithMoreStateThanOneMessageMovesInPieces() throws Exception {
        movesWithItsState(6 << 20, 2);
    }

    /**
     * More state than a whole frame holds, on its first move (no ghost size known yet): the attempt to send it in one
     * call stops at the frame limit, and it goes in pieces.
     */
    @Test
    void aProcessWithMoreStateThanAFrameMovesInPiecesFromItsFirstMove() throws Exception {
        movesWithItsState(20 << 20, 1);
    }

    /**
     * 256 KiB of state: a ghost that travels in one call (under a quarter of the frame limit) but is larger than the
     * window the receiving codec reads a frame through.
     */
    @Test
    void aGhostLargerThanTheCodecsWindowMovesInOneCall() throws Exception {
        movesWithItsState(256 << 10, 1);
    }

    /**
     * A {@link BigState} of {@code bytes} spawned on node 0 moves to node 1, then (asked through node {@code caller})
     * to node 2, and ends with the hash of the state it started with, having run on all three.
     */
    private static void movesWithItsState(int bytes, int caller) throws Exception {
        BigState local = new BigState(bytes);
        ClusterProcess p = nodes.epm(0).spawn(new BigState(bytes), migratable(0));
        Thread.sleep(20);
        MigrationReport r = nodes.epm(0).migrate(p.pid(), 1);
        assertTrue(r.bytes() > bytes, r.toString());
        nodes.epm(caller).migrate(p.pid(), 2);
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(30)).orElseThrow());
        long[] got = (long[]) p.result().orElseThrow();
        assertEquals(java.util.Arrays.hashCode(local.state), got[0]);
        assertEquals(7, got[1]);
    }

    /** Moves {@code pid} round the nodes every {@code pauseMillis} until it ends; returns how many moves worked. */
    private static List<MigrationReport> keepMoving(ClusterProcess p, int from, long pauseMillis) throws Exception {
        List<MigrationReport> done = new ArrayList<>();
        int at = from;
        while (p.isAlive()) {
            int to = (at + 1) % 3;
            try {
                MigrationReport r = nodes.epm(done.size() % 3).migrate(p.pid(), to);
                assertEquals(at, r.from());
                assertEquals(to, r.to());
                done.add(r);
                at = to;
            } catch (MigrationException e) {
                // it ended meanwhile, or was between two moves
            } catch (NoSuchProcessException e) {
                // it ended: its exit notice follows
                assertTrue(p.waitFor(Duration.ofSeconds(10)).isPresent(), e.getMessage());
            }
            Thread.sleep(pauseMillis);
        }
        return done;
    }

    @Test
    void aComputationMovedManyTimesGivesTheSameResultAsAnUnmovedOne() throws Exception {
        ClusterProcess still = nodes.epm(0).spawn(new Summer(3_000_000, 20_000), migratable(0));
        assertEquals(ExitStatus.exited(0), still.waitFor());
        long[] expected = (long[]) still.result().orElseThrow();

        ClusterProcess moved = nodes.epm(0).spawn(new Summer(30_000_000, 20_000), migratable(0));
        List<MigrationReport> reports = keepMoving(moved, 0, 5);
        assertEquals(ExitStatus.exited(0), moved.waitFor());
        long[] got = (long[]) moved.result().orElseThrow();
        ClusterProcess again = nodes.epm(1).spawn(new Summer(30_000_000, 20_000), migratable(1));
        again.waitFor();
        assertEquals(((long[]) again.result().orElseThrow())[0], got[0]);
        assertTrue(reports.size() >= 3, "moved " + reports.size() + " times");
        assertEquals(7, got[1], "it ran on every node");
        assertTrue(expected[0] > 0);
        for (MigrationReport r : reports) {
            assertTrue(r.bytes() > 0 && r.total() >= r.safepoint(), r.toString());
        }
    }

    @Test
    void aProcessHoldingALockWritingASegmentAndReadingAPipeMovesAndEndsAsAnUnmovedOne() throws Exception {
        int count = 200;
        long[] unmoved = runMixed("mixed-still", count, false);
        long[] moved = runMixed("mixed-moved", count, true);
        assertEquals(unmoved[0], moved[0], "same hash");
        assertEquals(0, moved[1], "the lock was held at every step");
        assertTrue(Long.bitCount(moved[2]) >= 2, "it ran on several nodes: " + Long.toBinaryString(moved[2]));
    }

    private long[] runMixed(String name, int count, boolean move) throws Exception {
        SharedMemory shm = nodes.shm(0);
        long seg = shm.open(name.hashCode() & 0xffff, 8L * count, SharedMemory.CREATE | 0600);
        Pipe pipe = nodes.ipc(0).pipe();
        ClusterProcess p = nodes.epm(0).spawn(new Mixed(name, seg, pipe.reader().handle(), count), migratable(0));
        AtomicBoolean lockSeenFree = new AtomicBoolean();
        AtomicInteger written = new AtomicInteger();
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < count; i++) {
                    pipe.writer().write(ByteBuffer.allocate(8).putLong(0, i * 7919L + 13).position(8).flip());
                    written.incrementAndGet();
                    Thread.sleep(2);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        ClusterLock other = nodes.ipc(2).lock(name);
        var state = nodes.ipc(1).atomicLong(name + "-state");
        Thread prober = Thread.ofPlatform().start(() -> {
            while (p.isAlive()) {
                if (state.get() == 1 && other.tryLock()) {
                    if (state.get() == 1) {
                        lockSeenFree.set(true);               // taken while the process was between lock and unlock
                    }
                    other.unlock();
                }
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        List<MigrationReport> reports = move ? keepMoving(p, 0, 10) : List.of();
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(60)).orElseThrow());
        writer.join();
        prober.join();
        pipe.close();
        long[] r = (long[]) p.result().orElseThrow();
        try (Segment s = shm.attach(seg)) {
            assertEquals(r[0], s.getLong(8L * (count - 1)), "the segment holds the last hash");
        }
        shm.remove(seg);
        assertFalse(lockSeenFree.get(), "another node took the lock while the process held it");
        if (move) {
            assertTrue(reports.size() >= 2, "moved " + reports.size() + " times");
        }
        return r;
    }

    @Test
    void aMainShapedProgramMovesAtItsSafePointsAndStartsOverFromItsFields() throws Exception {
        ClusterProcess still = nodes.epm(2).spawn(new Loop(20_000_000), migratable(2));
        assertEquals(ExitStatus.exited(1), still.waitFor(), "never resumed");
        long[] expected = (long[]) still.result().orElseThrow();
        ClusterProcess moved = nodes.epm(2).spawn(new Loop(100_000_000), migratable(2));
        List<MigrationReport> reports = keepMoving(moved, 2, 5);
        assertEquals(ExitStatus.exited(reports.isEmpty() ? 1 : 0), moved.waitFor());
        long[] got = (long[]) moved.result().orElseThrow();
        assertTrue(got[1] >= 2 && got[1] <= reports.size() + 1, "run() entered at most once per node (it may move on"
                + " before entering it): " + got[1] + " for " + reports.size() + " moves");
        ClusterProcess again = nodes.epm(2).spawn(new Loop(100_000_000), migratable(2));
        again.waitFor();
        assertEquals(((long[]) again.result().orElseThrow())[0], got[0]);
        assertTrue(expected[0] > 0 && !reports.isEmpty());
    }

    @Test
    void aStepProgramsHandlersAndSignalsFollowIt() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Ticker(), migratable(1));
        Thread.sleep(30);
        nodes.epm(0).migrate(p.pid(), 2);
        nodes.epm(1).kill(p.pid(), Signal.USR1);
        nodes.epm(2).migrate(p.pid(), 0);
        nodes.epm(1).kill(p.pid(), Signal.USR1);
        Thread.sleep(30);
        nodes.epm(1).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(42), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
    }

    @Test
    void signalsHandlersStopAndWaitFollowAMovedProcess() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new MainTicker(), migratable(1));
        Thread.sleep(30);
        nodes.epm(0).migrate(p.pid(), 2);
        nodes.epm(1).kill(p.pid(), Signal.USR1);                  // from its old node: found through the table
        Thread.sleep(100);                                         // handled before STOP (signals do not queue)
        nodes.epm(0).kill(p.pid(), Signal.STOP);
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).map(i -> i.state() == ProcessState.STOPPED).orElse(false),
                "stopped");
        MigrationReport r = nodes.epm(1).migrate(p.pid(), 0);      // a stopped process moves and stays stopped
        assertEquals(0, r.to());
        EpmNodes.await(() -> nodes.epm(2).status(p.pid()).map(i -> i.node() == 0
                && i.state() == ProcessState.STOPPED).orElse(false), "stopped on node 0");
        nodes.epm(2).kill(p.pid(), Signal.CONT);
        nodes.epm(2).kill(p.pid(), Signal.USR1);
        Thread.sleep(30);
        nodes.epm(1).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.exited(42), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
    }

    @Test
    void aMovedParentStillWaitsForItsRemoteChild() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new StepParent(2, 40),
                SpawnOptions.defaults().onNode(0).capabilities(MIGRATABLE.plus(Capability.DISTANT_FORK)));
        Thread.sleep(50);
        nodes.epm(2).migrate(p.pid(), 1);
        Thread.sleep(100);
        nodes.epm(2).migrate(p.pid(), 2);
        assertEquals(ExitStatus.exited(10), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
    }

    @Test
    void aProcessWithoutCanMigrateOrWithStateThatCannotTravelStaysAndFinishes() throws Exception {
        ClusterProcess plain = nodes.epm(0).spawn(new Summer(20_000_000, 10_000),
                SpawnOptions.defaults().onNode(1));
        assertThrows(CapabilityException.class, () -> nodes.epm(0).migrate(plain.pid(), 2));
        assertEquals(ExitStatus.exited(0), plain.waitFor());

        ClusterProcess held = nodes.epm(0).spawn(new HoldsThread(), migratable(0));
        Thread.sleep(20);
        MigrationException e = assertThrows(MigrationException.class, () -> nodes.epm(1).migrate(held.pid(), 2));
        assertTrue(e.getMessage().contains("Thread"), e.getMessage());
        assertEquals(ExitStatus.exited(0), held.waitFor(Duration.ofSeconds(20)).orElseThrow());

        assertThrows(NoSuchProcessException.class, () -> nodes.epm(0).migrate(Pids.make(1, 999_999), 2));
        ClusterProcess here = nodes.epm(0).spawn(new TestPrograms.Sleeper(300), migratable(0));
        assertThrows(MigrationException.class, () -> nodes.epm(0).migrate(here.pid(), 0));
        here.waitFor();
    }

    @Test
    void aGhostIsRefusedWhenCorruptedOfAnotherVersionOrFromAnotherCluster() {
        byte[] h = Ghost.header(Ghost.MIGRATION, 42, "fp-a", null, 0, 0);
        byte[] buf = new byte[h.length + 100];
        System.arraycopy(h, 0, buf, 0, h.length);
        for (int i = h.length; i < buf.length; i++) {
            buf[i] = (byte) i;
        }
        Ghost.seal(buf, buf.length);
        assertEquals(42, Ghost.open(buf, buf.length, "g", "fp-a").pid());

        byte[] corrupt = buf.clone();
        corrupt[buf.length - 7] ^= 1;
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(corrupt, corrupt.length, "g", "fp-a"))
                .getMessage().contains("checksum"));
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(buf, buf.length - 1, "g", "fp-a"))
                .getMessage().contains("truncated"));
        byte[] version = buf.clone();
        version[9] = 9;
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(version, version.length, "g", "fp-a"))
                .getMessage().contains("version 9"));
        byte[] three = buf.clone();
        three[9] = 3;                                           // the format before the flags: read as flags 0
        assertEquals(42, Ghost.open(three, three.length, "g", "fp-a").pid());
        byte[] flags = buf.clone();
        flags[11] = 2;
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(flags, flags.length, "g", "fp-a"))
                .getMessage().contains("unknown flags"));
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(buf, buf.length, "g", "fp-b"))
                .getMessage().contains("registered types differ"));
        byte[] junk = "not a ghost at all, just some bytes".getBytes();
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(junk, junk.length, "g", "fp-a"))
                .getMessage().contains("not a Kerrighed process image"));
        assertArrayEquals(Ghost.MAGIC, java.util.Arrays.copyOf(buf, 8));

        // Without its checksum: read only as a migration ghost that came in one message, and still length-checked.
        byte[] unchecked = buf.clone();
        unchecked[11] = Ghost.NO_CHECKSUM;
        Ghost.seal(unchecked, unchecked.length);
        assertEquals(0, java.nio.ByteBuffer.wrap(unchecked).getInt(24));
        unchecked[unchecked.length - 7] ^= 1;
        assertEquals(42, Ghost.open(java.nio.ByteBuffer.wrap(unchecked), "g", "fp-a", true).pid());
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(unchecked, unchecked.length, "g", "fp-a"))
                .getMessage().contains("no checksum"));
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(java.nio.ByteBuffer.wrap(unchecked, 0,
                unchecked.length - 1), "g", "fp-a", true)).getMessage().contains("truncated"));
        byte[] checkpoint = unchecked.clone();
        checkpoint[10] = Ghost.CHECKPOINT;
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(java.nio.ByteBuffer.wrap(checkpoint), "g",
                "fp-a", true)).getMessage().contains("no checksum"));
        assertTrue(assertThrows(GhostException.class, () -> Ghost.open(java.nio.ByteBuffer.wrap(corrupt), "g", "fp-a",
                true)).getMessage().contains("checksum"));
    }
}
