package org.kerrighed.examples;

import org.kerrighed.ipc.ClusterCyclicBarrier;
import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SharedDoubleArray;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Heat diffusion on a square plate (Jacobi iterations), split across the nodes of a cluster through shared
 * memory: the grid lives in a cluster shared-memory segment (kerrighed-mm), each node computes a band of rows,
 * and a cluster cyclic barrier (kerrighed-ipc) separates the iterations. The result is checked against a
 * single-threaded run and the speedup printed.
 *
 * <p>Layout, as docs/memory-model.md advises: one grid row is exactly one page (512 doubles = 4 KiB), so each
 * node writes only pages of its own band (no false sharing) and reads its neighbours' boundary rows (one page
 * fault each per iteration, the only traffic between nodes). Two grids alternate as source and destination;
 * each worker copies its rows in and out in bulk.
 */
public final class HeatStencil {
    /** Cells per row: one 4 KiB page of doubles. */
    public static final int SIZE = 512;
    static final double HOT = 100.0;

    /** What a run computed: the grid, its time, and the work done. */
    public record Result(double[] grid, long nanos) {
    }

    private HeatStencil() {
    }

    /** The plate's initial state: the top edge hot, the rest cold. */
    static double[] initial() {
        double[] g = new double[SIZE * SIZE];
        for (int c = 0; c < SIZE; c++) {
            g[c] = HOT;
        }
        return g;
    }

    /** One Jacobi step of rows {@code from..to-1} from {@code src} (rows {@code from-1..to}) into {@code dst}. */
    static void step(double[] src, int srcFirstRow, double[] dst, int dstFirstRow, int from, int to) {
        for (int r = from; r < to; r++) {
            int s = (r - srcFirstRow) * SIZE;
            int d = (r - dstFirstRow) * SIZE;
            if (r == 0 || r == SIZE - 1) {
                System.arraycopy(src, s, dst, d, SIZE);        // fixed edges
                continue;
            }
            dst[d] = src[s];
            dst[d + SIZE - 1] = src[s + SIZE - 1];
            for (int c = 1; c < SIZE - 1; c++) {
                dst[d + c] = 0.25 * (src[s + c - SIZE] + src[s + c + SIZE] + src[s + c - 1] + src[s + c + 1]);
            }
        }
    }

    /** The reference: {@code iterations} steps in one thread on local arrays. */
    public static Result singleThreaded(int iterations) {
        long t0 = System.nanoTime();
        double[] a = initial();
        double[] b = new double[a.length];
        for (int i = 0; i < iterations; i++) {
            step(a, 0, b, 0, 0, SIZE);
            double[] t = a;
            a = b;
            b = t;
        }
        return new Result(a, System.nanoTime() - t0);
    }

    /**
     * Runs {@code iterations} steps on the cluster: one worker thread per node, each on its band of rows, over two
     * shared segments {@code key} and {@code key + 1}. Returns the grid read back on the first node.
     */
    public static Result onCluster(List<Node> nodes, long key, int iterations) throws Exception {
        int n = nodes.size();
        long bytes = (long) SIZE * SIZE * Double.BYTES;
        SharedMemory first = nodes.getFirst().shm();
        long[] ids = {first.open(key, bytes, SharedMemory.CREATE | 0600), first.open(key + 1, bytes,
                SharedMemory.CREATE | 0600)};
        try (Segment init = first.attach(ids[0])) {
            init.asDoubleArray().copyFrom(0, initial(), 0, SIZE * SIZE);
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < n; w++) {
                Node node = nodes.get(w);
                int from = SIZE * w / n;
                int to = SIZE * (w + 1) / n;
                done.add(pool.submit(() -> {
                    worker(node, ids, n, from, to, iterations, key);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        long nanos = System.nanoTime() - t0;
        double[] grid = new double[SIZE * SIZE];
        try (Segment result = first.attach(ids[iterations % 2])) {
            result.asDoubleArray().copyTo(0, grid, 0, grid.length);
        }
        first.remove(ids[0]);
        first.remove(ids[1]);
        return new Result(grid, nanos);
    }

    /** One node's band: per iteration, read the band and its halo rows, compute, write the band, then the barrier. */
    private static void worker(Node node, long[] ids, int parties, int from, int to, int iterations, long key)
            throws Exception {
        ClusterCyclicBarrier barrier = node.ipc().cyclicBarrier("heat-stencil-" + key, parties);
        int haloFrom = Math.max(0, from - 1);
        int haloTo = Math.min(SIZE, to + 1);
        double[] in = new double[(haloTo - haloFrom) * SIZE];
        double[] out = new double[(to - from) * SIZE];
        try (Segment a = node.shm().attach(ids[0]); Segment b = node.shm().attach(ids[1])) {
            SharedDoubleArray[] grids = {a.asDoubleArray(), b.asDoubleArray()};
            for (int i = 0; i < iterations; i++) {
                SharedDoubleArray src = grids[i % 2];
                SharedDoubleArray dst = grids[(i + 1) % 2];
                src.copyTo((long) haloFrom * SIZE, in, 0, in.length);
                step(in, haloFrom, out, from, from, to);
                dst.copyFrom((long) from * SIZE, out, 0, out.length);
                barrier.await();
            }
        }
    }

    /** The largest difference between two grids. */
    public static double maxError(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    public static void main(String[] args) throws Exception {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        byte[] secretBytes = new byte[32];
        new SecureRandom().nextBytes(secretBytes);
        String secret = Base64.getEncoder().encodeToString(secretBytes);
        String cluster = "stencil-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        Path storage = Files.createTempDirectory("heat-stencil-");
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed)));
            }
            Result ref = singleThreaded(iterations);
            Result cl = onCluster(nodes, 0x57e4c11L, iterations);
            System.out.printf("heat diffusion, %dx%d plate, %d iterations, %d nodes (one band of rows each)%n",
                    SIZE, SIZE, iterations, nodes.size());
            System.out.printf("  single-threaded: %.1f ms; cluster: %.1f ms; speedup %.2f%n", ref.nanos() / 1e6,
                    cl.nanos() / 1e6, (double) ref.nanos() / cl.nanos());
            double err = maxError(ref.grid(), cl.grid());
            System.out.printf("  same result as the single-threaded run: %s (largest difference %.3g)%n",
                    err == 0 ? "yes" : "NO", err);
            System.out.printf("  10 rows below the middle of the hot edge: %.4f degrees%n",
                    cl.grid()[10 * SIZE + SIZE / 2]);
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
