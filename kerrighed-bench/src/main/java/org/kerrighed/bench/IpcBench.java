package org.kerrighed.bench;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.kerrighed.bench.IpcBenchNode.*;

/**
 * {@code krg bench ipc}: cluster IPC objects against Hazelcast's.
 *
 * <p>Two node JVMs ({@link IpcBenchNode}) form a Kerrighed cluster and, for the peer, a Hazelcast cluster;
 * this JVM steers them over tool connections, and every measurement runs inside the nodes. One method per
 * row (or group of rows sharing a setup): a new row is a metric declared in {@link #run}, a method here and,
 * if needed, a command in {@link IpcBenchNode}. Each round runs ours and the peer, the side that goes first
 * alternating, and keeps the per-round ratio.
 */
final class IpcBench implements Benchmark.Parted {
    static final int NODES = 3;
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(5);
    private static final List<String> CHILD_JVM = List.of("-Xms256m", "-Xmx512m", "-XX:+UseParallelGC",
            "-Dorg.slf4j.simpleLogger.log.com.hazelcast=error");

    @Override
    public String name() {
        return "ipc";
    }

    @Override
    public String description() {
        return "cluster IPC objects (locks, barriers, queues) against Hazelcast's, the JDK's and RPC round trips";
    }

    /** How much each part runs at a scale. */
    record Plan(int rounds, int warmups, int queueItems, int lockPairs, int handoffs, int barrierRounds) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(7, 2, 40_000, 200_000, 300, 3000);
                case QUICK -> new Plan(3, 2, 12_000, 100_000, 150, 1500);
                case SMOKE -> new Plan(1, 0, 400, 2_000, 10, 10);
            };
        }
    }

    @Override
    public List<String> parts() {
        return List.of("lock", "handoff", "barrier", "queue");
    }

    @Override
    public List<Row> run(Scale scale, Set<String> parts, Progress progress) throws Exception {
        checkParts(parts);
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        if (parts.contains("lock")) {
            r.metric("lock_uncontended_ns", "ns", "hazelcast-imap-lock", Goal.ratioAtMost(0.05));
            r.metric("lock_uncontended_ns@ReentrantLock", "ns", "jdk-reentrantlock", null);
        }
        if (parts.contains("handoff")) {
            r.metric("lock_handoff_us", "us", "kerrighed-rpc-after-hold", Goal.ratioAtMost(2));
            r.metric("lock_handoff_us@back-to-back-rtt", "us", "kerrighed-rpc", null);
        }
        if (parts.contains("barrier")) {
            r.metric("barrier_3nodes_us", "us", "kerrighed-rpc", null);
        }
        if (parts.contains("queue")) {
            r.metric("queue_throughput", "items/s", "hazelcast-iqueue", Goal.ratioAtLeast(2));
            r.metric("queue_throughput_1x1", "items/s", "hazelcast-iqueue", null);
        }
        Path dir = Files.createTempDirectory("krg-bench-ipc-");
        try (BenchCluster c = new BenchCluster("ipc", IpcBenchNode.class, NODES, CHILD_JVM, true, CONTROL, CONTROL_TIMEOUT, dir,
                progress)) {
            if (parts.contains("lock")) {
                lockUncontended(c, p, r, progress);
            }
            if (parts.contains("handoff")) {
                lockHandoff(c, p, r, progress);
            }
            if (parts.contains("barrier")) {
                barrier(c, p, r, progress);
            }
            if (parts.contains("queue")) {
                queueThroughput(c, p, r, progress, "queue_throughput", 16, 4);
                queueThroughput(c, p, r, progress, "queue_throughput_1x1", 1, 1);
            }
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /**
     * {@code producers} threads on node 2 {@code put} 64-byte items (each thread one at a time: {@code put}
     * returns once the item is on the queue's two copies) into a queue (capacity 10,000, one
     * synchronous backup) from which {@code consumers} threads on node 1 {@code take} them; items per second
     * from the common start until the last item is taken. A fresh queue per side and round, homed on node 1
     * in odd rounds and node 2 in even ones, on both sides (Hazelcast: a name whose partition node 1 or 2 owns).
     */
    private static void queueThroughput(BenchCluster c, Plan p, Rounds r, Progress progress, String metric, int producers,
                                        int consumers) throws Exception {
        int items = p.queueItems() / producers / consumers * producers * consumers;
        progress.say("%s: %d producer thread(s) on node 2, %d consumer thread(s) on node 1, %,d items of %d bytes"
                + " per side and round", metric, producers, consumers, items, ITEM_BYTES);
        long round0 = metric.hashCode() & 0xffff;
        for (int i = 0; i < p.warmups(); i++) {
            queueOnce(c, OURS, round0 * 100 + 90 + i, 1 + i % 2, producers, consumers, items);
            queueOnce(c, HAZELCAST, round0 * 100 + 90 + i, 1 + i % 2, producers, consumers, items);
        }
        for (int round = 1; round <= p.rounds(); round++) {
            int home = 1 + round % 2;
            long id = round0 * 100 + round;
            double ours;
            double peer;
            if (round % 2 == 1) {
                ours = queueOnce(c, OURS, id, home, producers, consumers, items);
                peer = queueOnce(c, HAZELCAST, id, home, producers, consumers, items);
            } else {
                peer = queueOnce(c, HAZELCAST, id, home, producers, consumers, items);
                ours = queueOnce(c, OURS, id, home, producers, consumers, items);
            }
            r.add(metric, ours, peer);
            progress.say("round %d/%d (queue on node %d): ours %,.0f items/s, Hazelcast IQueue %,.0f items/s", round,
                    p.rounds(), home, ours, peer);
        }
    }

    /** One timed transfer of {@code items} items: items per second. */
    private static double queueOnce(BenchCluster c, int side, long round, int home, int producers, int consumers, int items)
            throws Exception {
        long suffix = c.call(home, QUEUE_CREATE, side, round)[0];
        long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        CompletableFuture<long[]> consumed = c.callAsync(1, QUEUE_RUN, side, round, suffix, 0, consumers,
                items / consumers, startAt);
        CompletableFuture<long[]> produced = c.callAsync(2, QUEUE_RUN, side, round, suffix, 1, producers,
                items / producers, startAt);
        c.get(produced);
        long nanos = c.get(consumed)[0];
        return items / (nanos / 1e9);
    }

    /**
     * A thread of node 1 takes and releases a lock {@code lockPairs} times (after as many untimed): ours a
     * {@code ClusterLock} last held on node 1 (no message), the peer Hazelcast's {@code IMap.lock} on a key node 1
     * owns, and, for a second row, the JDK's {@code ReentrantLock}. Nanoseconds per lock/unlock pair.
     */
    private static void lockUncontended(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        int hzPairs = Math.max(100, p.lockPairs() / 100);          // Hazelcast's pairs take ~1000 times longer
        progress.say("lock_uncontended_ns: %,d lock/unlock pairs per round on node 1 (Hazelcast: %,d)", p.lockPairs(),
                hzPairs);
        for (int i = 0; i < p.warmups(); i++) {
            c.call(1, LOCK_LOCAL, OURS, p.lockPairs());
            c.call(1, LOCK_LOCAL, HAZELCAST, hzPairs);
            c.call(1, LOCK_LOCAL, IpcSyncBench.JDK, p.lockPairs());
        }
        for (int round = 1; round <= p.rounds(); round++) {
            long ours;
            long hz;
            long jdk;
            if (round % 2 == 1) {
                ours = c.call(1, LOCK_LOCAL, OURS, p.lockPairs())[0];
                hz = c.call(1, LOCK_LOCAL, HAZELCAST, hzPairs)[0];
                jdk = c.call(1, LOCK_LOCAL, IpcSyncBench.JDK, p.lockPairs())[0];
            } else {
                jdk = c.call(1, LOCK_LOCAL, IpcSyncBench.JDK, p.lockPairs())[0];
                hz = c.call(1, LOCK_LOCAL, HAZELCAST, hzPairs)[0];
                ours = c.call(1, LOCK_LOCAL, OURS, p.lockPairs())[0];
            }
            r.add("lock_uncontended_ns", ours, hz);
            r.add("lock_uncontended_ns@ReentrantLock", ours, jdk);
            progress.say("round %d/%d: ours %d ns, Hazelcast IMap.lock %,d ns, ReentrantLock %d ns", round,
                    p.rounds(), ours, hz, jdk);
        }
    }

    /** How long each node keeps the lock in the hand-off row, so that the other node's request waits for it. */
    private static final long HOLD_NANOS = 300_000;

    /**
     * Nodes 1 and 2 each take a lock, keep it {@link #HOLD_NANOS} (parked) and release it, {@code handoffs} times,
     * at once: the lock bounces between them. A hand-off is timed from one node's release to the other's
     * acquisition ({@code System.nanoTime()} is one clock for the JVMs of a machine); the round's figure is the
     * median hand-off. The peer is the median RPC round trip from node 1 to node 2 in the same round, each call
     * made after the same parked hold (a hand-off starts from threads that were idle for the hold; on this
     * machine waking an idle JVM's threads costs more than a back-to-back round trip shows); the row
     * {@code @back-to-back-rtt} compares with calls made back to back.
     */
    private static void lockHandoff(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("lock_handoff_us: nodes 1 and 2 each take a lock %d times (held %d us each time); against"
                + " the RPC round trip", p.handoffs(), HOLD_NANOS / 1000);
        for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
            double rtt = c.call(1, RPC_RTT, 2, 200)[0] / 1e3;
            double rttAfterHold = c.call(1, RPC_RTT, 2, 200, HOLD_NANOS)[0] / 1e3;
            long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            CompletableFuture<long[]> a = c.callAsync(1, LOCK_PINGPONG, round + 100, p.handoffs(), startAt, HOLD_NANOS);
            CompletableFuture<long[]> b = c.callAsync(2, LOCK_PINGPONG, round + 100, p.handoffs(), startAt, HOLD_NANOS);
            long[] h = IpcSyncBench.handoffs(c.get(a), c.get(b));
            if (h.length == 0) {
                throw new IllegalStateException("the lock never went from one node to the other");
            }
            java.util.Arrays.sort(h);
            double handoff = h[h.length / 2] / 1e3;
            if (round >= 1) {
                r.add("lock_handoff_us", handoff, rttAfterHold);
                r.add("lock_handoff_us@back-to-back-rtt", handoff, rtt);
                progress.say("round %d/%d: hand-off %.1f us (median of %d, p90 %.1f us), RPC round trip %.1f us"
                        + " after a %d us hold, %.1f us back to back", round, p.rounds(), handoff, h.length,
                        h[h.length * 9 / 10] / 1e3, rttAfterHold, HOLD_NANOS / 1000, rtt);
            }
        }
    }

    /** One thread on each of the 3 nodes awaits a cluster barrier {@code barrierRounds} times; per round. */
    private static void barrier(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("barrier_3nodes_us: one party on each of the %d nodes, %d rounds; against the RPC round trip",
                NODES, p.barrierRounds());
        for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
            double rtt = c.call(1, RPC_RTT, 2, 200)[0] / 1e3;
            long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            List<CompletableFuture<long[]>> fs = new ArrayList<>();
            for (int n = 1; n <= NODES; n++) {
                fs.add(c.callAsync(n, BARRIER_RUN, round + 100, NODES, p.barrierRounds(), startAt));
            }
            long elapsed = 0;
            for (CompletableFuture<long[]> f : fs) {
                elapsed = Math.max(elapsed, c.get(f)[0]);
            }
            double perRound = elapsed / 1e3 / p.barrierRounds();
            if (round >= 1) {
                r.add("barrier_3nodes_us", perRound, rtt);
                progress.say("round %d/%d: %.1f us per barrier round, RPC round trip %.1f us", round, p.rounds(),
                        perRound, rtt);
            }
        }
    }


}
