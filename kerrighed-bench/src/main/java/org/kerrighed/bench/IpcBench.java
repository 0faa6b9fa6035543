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
final class IpcBench implements Benchmark {
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
                case FULL -> new Plan(7, 2, 40_000, 200_000, 300, 300);
                case QUICK -> new Plan(3, 2, 12_000, 100_000, 150, 150);
                case SMOKE -> new Plan(1, 0, 400, 2_000, 10, 10);
            };
        }
    }

    @Override
    public List<Row> run(Scale scale, Progress progress) throws Exception {
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        r.metric("lock_uncontended_ns", "ns", "hazelcast-imap-lock", Goal.ratioAtMost(0.05));
        r.metric("lock_uncontended_ns@ReentrantLock", "ns", "jdk-reentrantlock", null);
        r.metric("lock_handoff_us", "us", "kerrighed-rpc", Goal.ratioAtMost(2));
        r.metric("barrier_3nodes_us", "us", "kerrighed-rpc", null);
        r.metric("queue_throughput", "items/s", "hazelcast-iqueue", Goal.ratioAtLeast(2));
        r.metric("queue_throughput_1x1", "items/s", "hazelcast-iqueue", null);
        Path dir = Files.createTempDirectory("krg-bench-ipc-");
        try (Cluster c = new Cluster(dir, progress)) {
            lockUncontended(c, p, r, progress);
            lockHandoff(c, p, r, progress);
            barrier(c, p, r, progress);
            queueThroughput(c, p, r, progress, "queue_throughput", 16, 4);
            queueThroughput(c, p, r, progress, "queue_throughput_1x1", 1, 1);
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
    private static void queueThroughput(Cluster c, Plan p, Rounds r, Progress progress, String metric, int producers,
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
    private static double queueOnce(Cluster c, int side, long round, int home, int producers, int consumers, int items)
            throws Exception {
        long suffix = c.call(home, QUEUE_CREATE, side, round)[0];
        long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        CompletableFuture<long[]> consumed = c.callAsync(1, QUEUE_RUN, side, round, suffix, 0, consumers,
                items / consumers, startAt);
        CompletableFuture<long[]> produced = c.callAsync(2, QUEUE_RUN, side, round, suffix, 1, producers,
                items / producers, startAt);
        Cluster.get(produced);
        long nanos = Cluster.get(consumed)[0];
        return items / (nanos / 1e9);
    }

    /**
     * A thread of node 1 takes and releases a lock {@code lockPairs} times (after as many untimed): ours a
     * {@code ClusterLock} last held on node 1 (no message), the peer Hazelcast's {@code IMap.lock} on a key node 1
     * owns, and, for a second row, the JDK's {@code ReentrantLock}. Nanoseconds per lock/unlock pair.
     */
    private static void lockUncontended(Cluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("lock_uncontended_ns: %,d lock/unlock pairs per side and round on node 1", p.lockPairs());
        for (int i = 0; i < p.warmups(); i++) {
            for (int side : new int[]{OURS, HAZELCAST, IpcSyncBench.JDK}) {
                c.call(1, LOCK_LOCAL, side, p.lockPairs());
            }
        }
        for (int round = 1; round <= p.rounds(); round++) {
            long ours;
            long hz;
            long jdk;
            if (round % 2 == 1) {
                ours = c.call(1, LOCK_LOCAL, OURS, p.lockPairs())[0];
                hz = c.call(1, LOCK_LOCAL, HAZELCAST, p.lockPairs())[0];
                jdk = c.call(1, LOCK_LOCAL, IpcSyncBench.JDK, p.lockPairs())[0];
            } else {
                jdk = c.call(1, LOCK_LOCAL, IpcSyncBench.JDK, p.lockPairs())[0];
                hz = c.call(1, LOCK_LOCAL, HAZELCAST, p.lockPairs())[0];
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
     * median hand-off. The peer is the median RPC round trip from node 1 to node 2 in the same round.
     */
    private static void lockHandoff(Cluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("lock_handoff_us: nodes 1 and 2 each take a lock %d times (held %d us each time); against"
                + " the RPC round trip", p.handoffs(), HOLD_NANOS / 1000);
        for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
            double rtt = c.call(1, RPC_RTT, 2, 200)[0] / 1e3;
            long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            CompletableFuture<long[]> a = c.callAsync(1, LOCK_PINGPONG, round + 100, p.handoffs(), startAt, HOLD_NANOS);
            CompletableFuture<long[]> b = c.callAsync(2, LOCK_PINGPONG, round + 100, p.handoffs(), startAt, HOLD_NANOS);
            long[] h = IpcSyncBench.handoffs(Cluster.get(a), Cluster.get(b));
            if (h.length == 0) {
                throw new IllegalStateException("the lock never went from one node to the other");
            }
            java.util.Arrays.sort(h);
            double handoff = h[h.length / 2] / 1e3;
            if (round >= 1) {
                r.add("lock_handoff_us", handoff, rtt);
                progress.say("round %d/%d: hand-off %.1f us (median of %d, p90 %.1f us), RPC round trip %.1f us",
                        round, p.rounds(), handoff, h.length, h[h.length * 9 / 10] / 1e3, rtt);
            }
        }
    }

    /** One thread on each of the 3 nodes awaits a cluster barrier {@code barrierRounds} times; per round. */
    private static void barrier(Cluster c, Plan p, Rounds r, Progress progress) throws Exception {
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
                elapsed = Math.max(elapsed, Cluster.get(f)[0]);
            }
            double perRound = elapsed / 1e3 / p.barrierRounds();
            if (round >= 1) {
                r.add("barrier_3nodes_us", perRound, rtt);
                progress.say("round %d/%d: %.1f us per barrier round, RPC round trip %.1f us", round, p.rounds(),
                        perRound, rtt);
            }
        }
    }

    /** The node JVMs and a tool connection to each; closing kills them. */
    static final class Cluster implements AutoCloseable {
        private final List<ChildJvm> jvms = new ArrayList<>();
        private final RpcClient[] clients = new RpcClient[NODES + 1];

        Cluster(Path dir, Progress progress) throws Exception {
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            Path secretFile = dir.resolve("secret");
            Files.writeString(secretFile, Base64.getEncoder().encodeToString(secret));
            String cluster = "bench-ipc-" + Long.toHexString(new SecureRandom().nextLong() >>> 1);
            String hzCluster = cluster + "-hz";
            try {
                progress.say("starting %d node JVMs (each: a Kerrighed node and a Hazelcast member)", NODES);
                String[][] ready = new String[NODES + 1][];
                ready[1] = start(dir, secretFile, cluster, hzCluster, 1, "-", "-");
                for (int n = 2; n <= NODES; n++) {
                    ready[n] = start(dir, secretFile, cluster, hzCluster, n, ready[1][2], ready[1][3]);
                }
                NodeConfig tool = NodeConfig.builder().clusterName(cluster).secretFile(secretFile).jmx(false).build();
                for (int n = 1; n <= NODES; n++) {
                    clients[n] = NodeAdmin.connect(tool, HostAndPort.parse(ready[n][2]));
                }
                awaitFormed();
                progress.say("cluster formed: %d Kerrighed nodes and %d Hazelcast members", NODES, NODES);
            } catch (Exception | Error e) {
                close();
                throw e;
            }
        }

        private String[] start(Path dir, Path secretFile, String cluster, String hzCluster, int id, String krgSeed,
                               String hzSeed) throws Exception {
            ChildJvm j = ChildJvm.start("ipc-bench-node-" + id, IpcBenchNode.class.getName(), CHILD_JVM,
                    List.of(cluster, secretFile.toString(), Integer.toString(id), krgSeed, hzCluster, hzSeed,
                            dir.resolve("storage-" + id).toString()), dir);
            jvms.add(j);
            return j.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(120)).split(" ");
        }

        private void awaitFormed() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (int n = 1; n <= NODES; n++) {
                while (true) {
                    long[] s = call(n, STATUS);
                    if (s[0] == NODES && s[1] == NODES) {
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("node " + n + " sees " + s[0] + " Kerrighed members and " + s[1]
                                + " Hazelcast members after 60 s, expected " + NODES);
                    }
                    Thread.sleep(100);
                }
            }
        }

        CompletableFuture<long[]> callAsync(int node, long... args) {
            return clients[node].call(CONTROL, args, CONTROL_TIMEOUT);
        }

        long[] call(int node, long... args) throws Exception {
            return get(callAsync(node, args));
        }

        static long[] get(CompletableFuture<long[]> f) throws Exception {
            return f.get(CONTROL_TIMEOUT.toMillis() + 5000, TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            for (RpcClient c : clients) {
                if (c != null) {
                    c.close();
                }
            }
            jvms.forEach(ChildJvm::kill);
            for (ChildJvm j : jvms) {
                try {
                    j.waitFor(Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
