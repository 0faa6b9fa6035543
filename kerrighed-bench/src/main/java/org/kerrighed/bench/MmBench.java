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

import static org.kerrighed.bench.MmBenchNode.*;

/**
 * {@code krg bench mm}: cluster shared memory against local memory and Kerrighed RPC.
 *
 * <p>Two node JVMs ({@link MmBenchNode}) form a Kerrighed cluster; this JVM is no member and steers them over a
 * tool connection. Node 1 reads a segment whose pages it holds (bulk copies, and a per-element loop), against
 * the same reads of local memory; node 1 faults in pages node 2 just wrote, against RPC round trips to node 2.
 * Each row alternates ours and its peer round by round (the side that goes first alternates too) and keeps the
 * per-round ratio.
 */
final class MmBench implements Benchmark {
    private static final int NODES = 2;
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(3);
    private static final List<String> CHILD_JVM = List.of("-Xms512m", "-Xmx768m", "-XX:+UseParallelGC");

    @Override
    public String name() {
        return "mm";
    }

    @Override
    public String description() {
        return "cluster shared memory segments against local memory copies and Kerrighed RPC";
    }

    /** How much each part runs at a scale. */
    private record Plan(int rounds, int warmups, long bigBytes, int copies, int loops, int faults) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(11, 2, 64L << 20, 8, 1, 2000);
                case QUICK -> new Plan(5, 1, 64L << 20, 4, 1, 500);
                case SMOKE -> new Plan(1, 0, 4L << 20, 1, 1, 20);
            };
        }
    }

    @Override
    public List<Row> run(Scale scale, Progress progress) throws Exception {
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        r.metric("shm_seq_read_gbps", "GB/s", "memorysegment-copy", Goal.ratioAtLeast(0.5));
        r.metric("shm_seq_read_gbps@64k-pages", "GB/s", "memorysegment-copy", null);
        r.metric("shm_seq_read_gbps@long[]", "GB/s", "long[]-loop", null);
        r.metric("shm_fault_us", "us", "kerrighed-rpc", Goal.ratioAtMost(1.5));

        Path dir = Files.createTempDirectory("krg-bench-mm-");
        try (BenchCluster c = new BenchCluster("mm", MmBenchNode.class, NODES, CHILD_JVM, false, CONTROL, CONTROL_TIMEOUT, dir,
                progress)) {
            progress.say("node 1 creates and fills two segments of %d MiB (pages of %d and %d bytes) and one of %d"
                    + " pages", p.bigBytes() >> 20, PAGE, BIG_PAGE, FAULT_PAGES);
            c.call(1, CREATE, BIG_KEY, p.bigBytes(), PAGE);
            c.call(1, CREATE, BIG_BIG_PAGES_KEY, p.bigBytes(), BIG_PAGE);
            c.call(1, CREATE, FAULT_KEY, (long) FAULT_PAGES * PAGE, PAGE);
            c.call(2, ATTACH, FAULT_KEY);
            sequential(c, p, r, progress);
            faults(c, p, r, progress);
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /** Node 1 copies the cached segment into a direct buffer, then sums it element by element; local peers. */
    private static void sequential(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("shm_seq_read_gbps: node 1 copies the cached %d MiB segment into a direct ByteBuffer %d times"
                + " per round, against a local MemorySegment copy into the same buffer", p.bigBytes() >> 20, p.copies());
        for (int i = 0; i < p.warmups() + 1; i++) {
            c.call(1, COPY, BIG_KEY, p.copies(), i % 2);
            c.call(1, COPY, BIG_BIG_PAGES_KEY, p.copies(), i % 2);
            c.call(1, LOOP, p.loops(), i % 2);
        }
        double bytes = (double) p.bigBytes();
        for (int round = 1; round <= p.rounds(); round++) {
            long[] ns = c.call(1, COPY, BIG_KEY, p.copies(), round % 2);
            double ours = bytes * p.copies() / ns[0];
            double peer = bytes * p.copies() / ns[1];
            r.add("shm_seq_read_gbps", ours, peer);
            long[] big = c.call(1, COPY, BIG_BIG_PAGES_KEY, p.copies(), round % 2);
            double oursBig = bytes * p.copies() / big[0];
            double peerBig = bytes * p.copies() / big[1];
            r.add("shm_seq_read_gbps@64k-pages", oursBig, peerBig);
            long[] loop = c.call(1, LOOP, p.loops(), round % 2);
            double oursLoop = bytes * p.loops() / loop[0];
            double peerLoop = bytes * p.loops() / loop[1];
            r.add("shm_seq_read_gbps@long[]", oursLoop, peerLoop);
            progress.say("round %d/%d: bulk copy ours %.2f GB/s (64 KiB pages: %.2f GB/s), MemorySegment %.2f GB/s;"
                    + " per-element loop ours %.2f GB/s, long[] %.2f GB/s", round, p.rounds(), ours, oursBig, peer,
                    oursLoop, peerLoop);
        }
    }

    /** Node 1 faults in pages node 2 just wrote, against echo calls of a page's size from node 1 to node 2. */
    private static void faults(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("shm_fault_us: node 1 reads a page node 2 just wrote (%,d faults per round), against RPC echo"
                + " calls of %d bytes to node 2", p.faults(), PAGE);
        for (int i = 0; i < p.warmups() + 1; i++) {
            c.call(1, FAULT, 2, p.faults(), i % 2);
        }
        for (int round = 1; round <= p.rounds(); round++) {
            long[] m = c.call(1, FAULT, 2, p.faults(), round % 2);
            double ours = m[0] / 1000.0;
            double rpc = m[1] / 1000.0;
            r.add("shm_fault_us", ours, rpc);
            progress.say("round %d/%d: page fault p50 ours %.1f us, rpc echo p50 %.1f us%s", round, p.rounds(), ours,
                    rpc, m[2] < p.faults() ? " (only " + m[2] + " of the reads faulted)" : "");
        }
    }


}
