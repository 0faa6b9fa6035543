package org.kerrighed.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.kerrighed.bench.SchedBenchNode.*;

/**
 * {@code krg bench sched}: the cluster scheduler's placement and load balancing by migration, against Hazelcast's
 * executor service and against no scheduler; and how long a policy swap takes.
 *
 * <p>Two node JVMs ({@link SchedBenchNode}), each pinned to a CPU core of its own with {@code taskset}, so that work
 * moved to the other node really gains a core. Each is a Kerrighed node and, for the peer, a Hazelcast member. Node 1
 * launches every batch and times it; this JVM only steers and waits. A batch is {@link Plan#processes} CPU-bound
 * processes (a fixed amount of arithmetic each, calibrated once on node 1), all of equal length or of lengths drawn
 * with a fixed seed; its figure is its makespan over the ideal, the CPU time of its processes divided by the two
 * cores. Each round runs our batches with the default scheduler on, the peer's and ours with the scheduler off, the
 * side that goes first alternating, and keeps the per-round ratios. A second part times policy swaps.
 */
final class SchedBench implements Benchmark.Parted {
    static final int NODES = 2;
    private static final int LAUNCHER = 1;
    private static final long STEP_NANOS = 10_000_000;
    /**
     * The uneven batch's seed: its lengths put 8.3 s of CPU on one node and 9.9 s on the other when placed in turn,
     * a gap near the typical one for such draws (about 1.6 s), so balancing has something to do.
     */
    private static final long SEED = 11;
    /**
     * The default balancer decides at most once per 2 s and not within 2 s of a migration, and its loads are sampled
     * every second: a batch with the scheduler on starts once the one before is that far behind.
     */
    private static final Duration SETTLE = Duration.ofMillis(2500);
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(6);
    private static final List<String> CHILD_JVM = List.of("-Xms256m", "-Xmx512m", "-XX:+UseParallelGC",
            "-Dorg.slf4j.simpleLogger.log.com.hazelcast=error");
    private static final String HAZELCAST = "hazelcast-executor";
    private static final String OFF = "scheduler-off";

    @Override
    public String name() {
        return "sched";
    }

    @Override
    public String description() {
        return "makespan of CPU-bound processes placed and balanced by the default scheduler on two pinned cores,"
                + " against Hazelcast's executor service and no scheduler; policy swap time";
    }

    /**
     * How much to run at a scale: rounds, processes per batch, each one's CPU seconds (equal batch) and the range of
     * the uneven batch's, policy swaps, and the steps of each process of the untimed warm-up batches.
     */
    record Plan(int rounds, int processes, double seconds, double unevenMin, double unevenMax, int swaps,
                int warmupSteps) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(3, 16, 1.0, 0.25, 2.0, 5, 10);
                case QUICK -> new Plan(1, 16, 1.0, 0.25, 2.0, 3, 10);
                case SMOKE -> new Plan(1, 4, 0.05, 0.02, 0.1, 1, 2);
            };
        }

        int[] equal() {
            int[] steps = new int[processes];
            Arrays.fill(steps, steps(seconds));
            return steps;
        }

        /** Lengths drawn uniformly between the bounds, with a fixed seed: the same batch every round and run. */
        int[] uneven() {
            SplittableRandom r = new SplittableRandom(SEED);
            int[] steps = new int[processes];
            for (int i = 0; i < processes; i++) {
                steps[i] = steps(r.nextDouble(unevenMin, unevenMax));
            }
            return steps;
        }

        private static int steps(double seconds) {
            return Math.max(1, (int) Math.round(seconds * 1e9 / STEP_NANOS));
        }
    }

    @Override
    public List<String> parts() {
        return List.of("makespan", "swap");
    }

    @Override
    public List<Row> run(Scale scale, Set<String> parts, Progress progress) throws Exception {
        checkParts(parts);
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        r.metric("pinned_cores", "cores", null, null);
        if (parts.contains("makespan")) {
            r.metric("makespan_ratio", "x", HAZELCAST, Goal.oursAtMost(1.15));
            r.metric("makespan_ratio@" + OFF, "x", OFF, null);
            r.metric("makespan_ratio_uneven", "x", HAZELCAST, Goal.oursAtMost(1.25));
            r.metric("makespan_ratio_uneven@" + OFF, "x", OFF, null);
            r.metric("makespan_ratio_migration", "x", HAZELCAST, Goal.oursAtMost(1.3));
            r.metric("makespan_ratio_migration@" + OFF, "x", OFF, null);
            r.metric("migration_moves", "moves", null, null);
        }
        if (parts.contains("swap")) {
            r.metric("policy_swap_ms", "ms", null, null);
        }
        boolean pinned = canPin(progress);
        r.add("pinned_cores", pinned ? NODES : 0, Double.NaN);
        IntFunction<List<String>> launcher = n -> pinned ? List.of("taskset", "-c", Integer.toString(n - 1))
                : List.of();
        Path dir = Files.createTempDirectory("krg-bench-sched-");
        try (BenchCluster c = new BenchCluster("sched", SchedBenchNode.class, NODES, launcher, CHILD_JVM, true, CONTROL,
                CONTROL_TIMEOUT, dir, progress)) {
            for (int n = 1; n <= NODES; n++) {
                progress.say("node %d: %s, its JVM sees %d processor(s)", n, pinned ? "pinned to core " + (n - 1)
                        : "not pinned", c.call(n, STATUS)[3]);
            }
            if (parts.contains("makespan")) {
                makespan(c, p, r, progress);
            }
            if (parts.contains("swap")) {
                swaps(c, p, r, progress);
            }
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /**
     * True when {@code taskset} can pin a command to core 0 and to core 1; otherwise the nodes run unpinned, which
     * the progress and the {@code pinned_cores} row say.
     */
    private static boolean canPin(Progress progress) throws InterruptedException {
        for (int core = 0; core < NODES; core++) {
            String why;
            try {
                Process t = new ProcessBuilder("taskset", "-c", Integer.toString(core), "true")
                        .redirectErrorStream(true).start();
                if (t.waitFor(10, TimeUnit.SECONDS) && t.exitValue() == 0) {
                    continue;
                }
                t.destroyForcibly();
                why = "taskset -c " + core + " failed: " + new String(t.getInputStream().readAllBytes()).trim();
            } catch (IOException e) {
                why = "taskset cannot run (" + e.getMessage() + "); it is in util-linux";
            }
            progress.say("WARNING: the nodes run unpinned, sharing every core (%s): moving work between them adds no"
                    + " capacity, and the makespan rows do not measure what they are meant to", why);
            return false;
        }
        return true;
    }

    /** One batch's figures, from {@link SchedBenchNode}'s {@code RUN_OURS} or {@code RUN_PEER}. */
    private record Batch(double makespanSeconds, double cpuSeconds, int onLauncher, int processes, long moves,
                         long failedMoves) {
        static Batch of(long[] f, int processes) {
            return new Batch(f[0] / 1e9, f[1] / 1e9, (int) f[2], processes, f[3], f[4]);
        }

        /** The makespan over the ideal: the batch's CPU time spread evenly over the nodes' cores. */
        double ratio() {
            return makespanSeconds / (cpuSeconds / NODES);
        }

        @Override
        public String toString() {
            return String.format("%.2f s = %.3f x ideal (%.2f s), %d of %d started on node %d%s", makespanSeconds,
                    ratio(), cpuSeconds / NODES, onLauncher, processes, LAUNCHER,
                    moves + failedMoves > 0 ? ", " + moves + " moves" + (failedMoves > 0 ? " (" + failedMoves
                            + " failed)" : "") : "");
        }
    }

    /** One side's three batches of a round (the peer's third is its first: it has no moves to start from one node). */
    private record Side(Batch equal, Batch uneven, Batch oneNode) {
    }

    /**
     * Calibrates the work on node 1, runs untimed warm-up batches on both sides, then the rounds: our three batches
     * with the default scheduler installed (equal lengths and uneven lengths, spawned without a node so placement
     * chooses; equal lengths all started on node 1, so only migration can spread them), the peer's two (tasks
     * submitted to the two members in turn), and our three again with the scheduler cleared. Odd rounds run ours
     * first, even rounds the scheduler-off batches first.
     */
    private static void makespan(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        long[] cal = c.call(LAUNCHER, CALIBRATE, STEP_NANOS);
        long iterations = cal[0];
        int[] equal = p.equal();
        int[] uneven = p.uneven();
        progress.say("work: %,d rounds of arithmetic per %d ms step (a million rounds take %.3f ms of CPU on node %d);"
                        + " %d processes of %d steps; uneven: %s steps (%.1f s of CPU in all)", iterations,
                STEP_NANOS / 1_000_000, cal[1] / 1e6, LAUNCHER, p.processes(), equal[0], Arrays.toString(uneven),
                (double) Arrays.stream(uneven).sum() * STEP_NANOS / 1e9);
        int[] warm = new int[p.processes()];
        Arrays.fill(warm, p.warmupSteps());
        scheduler(c, CLEAR);
        progress.say("warm-up (not counted): ours %s; peer %s", Batch.of(c.call(LAUNCHER, withSteps(
                new long[]{RUN_OURS, ANY, iterations}, warm)), warm.length), Batch.of(c.call(LAUNCHER, withSteps(
                new long[]{RUN_PEER, iterations}, warm)), warm.length));
        for (int round = 1; round <= p.rounds(); round++) {
            String label = "round " + round + "/" + p.rounds();
            Side ours;
            Side peer;
            Side off;
            if (round % 2 == 1) {
                ours = ours(c, true, iterations, equal, uneven, label, progress);
                peer = peer(c, iterations, equal, uneven, label, progress);
                off = ours(c, false, iterations, equal, uneven, label, progress);
            } else {
                off = ours(c, false, iterations, equal, uneven, label, progress);
                peer = peer(c, iterations, equal, uneven, label, progress);
                ours = ours(c, true, iterations, equal, uneven, label, progress);
            }
            r.add("makespan_ratio", ours.equal().ratio(), peer.equal().ratio());
            r.add("makespan_ratio@" + OFF, ours.equal().ratio(), off.equal().ratio());
            r.add("makespan_ratio_uneven", ours.uneven().ratio(), peer.uneven().ratio());
            r.add("makespan_ratio_uneven@" + OFF, ours.uneven().ratio(), off.uneven().ratio());
            r.add("makespan_ratio_migration", ours.oneNode().ratio(), peer.oneNode().ratio());
            r.add("makespan_ratio_migration@" + OFF, ours.oneNode().ratio(), off.oneNode().ratio());
            r.add("migration_moves", ours.oneNode().moves(), Double.NaN);
        }
    }

    /** Our three batches of a round, with the default scheduler on ({@code scheduler}) or cleared. */
    private static Side ours(BenchCluster c, boolean scheduler, long iterations, int[] equal, int[] uneven,
                             String label, Progress progress) throws Exception {
        scheduler(c, scheduler ? DEFAULTS : CLEAR);
        Batch[] b = new Batch[3];
        long[][] runs = {withSteps(new long[]{RUN_OURS, ANY, iterations}, equal),
                withSteps(new long[]{RUN_OURS, ANY, iterations}, uneven),
                withSteps(new long[]{RUN_OURS, LOCAL, iterations}, equal)};
        for (int i = 0; i < runs.length; i++) {
            if (scheduler) {
                Thread.sleep(SETTLE.toMillis());
            }
            b[i] = Batch.of(c.call(LAUNCHER, runs[i]), equal.length);
        }
        String who = scheduler ? "ours (default scheduler)" : "ours, scheduler off";
        progress.say("%s, %s: equal, placed: %s", label, who, b[0]);
        progress.say("%s, %s: uneven, placed: %s", label, who, b[1]);
        progress.say("%s, %s: equal, all started on node %d: %s", label, who, LAUNCHER, b[2]);
        return new Side(b[0], b[1], b[2]);
    }

    /** The peer's batches of a round: the tasks submitted to the two Hazelcast members in turn. */
    private static Side peer(BenchCluster c, long iterations, int[] equal, int[] uneven, String label,
                             Progress progress) throws Exception {
        Batch e = Batch.of(c.call(LAUNCHER, withSteps(new long[]{RUN_PEER, iterations}, equal)), equal.length);
        Batch u = Batch.of(c.call(LAUNCHER, withSteps(new long[]{RUN_PEER, iterations}, uneven)), uneven.length);
        progress.say("%s, Hazelcast executor: equal, round robin: %s", label, e);
        progress.say("%s, Hazelcast executor: uneven, round robin: %s", label, u);
        return new Side(e, u, e);
    }

    private static void scheduler(BenchCluster c, int mode) throws Exception {
        c.call(LAUNCHER, SCHEDULER, mode);
    }

    private static long[] withSteps(long[] head, int[] steps) {
        long[] a = Arrays.copyOf(head, head.length + steps.length);
        for (int i = 0; i < steps.length; i++) {
            a[head.length + i] = steps[i];
        }
        return a;
    }

    /**
     * With the scheduler cleared, node 1 builds the plugin's versions and the probe its policy reads; then each swap
     * loads the next version and creates a scheduler of its policy, timed until every node's report shows that
     * scheduler's first decision.
     */
    private static void swaps(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        scheduler(c, CLEAR);
        c.call(LAUNCHER, PREPARE_SWAP, p.swaps());
        progress.say("policy swap: %d versions of a one-policy plugin JAR built on node %d; its port is fed by probe"
                + " %s (load/runnable every %d ms)", p.swaps(), LAUNCHER, SWAP_PROBE, SWAP_PROBE_MILLIS);
        for (int v = 1; v <= p.swaps(); v++) {
            long[] t = c.call(LAUNCHER, SWAP, v);
            r.add("policy_swap_ms", t[4] / 1e6, Double.NaN);
            progress.say("swap %d/%d: every node decided %.1f ms after loadPlugin was called (it returned after %.1f"
                    + " ms, node %d had loaded the JAR after %.1f ms, the scheduler was created and linked after %.1f"
                    + " ms, the first node decided after %.1f ms)", v, p.swaps(), t[4] / 1e6, t[0] / 1e6, LAUNCHER,
                    t[1] / 1e6, t[2] / 1e6, t[3] / 1e6);
        }
    }
}
