package org.kerrighed.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.kerrighed.bench.EpmBenchNode.*;

/**
 * {@code krg bench epm}: the process layer's distant fork against Hazelcast's executor service.
 *
 * <p>Two node JVMs ({@link EpmBenchNode}) form a Kerrighed cluster and, for the peer, a Hazelcast cluster; this
 * JVM steers them over tool connections, and every figure is timed inside node 1, on a platform thread. Node 1
 * starts an empty program on node 2 and waits for its exit, one process at a time, against submissions of an
 * empty task to node 2's Hazelcast member awaited with {@code get}, and against RPC round trips to node 2. Each
 * round runs both sides, the side that goes first alternating, and keeps the per-round ratios.
 */
final class EpmBench implements Benchmark {
    static final int NODES = 2;
    private static final int FROM = 1;
    private static final int TO = 2;
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(3);
    private static final List<String> CHILD_JVM = List.of("-Xms256m", "-Xmx512m", "-XX:+UseParallelGC",
            "-Dorg.slf4j.simpleLogger.log.com.hazelcast=error");

    @Override
    public String name() {
        return "epm";
    }

    @Override
    public String description() {
        return "distant fork of an empty program until its exit is seen, against Hazelcast's executor service";
    }

    /** How much to run at a scale. */
    record Plan(int rounds, int warmups, int spawns, int calls) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(11, 2, 2000, 2000);
                case QUICK -> new Plan(5, 1, 1000, 1000);
                case SMOKE -> new Plan(1, 0, 20, 20);
            };
        }
    }

    @Override
    public List<Row> run(Scale scale, Progress progress) throws Exception {
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        r.metric("spawn_remote_us", "us", "hazelcast-executor", Goal.ratioAtMost(1));
        r.metric("spawn_remote_us@rpc", "us", "kerrighed-rpc", null);
        r.metric("spawn_remote_cpu_us", "us", "hazelcast-executor", null);
        Path dir = Files.createTempDirectory("krg-bench-epm-");
        try (BenchCluster c = new BenchCluster("epm", EpmBenchNode.class, NODES, CHILD_JVM, true, CONTROL,
                CONTROL_TIMEOUT, dir, progress)) {
            spawnRemote(c, p, r, progress);
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /**
     * Node 1 starts {@code spawns} empty programs on node 2, one at a time, each from {@code spawn} until
     * {@code waitFor} returns; the round's figure is the median. The peer submits as many empty tasks to node 2's
     * Hazelcast member ({@code IExecutorService.submitToMember(task, member).get()}); the second row compares with
     * the median RPC round trip (16-byte echo) from node 1 to node 2 in the same round; the third row is the CPU
     * time both node JVMs used per spawn (per task for the peer), all their threads.
     */
    private static void spawnRemote(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("spawn_remote_us: node %d starts %,d empty programs on node %d per round, one at a time, each"
                + " until its exit is seen; against as many empty Hazelcast executor tasks and RPC round trips",
                FROM, p.spawns(), TO);
        for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
            Side ours;
            Side hz;
            if (Math.floorMod(round, 2) == 1) {
                ours = side(c, p, SPAWN_RUN);
                hz = side(c, p, EXECUTOR_RUN);
            } else {
                hz = side(c, p, EXECUTOR_RUN);
                ours = side(c, p, SPAWN_RUN);
            }
            double rtt = c.call(FROM, RPC_RTT, TO, p.calls())[0] / 1e3;
            if (round >= 1) {
                r.add("spawn_remote_us", ours.p50(), hz.p50());
                r.add("spawn_remote_us@rpc", ours.p50(), rtt);
                r.add("spawn_remote_cpu_us", ours.cpu(), hz.cpu());
            }
            progress.say("%s: spawn until exit %s; Hazelcast task %s; RPC round trip %.1f us",
                    round >= 1 ? "round " + round + "/" + p.rounds() : "warm-up", ours, hz, rtt);
        }
    }

    /**
     * One side's figures of a round, in microseconds: until the exit (or the task's result) was seen, p50, p90 and
     * mean; p50 until {@code spawn} (or {@code submitToMember}) returned; CPU of both node JVMs per operation.
     */
    private record Side(double p50, double p90, double mean, double firstPart, double cpu) {
        @Override
        public String toString() {
            return String.format("p50 %.1f us (p90 %.1f, mean %.1f; call returned after %.1f; CPU %.1f us)", p50, p90,
                    mean, firstPart, cpu);
        }
    }

    private static Side side(BenchCluster c, Plan p, int command) throws Exception {
        long cpu = cpu(c);
        long[] m = command == SPAWN_RUN ? c.call(FROM, SPAWN_RUN, TO, p.spawns()) : c.call(FROM, EXECUTOR_RUN, p.spawns());
        double cpuPerOp = (cpu(c) - cpu) / 1e3 / p.spawns();
        return new Side(m[0] / 1e3, m[1] / 1e3, m[3] / 1e3, m[2] / 1e3, cpuPerOp);
    }

    /** CPU nanoseconds both node JVMs used so far. */
    private static long cpu(BenchCluster c) throws Exception {
        long sum = 0;
        for (int n = 1; n <= NODES; n++) {
            sum += c.call(n, CPU)[0];
        }
        return sum;
    }
}
