package org.kerrighed.node;

import org.kerrighed.ipc.ClusterCyclicBarrier;
import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SegmentStats;
import org.kerrighed.mm.SharedDoubleArray;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.util.concurrent.TimeUnit;

/**
 * Heat diffusion on a square plate (Jacobi iterations) on cluster shared memory: the workload of the stencil part
 * of {@code krg demo} and of {@code examples/HeatStencil}. The grid lives in two shared-memory segments (keys
 * {@code key} and {@code key + 1}, used in turn as source and destination); each node computes a band of rows and a
 * cluster cyclic barrier separates the iterations.
 *
 * <p>Layout, as docs/memory-model.md advises: a row is exactly one page ({@value #SIZE} doubles = 4 KiB), so a node
 * writes only the pages of its own band (no false sharing) and reads its neighbours' boundary rows: one page fault
 * each per iteration, the only traffic between nodes besides the barrier. Bands are copied in and out in bulk.
 */
public final class StencilWorkload {
    /** Cells per row and rows: one 4 KiB page of doubles per row. */
    public static final int SIZE = 512;
    /** The temperature of the top edge; the other edges are at 0. */
    public static final double HOT = 100.0;

    /** Prepare (node 0), run a band (every node), or check the result against a single-threaded run (node 0). */
    public enum Op {
        PREPARE, BAND, CHECK
    }

    /** Ask a node to do {@code op} for the plate in segments {@code key}, {@code key + 1}. */
    public record Request(Op op, long key, int band, int bands, int iterations) {
    }

    /**
     * What a node did: {@code nanos} its part took; for a band, the KDDM counters of the two segments on this
     * node; for a check, the single-threaded time and the largest difference from it.
     */
    public record Report(int node, long nanos, long faults, long invalidations, long bytesMoved, long referenceNanos,
                         double maxError) {
    }

    public static final ServiceKey<Request, Report> SERVICE = ServiceKey.of(906, "node.stencil", Request.class,
            Report.class);

    private StencilWorkload() {
    }

    /** Registered with the node admin types (ids 2011-2013). */
    static void registerTypes(TypeRegistry.Range b) {
        b.register(2011, Op.class)
                .register(2012, Request.class)
                .register(2013, Report.class);
    }

    /** Registers the service on {@code node} (as {@link DemoWorkload#install} does, and with it). */
    public static void install(Node node) {
        node.rpc().register(SERVICE, HandlerKind.BLOCKING, (ctx, r) -> serve(node, r));
    }

    static Report serve(Node node, Request r) throws Exception {
        long t0 = System.nanoTime();
        return switch (r.op()) {
            case PREPARE -> {
                prepare(node.shm(), r.key());
                yield new Report(node.id(), System.nanoTime() - t0, 0, 0, 0, 0, 0);
            }
            case BAND -> runBand(node, r.key(), r.band(), r.bands(), r.iterations());
            case CHECK -> {
                double[] grid = read(node.shm(), r.key(), r.iterations());
                long t1 = System.nanoTime();
                double[] ref = singleThreaded(r.iterations());
                long refNanos = System.nanoTime() - t1;
                remove(node.shm(), r.key());
                yield new Report(node.id(), t1 - t0, 0, 0, 0, refNanos, maxError(ref, grid));
            }
        };
    }

    /** The plate's initial state: the top edge hot, the rest cold. */
    public static double[] initial() {
        double[] g = new double[SIZE * SIZE];
        for (int c = 0; c < SIZE; c++) {
            g[c] = HOT;
        }
        return g;
    }

    /**
     * One Jacobi step of rows {@code from..to-1}: {@code src} holds rows from {@code srcFirstRow} (and must hold
     * rows {@code from-1..to} where they exist), {@code dst} receives rows from {@code dstFirstRow}. Edges stay.
     */
    public static void step(double[] src, int srcFirstRow, double[] dst, int dstFirstRow, int from, int to) {
        for (int r = from; r < to; r++) {
            int s = (r - srcFirstRow) * SIZE;
            int d = (r - dstFirstRow) * SIZE;
            if (r == 0 || r == SIZE - 1) {
                System.arraycopy(src, s, dst, d, SIZE);
                continue;
            }
            dst[d] = src[s];
            dst[d + SIZE - 1] = src[s + SIZE - 1];
            for (int c = 1; c < SIZE - 1; c++) {
                dst[d + c] = 0.25 * (src[s + c - SIZE] + src[s + c + SIZE] + src[s + c - 1] + src[s + c + 1]);
            }
        }
    }

    /** The reference: {@code iterations} steps in one thread on local arrays; returns the final grid. */
    public static double[] singleThreaded(int iterations) {
        double[] a = initial();
        double[] b = new double[a.length];
        for (int i = 0; i < iterations; i++) {
            step(a, 0, b, 0, 0, SIZE);
            double[] t = a;
            a = b;
            b = t;
        }
        return a;
    }

    /** Creates the two segments of plate {@code key} (or finds them) and writes the initial state into the first. */
    public static void prepare(SharedMemory shm, long key) {
        long bytes = (long) SIZE * SIZE * Double.BYTES;
        long first = shm.open(key, bytes, SharedMemory.CREATE | 0600);
        shm.open(key + 1, bytes, SharedMemory.CREATE | 0600);
        try (Segment s = shm.attach(first)) {
            s.asDoubleArray().copyFrom(0, initial(), 0, SIZE * SIZE);
        }
    }

    /**
     * Computes band {@code band} of {@code bands} (rows {@code SIZE*band/bands} up to the next band's first) for
     * {@code iterations} steps, meeting the other bands' nodes at barrier {@code "stencil-" + key} after each.
     */
    public static Report runBand(Node node, long key, int band, int bands, int iterations) throws Exception {
        long t0 = System.nanoTime();
        int from = SIZE * band / bands;
        int to = SIZE * (band + 1) / bands;
        int haloFrom = Math.max(0, from - 1);
        int haloTo = Math.min(SIZE, to + 1);
        double[] in = new double[(haloTo - haloFrom) * SIZE];
        double[] out = new double[(to - from) * SIZE];
        ClusterCyclicBarrier barrier = node.ipc().cyclicBarrier("stencil-" + key, bands);
        SharedMemory shm = node.shm();
        try (Segment a = shm.attach(shm.open(key, 0, 0)); Segment b = shm.attach(shm.open(key + 1, 0, 0))) {
            SharedDoubleArray[] grids = {a.asDoubleArray(), b.asDoubleArray()};
            for (int i = 0; i < iterations; i++) {
                SharedDoubleArray src = grids[i % 2];
                SharedDoubleArray dst = grids[(i + 1) % 2];
                src.copyTo((long) haloFrom * SIZE, in, 0, in.length);
                step(in, haloFrom, out, from, from, to);
                dst.copyFrom((long) from * SIZE, out, 0, out.length);
                barrier.await(60, TimeUnit.SECONDS);
            }
            SegmentStats sa = a.stats();
            SegmentStats sb = b.stats();
            return new Report(node.id(), System.nanoTime() - t0, sa.faults() + sb.faults(),
                    sa.invalidations() + sb.invalidations(), sa.bytesMoved() + sb.bytesMoved(), 0, 0);
        }
    }

    /** The grid after {@code iterations} steps (in the segment written last). */
    public static double[] read(SharedMemory shm, long key, int iterations) {
        double[] grid = new double[SIZE * SIZE];
        try (Segment s = shm.attach(shm.open(key + iterations % 2, 0, 0))) {
            s.asDoubleArray().copyTo(0, grid, 0, grid.length);
        }
        return grid;
    }

    /** Removes plate {@code key}'s segments (freed once the last node detached). */
    public static void remove(SharedMemory shm, long key) {
        shm.remove(shm.open(key, 0, 0));
        shm.remove(shm.open(key + 1, 0, 0));
    }

    /** The largest difference between two grids. */
    public static double maxError(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
