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
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.kerrighed.bench.KddmBenchNode.*;

/**
 * {@code krg bench kddm}: KDDM's object sharing against local maps, Kerrighed RPC and Hazelcast IMap.
 *
 * <p>Three node JVMs ({@link KddmBenchNode}) form a Kerrighed cluster and, for the peer, a Hazelcast
 * cluster; this JVM is no member of either and steers them over a tool connection. Every measurement runs
 * inside the nodes. The latency rows use nodes 1 and 2, the workload rows all three. Each row alternates
 * ours and its peer round by round (the side that goes first alternates too) and keeps the per-round ratio.
 */
final class KddmBench implements Benchmark {
    private static final int NODES = 3;
    private static final String[] SIDES = {"KDDM", "IMap", "IMap with near cache"};
    private static final int THREADS_PER_NODE = 2;
    private static final int WRITES_PER_MILLE = 50;
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(3);
    private static final List<String> CHILD_JVM = List.of("-Xms256m", "-Xmx512m", "-XX:+UseParallelGC",
            "-Dorg.slf4j.simpleLogger.log.com.hazelcast=error");

    @Override
    public String name() {
        return "kddm";
    }

    @Override
    public String description() {
        return "KDDM object sharing against ConcurrentHashMap, Kerrighed RPC and Hazelcast IMap";
    }

    /** How much each part runs at a scale. */
    private record Plan(int rounds, int warmups, int objects, int localOps, int latencyCalls, double mixSeconds,
                        double writeSeconds) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(11, 2, 10_000, 5_000_000, 5000, 5, 2);
                case QUICK -> new Plan(5, 1, 10_000, 1_000_000, 1000, 1, 0.5);
                case SMOKE -> new Plan(1, 0, 300, 20_000, 50, 0.2, 0.1);
            };
        }
    }

    @Override
    public List<Row> run(Scale scale, Progress progress) throws Exception {
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        r.metric("local_hit_get_ns", "ns", "concurrenthashmap", Goal.oursAtMost(200));
        r.metric("local_hit_get_ns@hazelcast-near-cache", "ns", "hazelcast-near-cache", null);
        r.metric("remote_miss_us", "us", "kerrighed-rpc", Goal.ratioAtMost(1.5));
        r.metric("ownership_pingpong_us", "us", "kerrighed-rpc", Goal.ratioAtMost(2));
        r.metric("read_mostly_ops", "ops/s", "hazelcast-imap", Goal.ratioAtLeast(5));
        r.metric("read_mostly_ops@hazelcast-near-cache", "ops/s", "hazelcast-imap-near-cache", null);
        r.metric("replicated_write_us", "us", "hazelcast-imap", null);
        r.metric("replicated_write_owned_us", "us", "kerrighed-rpc", null);

        Path dir = Files.createTempDirectory("krg-bench-kddm-");
        try (BenchCluster c = new BenchCluster("kddm", KddmBenchNode.class, NODES, CHILD_JVM, true, CONTROL, CONTROL_TIMEOUT, dir,
                progress)) {
            prepare(c, p, progress);
            localHits(c, p, r, progress);
            remoteMisses(c, p, r, progress);
            pingpong(c, p, r, progress);
            readMostly(c, p, r, progress);
            replicatedWrites(c, p, r, progress);
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /** Places the latency objects, loads the read-mostly data on both sides and fills the caches. */
    private static void prepare(BenchCluster c, Plan p, Progress progress) throws Exception {
        c.call(2, GRAB, LAT_SET, MISS_ID);                // node 2 owns the latency objects
        c.call(2, GRAB, LAT_SET, PINGPONG_ID);
        for (long k = 0; k < LOCAL_OBJECTS; k++) {
            c.call(2, GRAB, LAT_SET, LOCAL_BASE + k);
            c.call(1, GET, LAT_SET, LOCAL_BASE + k);      // node 1 has read copies
        }
        progress.say("loading %,d objects of %d bytes on each side (KDDM: replication 2; IMap: 1 sync backup)",
                p.objects(), VALUE_BYTES);
        for (int side : new int[]{KDDM, IMAP, NEAR}) {
            long t0 = System.nanoTime();
            List<CompletableFuture<long[]>> fs = new ArrayList<>();
            for (int n = 1; n <= NODES; n++) {
                fs.add(c.callAsync(n, LOAD, side, p.objects(), n - 1, NODES));
            }
            c.all(fs);
            progress.say("  %s loaded in %.1f s", SIDES[side], (System.nanoTime() - t0) / 1e9);
        }
        progress.say("reading every object once on every node (KDDM read copies, near caches)");
        for (int side : new int[]{KDDM, NEAR}) {
            long t0 = System.nanoTime();
            List<CompletableFuture<long[]>> fs = new ArrayList<>();
            for (int n = 1; n <= NODES; n++) {
                fs.add(c.callAsync(n, WARM, side, p.objects()));
            }
            c.all(fs);
            progress.say("  %s read in %.1f s", SIDES[side], (System.nanoTime() - t0) / 1e9);
        }
    }

    /** Node 1 reads cached objects: KDDM get + close, ConcurrentHashMap.get, Hazelcast near-cache get. */
    private static void localHits(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("local_hit_get_ns: node 1 reads %d cached objects in turn (%,d gets per side and round)",
                LOCAL_OBJECTS, p.localOps());
        for (int i = 0; i < p.warmups() + 1; i++) {
            c.call(1, LOCAL, p.localOps(), i % 2);
        }
        for (int round = 1; round <= p.rounds(); round++) {
            long[] ns = c.call(1, LOCAL, p.localOps(), round % 2);
            double ours = (double) ns[0] / p.localOps();
            double chm = (double) ns[1] / p.localOps();
            double near = (double) ns[2] / p.localOps();
            r.add("local_hit_get_ns", ours, chm);
            r.add("local_hit_get_ns@hazelcast-near-cache", ours, near);
            progress.say("round %d/%d: local hit ours %.0f ns, ConcurrentHashMap %.1f ns, Hazelcast near cache %.0f ns",
                    round, p.rounds(), ours, chm, near);
        }
    }

    /** Node 1 reads an object node 2 owns after dropping its copy, against echo calls from node 1 to node 2. */
    private static void remoteMisses(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("remote_miss_us: node 1 reads an object owned by node 2 after dropping its copy (%,d per round)",
                p.latencyCalls());
        for (int i = 0; i < p.warmups() + 1; i++) {
            c.call(1, MISS, 2, p.latencyCalls(), i % 2);
        }
        for (int round = 1; round <= p.rounds(); round++) {
            long[] m = c.call(1, MISS, 2, p.latencyCalls(), round % 2);
            double ours = m[0] / 1000.0;
            double rpc = m[1] / 1000.0;
            r.add("remote_miss_us", ours, rpc);
            progress.say("round %d/%d: remote miss p50 ours %.1f us, rpc echo p50 %.1f us%s", round, p.rounds(), ours,
                    rpc, m[2] < p.latencyCalls() ? " (only " + m[2] + " of the gets missed)" : "");
        }
    }

    /** Nodes 1 and 2 take one object from each other in turn, against echo calls from node 1 to node 2. */
    private static void pingpong(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("ownership_pingpong_us: nodes 1 and 2 take one object from each other %,d times each per round",
                p.latencyCalls());
        for (int i = 0; i < p.warmups() + 1; i++) {
            c.call(1, PINGPONG, 2, p.latencyCalls(), i % 2);
        }
        for (int round = 1; round <= p.rounds(); round++) {
            long[] m = c.call(1, PINGPONG, 2, p.latencyCalls(), round % 2);
            double ours = m[0] / 1000.0;
            double rpc = m[1] / 1000.0;
            r.add("ownership_pingpong_us", ours, rpc);
            progress.say("round %d/%d: grab taking the object p50 ours %.1f us, rpc echo p50 %.1f us%s", round,
                    p.rounds(), ours, rpc, m[2] < p.latencyCalls() ? " (only " + m[2] + " transfers to node 1)" : "");
            progress.say("  p10/p50/p90: node 1 takes %.0f/%.0f/%.0f us, node 2 takes %.0f/%.0f/%.0f us, echo %.0f/%.0f/%.0f us",
                    m[3] / 1e3, m[4] / 1e3, m[5] / 1e3, m[6] / 1e3, m[7] / 1e3, m[8] / 1e3, m[9] / 1e3, m[1] / 1e3, m[10] / 1e3);
        }
    }

    /** All nodes, two threads each, 95% reads: KDDM, IMap, IMap with a near cache. */
    private static void readMostly(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("read_mostly_ops: %d nodes x %d threads, %,d objects, %d%% writes, %.1f s per side and round",
                NODES, THREADS_PER_NODE, p.objects(), WRITES_PER_MILLE / 10, p.mixSeconds());
        for (int i = 0; i < p.warmups(); i++) {
            for (int side : new int[]{KDDM, IMAP, NEAR}) {
                mixOnce(c, p, side, 1000 + i);
            }
            progress.say("warm-up round %d/%d done", i + 1, p.warmups());
        }
        for (int round = 1; round <= p.rounds(); round++) {
            int[] order = round % 2 == 1 ? new int[]{KDDM, IMAP, NEAR} : new int[]{NEAR, IMAP, KDDM};
            double[][] res = new double[3][];
            for (int side : order) {
                res[side] = mixOnce(c, p, side, round);
            }
            r.add("read_mostly_ops", res[KDDM][0], res[IMAP][0]);
            r.add("read_mostly_ops@hazelcast-near-cache", res[KDDM][0], res[NEAR][0]);
            progress.say("round %d/%d: ours %,.0f ops/s, IMap %,.0f ops/s, IMap with near cache %,.0f ops/s", round,
                    p.rounds(), res[KDDM][0], res[IMAP][0], res[NEAR][0]);
            StringBuilder msgs = new StringBuilder();
            double total = 0;
            for (int k = 0; k < KDDM_SERVICES.length; k++) {
                msgs.append(k == 0 ? "" : ", ").append(String.format("%.1f %s", res[KDDM][5 + k], KDDM_SERVICE_NAMES[k]));
                total += res[KDDM][5 + k];
            }
            progress.say("  ours per 100 ops: %.1f misses, %.1f invalidations, %.1f transfers, %.1f deferred; %.1f"
                    + " KDDM messages (%s)", res[KDDM][1], res[KDDM][2], res[KDDM][3], res[KDDM][4], total, msgs);
        }
    }

    /**
     * One timed run of the read-mostly mix on every node: operations per second, all threads together, then
     * (meaningful for KDDM) the misses, invalidations, transfers and deferred requests, and the messages sent
     * per KDDM service ({@link KddmBenchNode#KDDM_SERVICES}), each per 100 operations.
     */
    private static double[] mixOnce(BenchCluster c, Plan p, int side, long seed) throws Exception {
        long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(150);
        long duration = (long) (p.mixSeconds() * 1e9);
        List<CompletableFuture<long[]>> fs = new ArrayList<>();
        for (int n = 1; n <= NODES; n++) {
            fs.add(c.callAsync(n, MIX, side, startAt, duration, seed, p.objects(), WRITES_PER_MILLE, THREADS_PER_NODE));
        }
        double rate = 0;
        double ops = 0;
        int extra = 4 + KDDM_SERVICES.length;
        double[] counts = new double[extra];
        for (long[] t : c.all(fs)) {
            for (int k = 0; k < 2 * THREADS_PER_NODE; k += 2) {
                rate += t[k] / (t[k + 1] / 1e9);
                ops += t[k];
            }
            for (int k = 0; k < extra; k++) {
                counts[k] += t[2 * THREADS_PER_NODE + k];
            }
        }
        double[] out = new double[1 + extra];
        out[0] = rate;
        for (int k = 0; k < extra; k++) {
            out[1 + k] = 100 * counts[k] / ops;
        }
        return out;
    }

    /** One thread per node writes random objects (KDDM vs IMap.set); then node 1 rewrites an object it owns. */
    private static void replicatedWrites(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("replicated_write_us: one thread per node writes random objects, %.1f s per side and round",
                p.writeSeconds());
        for (int i = 0; i < p.warmups(); i++) {
            writesOnce(c, p, KDDM, 2000 + i);
            writesOnce(c, p, IMAP, 2000 + i);
            c.call(1, OWNED, p.latencyCalls(), i % 2);
        }
        for (int round = 1; round <= p.rounds(); round++) {
            double ours;
            double peer;
            if (round % 2 == 1) {
                ours = writesOnce(c, p, KDDM, round);
                peer = writesOnce(c, p, IMAP, round);
            } else {
                peer = writesOnce(c, p, IMAP, round);
                ours = writesOnce(c, p, KDDM, round);
            }
            r.add("replicated_write_us", ours, peer);
            long[] o = c.call(1, OWNED, p.latencyCalls(), round % 2);
            r.add("replicated_write_owned_us", o[0] / 1000.0, o[1] / 1000.0);
            progress.say("round %d/%d: write p50 ours %.1f us, IMap.set %.1f us; owned object ours %.1f us, rpc echo %.1f us",
                    round, p.rounds(), ours, peer, o[0] / 1000.0, o[1] / 1000.0);
        }
    }

    /** p50 (us) of the writes of all nodes in one timed run. */
    private static double writesOnce(BenchCluster c, Plan p, int side, long seed) throws Exception {
        long startAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(150);
        long duration = (long) (p.writeSeconds() * 1e9);
        List<CompletableFuture<long[]>> fs = new ArrayList<>();
        for (int n = 1; n <= NODES; n++) {
            fs.add(c.callAsync(n, WRITES, side, startAt, duration, seed, p.objects(), 200_000));
        }
        long[] all = c.all(fs).stream().flatMapToLong(Arrays::stream).sorted().toArray();
        if (all.length == 0) {
            throw new IllegalStateException("no write completed in " + p.writeSeconds() + " s");
        }
        return Rounds.percentile(all, 0.5) / 1000.0;
    }


}
