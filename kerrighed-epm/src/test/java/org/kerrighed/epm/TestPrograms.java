package org.kerrighed.epm;

import org.kerrighed.ipc.ClusterAtomicLong;
import org.kerrighed.rpc.TypeRegistrar;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Programs the tests run (registered: they travel). */
final class TestPrograms {
    static final TypeRegistrar TYPES = b -> b.range("epm-tests", 30_000, 30_049)
            .register(30_000, ExitWith.class)
            .register(30_001, Sleeper.class)
            .register(30_002, Counter.class)
            .register(30_003, Parent.class)
            .register(30_004, Orphaner.class)
            .register(30_005, Handlers.class)
            .register(30_006, NoSafepoint.class)
            .register(30_007, Throws.class)
            .register(30_008, Square.class)
            .register(30_009, ForkTo.class)
            .register(30_010, SlowTask.class)
            .register(30_011, Increment.class)
            .register(30_012, ProcessTest.ZombieMaker.class)
            .register(30_013, Fails.class)
            .register(30_014, ProcessFailureTest.WaitsForRemoteChild.class)
            .register(30_015, ProcessFailureTest.ParentOfRemoteChild.class)
            .register(30_016, MigrationTest.Summer.class)
            .register(30_017, MigrationTest.Mixed.class)
            .register(30_018, MigrationTest.Loop.class)
            .register(30_019, MigrationTest.Ticker.class)
            .register(30_020, MigrationTest.StepParent.class)
            .register(30_021, MigrationTest.HoldsThread.class)
            .register(30_022, MigrationTest.MainTicker.class)
            .register(30_023, CheckpointTest.Job.class)
            .register(30_024, CheckpointTest.Part.class)
            .register(30_025, CheckpointTest.PipeJob.class)
            .register(30_026, CheckpointTest.Producer.class)
            .register(30_027, CheckpointTest.Consumer.class)
            .register(30_028, MigrationTest.Forker.class)
            .register(30_029, MigrationTest.BigState.class)
            .register(30_030, PeriodicCheckpointTest.QuickRoot.class)
            .register(30_031, PeriodicCheckpointTest.LeaveRoot.class)
            .register(30_032, LocksAndExits.class)
            .register(30_033, UndoesAndExits.class)
            .register(30_034, MigrationTest.SegmentWriter.class)
            .register(30_035, MigrationOutcomeTest.LockHolder.class)
            .register(30_036, MigrationOutcomeTest.WaitsAfterMove.class)
            .register(30_037, MigrationTest.AtomicStepper.class)
            .register(30_038, MigrationTest.SegmentTicker.class)
            .register(30_039, MigrationTest.Rester.class)
            .register(30_040, MigrationTest.RestsInMain.class)
            .register(30_041, MigrationTest.SelfInterrupter.class)
            .register(30_042, MigrationTest.Identity.class)
            .register(30_043, MigrationTest.HandleParent.class)
            .register(30_044, MigrationTest.LongRester.class)
            .register(30_045, MigrationOutcomeTest.Stubborn.class)
            .register(30_046, MigrationOutcomeTest.ForkOnce.class);

    private TestPrograms() {
    }

    /** Exits with {@code code}. */
    record ExitWith(int code) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            return code;
        }
    }

    /** Takes cluster lock {@code name} and exits without unlocking it. */
    record LocksAndExits(String name) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            ctx.ipc().lock(name).lock();
            return 0;
        }
    }

    /** Takes one from semaphore 0 of System V set {@code id} with SEM_UNDO, and exits. */
    record UndoesAndExits(int id) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ctx.ipc().semaphores().semop(id, org.kerrighed.ipc.sysv.SemOp.undo(0, -1));
            return 0;
        }
    }

    /** Sleeps {@code millis} in the runtime (a safe point), then exits 0. */
    record Sleeper(long millis) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(millis));
            return 0;
        }
    }

    /** Increments cluster atomic {@code name} every 5 ms until a signal ends it. */
    record Counter(String name) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ClusterAtomicLong n = ctx.ipc().atomicLong(name);
            while (true) {
                n.incrementAndGet();
                ctx.sleep(Duration.ofMillis(5));
            }
        }
    }

    /** Starts one {@link ExitWith}(i + 1) on each node of {@code nodes}, waits for all, returns the sum of codes. */
    record Parent(int[] nodes) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            List<Integer> pids = new ArrayList<>();
            for (int i = 0; i < nodes.length; i++) {
                pids.add(ctx.spawn(new ExitWith(i + 1), SpawnOptions.defaults().onNode(nodes[i])).pid());
            }
            int sum = 0;
            for (int i = 0; i < nodes.length; i++) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (!pids.contains(e.pid())) {
                    return -1;
                }
                sum += e.status().code();
            }
            return sum;
        }
    }

    /** Starts a long {@link Sleeper} on {@code node}, sets its pid as result, and exits at once (orphaning it). */
    record Orphaner(int node) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            ctx.setResult(ctx.spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(node)).pid());
            return 0;
        }
    }

    /**
     * Counts USR1 in cluster atomic {@code name}, ignores HUP, and exits with 100 + the count on TERM. Once its
     * handlers are installed, it counts that in cluster atomic {@code name + ".ready"} ({@link #awaitHandlers}).
     */
    record Handlers(String name) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ClusterAtomicLong n = ctx.ipc().atomicLong(name);
            ctx.ignore(Signal.HUP);
            ctx.handle(Signal.USR1, s -> n.incrementAndGet());
            ctx.handle(Signal.TERM, s -> ctx.exit(100 + (int) n.get()));
            ctx.ipc().atomicLong(name + ".ready").incrementAndGet();
            while (true) {
                ctx.sleep(Duration.ofSeconds(1));
            }
        }
    }

    /**
     * Waits until the {@link Handlers} program {@code name} has installed its handlers. Not its state: a process
     * waiting for anything (the look-up of its cluster atomic, say) shows as sleeping, handlers installed or not,
     * and a USR1 sent then would end it (its default action).
     */
    static void awaitHandlers(EpmNodes nodes, String name) throws InterruptedException {
        var ready = nodes.ipc(0).atomicLong(name + ".ready");
        EpmNodes.await(() -> ready.get() >= 1, "the handlers of " + name + " installed");
    }

    /** Spins for {@code millis} without any safe point, ignoring interrupts; then returns 0. */
    record NoSafepoint(long millis) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            long end = System.nanoTime() + millis * 1_000_000;
            long x = 0;
            while (System.nanoTime() < end) {
                x += System.nanoTime() & 1;
            }
            return x < 0 ? 1 : 0;
        }
    }

    /** Throws. */
    record Throws(String message) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            throw new IllegalStateException(message);
        }
    }

    /** A task: squares {@code x}. */
    record Square(int x) implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() {
            return x * x;
        }
    }

    /** Tries to start a child on {@code node}; exits 0 if it could, 3 on a CapabilityException. */
    record ForkTo(int node) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            try {
                ClusterProcess c = ctx.spawn(new ExitWith(0), SpawnOptions.defaults().onNode(node));
                ctx.waitFor(c.pid());
                return 0;
            } catch (CapabilityException e) {
                return 3;
            }
        }
    }

    /** A task that sleeps {@code millis} (interruptibly) then returns its node. */
    record SlowTask(long millis) implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() throws InterruptedException {
            ProcessContext ctx = ClusterThread.context().orElseThrow();
            ctx.sleep(Duration.ofMillis(millis));
            return ctx.node();
        }
    }

    /** A task that throws. */
    record Fails(String message) implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException(message);
        }
    }

    /** A runnable that increments cluster atomic {@code name}. */
    record Increment(String name) implements Runnable {
        @Override
        public void run() {
            ClusterThread.context().orElseThrow().ipc().atomicLong(name).incrementAndGet();
        }
    }
}
