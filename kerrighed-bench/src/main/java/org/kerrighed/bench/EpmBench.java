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
     * the median RPC round trip (16-byte echo) from node 1 to node 2 in the same round.
     */
    private static void spawnRemote(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("spawn_remote_us: node %d starts %,d empty programs on node %d per round, one at a time, each"
                + " until its exit is seen; against as many empty Hazelcast executor tasks and RPC round trips",
                FROM, p.spawns(), TO);
        for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
            long[] ours;
            long[] hz;
            if (Math.floorMod(round, 2) == 1) {
                ours = c.call(FROM, SPAWN_RUN, TO, p.spawns());
                hz = c.call(FROM, EXECUTOR_RUN, p.spawns());
            } else {
                hz = c.call(FROM, EXECUTOR_RUN, p.spawns());
                ours = c.call(FROM, SPAWN_RUN, TO, p.spawns());
            }
            double rtt = c.call(FROM, RPC_RTT, TO, p.calls())[0] / 1e3;
            double spawn = ours[0] / 1e3;
            double task = hz[0] / 1e3;
            if (round >= 1) {
                r.add("spawn_remote_us", spawn, task);
                r.add("spawn_remote_us@rpc", spawn, rtt);
            }
            progress.say("%s: spawn until exit p50 %.1f us (p90 %.1f, mean %.1f; spawn returned after %.1f),"
                            + " Hazelcast task p50 %.1f us (p90 %.1f, mean %.1f; submit returned after %.1f), RPC round"
                            + " trip %.1f us", round >= 1 ? "round " + round + "/" + p.rounds() : "warm-up",
                    spawn, ours[1] / 1e3, ours[3] / 1e3, ours[2] / 1e3, task, hz[1] / 1e3, hz[3] / 1e3, hz[2] / 1e3,
                    rtt);
        }
    }
}
