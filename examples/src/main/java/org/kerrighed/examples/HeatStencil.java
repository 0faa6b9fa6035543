package org.kerrighed.examples;

import org.kerrighed.mm.SharedMemory;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.StencilWorkload;
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
 * memory: the grid lives in cluster shared-memory segments (kerrighed-mm), each node computes a band of rows, and
 * a cluster cyclic barrier (kerrighed-ipc) separates the iterations. The result is checked against a
 * single-threaded run and the speedup printed. The kernel, the layout (one grid row per 4 KiB page, so each node
 * writes only its own pages) and the per-node band loop are {@link StencilWorkload}'s, which {@code krg demo} runs
 * on node JVMs; this program runs it on three nodes in one JVM.
 */
public final class HeatStencil {
    /** What a run computed: the grid, and how long it took. */
    public record Result(double[] grid, long nanos) {
    }

    private HeatStencil() {
    }

    /** The reference: {@code iterations} steps in one thread on local arrays. */
    public static Result singleThreaded(int iterations) {
        long t0 = System.nanoTime();
        double[] grid = StencilWorkload.singleThreaded(iterations);
        return new Result(grid, System.nanoTime() - t0);
    }

    /**
     * Runs {@code iterations} steps on the cluster: one worker thread per node, each on its band of rows, over the
     * shared segments {@code key} and {@code key + 1}. Returns the grid read back on the first node.
     */
    public static Result onCluster(List<Node> nodes, long key, int iterations) throws Exception {
        int n = nodes.size();
        SharedMemory first = nodes.getFirst().shm();
        StencilWorkload.prepare(first, key);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int band = 0; band < n; band++) {
                Node node = nodes.get(band);
                int b = band;
                done.add(pool.submit(() -> StencilWorkload.runBand(node, key, b, n, iterations)));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        long nanos = System.nanoTime() - t0;
        double[] grid = StencilWorkload.read(first, key, iterations);
        StencilWorkload.remove(first, key);
        return new Result(grid, nanos);
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
            int size = StencilWorkload.SIZE;
            System.out.printf("heat diffusion, %dx%d plate, %d iterations, %d nodes (one band of rows each)%n",
                    size, size, iterations, nodes.size());
            System.out.printf("  single-threaded: %.1f ms; cluster: %.1f ms; speedup %.2f%n", ref.nanos() / 1e6,
                    cl.nanos() / 1e6, (double) ref.nanos() / cl.nanos());
            double err = StencilWorkload.maxError(ref.grid(), cl.grid());
            System.out.printf("  same result as the single-threaded run: %s (largest difference %.3g)%n",
                    err == 0 ? "yes" : "NO", err);
            System.out.printf("  10 rows below the middle of the hot edge: %.4f degrees%n",
                    cl.grid()[10 * size + size / 2]);
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
