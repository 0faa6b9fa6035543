package org.kerrighed.examples;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A Monte Carlo estimate of pi computed by cluster processes, as a shell user of a Kerrighed cluster would run a
 * parallel job: a {@link Job} process starts {@link Worker} processes that the cluster places on its nodes (round
 * robin), each counts how many of its random points of the unit square fall inside the quarter circle and returns
 * the count as its result, and the job adds the counts up: pi is about 4 × hits / points.
 *
 * <p>Shows what an application of the process layer does: its programs are registered types (they travel to the
 * node they run on as objects; every node registers {@link #TYPES}); the job needs {@code DISTANT_FORK} in its
 * capabilities to start children on other nodes (Kerrighed's defaults keep a process's children on its node); a
 * worker calls {@link ProcessContext#safepoint()} in its loop, so a signal (KILL from {@code krg kill}, STOP...)
 * reaches it while it computes; results come back with the exit notices ({@link ProcessContext#setResult},
 * {@link ProcessContext#waitAny}).
 *
 * <p>Run {@link #main} (see examples/README.md): it starts three real nodes in this JVM on loopback. {@code krg
 * demo} runs the same computation across separate node JVMs ({@code org.kerrighed.node.PiWorkload}).
 */
public final class MonteCarloPi {
    /**
     * What the job returns: {@code hits} of {@code samples} points fell inside the quarter circle; the worker that
     * was started {@code i}-th ran on node {@code workerNodes.get(i)}.
     */
    public record Estimate(long hits, long samples, List<Integer> workerNodes) {
        public Estimate {
            workerNodes = new ArrayList<>(workerNodes);
        }

        public double pi() {
            return 4.0 * hits / samples;
        }
    }

    /** This example's types, in its own id range: the programs and the job's result (every node registers them). */
    public static final TypeRegistrar TYPES = b -> b.range("monte-carlo-pi-example", 20_030, 20_039)
            .register(20_030, Estimate.class)
            .register(20_031, Job.class)
            .register(20_032, Worker.class);

    /** How often a worker reaches a safe point: every 65,536 points (well under a millisecond). */
    static final int SAFEPOINT_EVERY = 1 << 16;

    private MonteCarloPi() {
    }

    /** Counts the hits among {@code samples} points drawn from {@code seed}; sets the count ({@code Long}) as result. */
    public record Worker(long samples, long seed) implements Program {
        @Override
        public int run(ProcessContext ctx) {
            ctx.setResult(hits(samples, seed, ctx::safepoint));
            return 0;
        }
    }

    /**
     * Starts {@code workers} workers of {@code samplesPerWorker} points each (seeds {@code seed}, {@code seed + 1},
     * ...) wherever the cluster places them, waits for all of them and sets the {@link Estimate} as result. Exits
     * with 1 if a worker failed (the others run on as orphans).
     */
    public record Job(int workers, long samplesPerWorker, long seed) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            List<Integer> nodes = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                ClusterProcess w = ctx.spawn(new Worker(samplesPerWorker, seed + i),
                        SpawnOptions.defaults().name("pi-worker " + i));
                nodes.add(w.node());
            }
            long hits = 0;
            for (int i = 0; i < workers; i++) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (e.status().code() != 0) {
                    ctx.out().println("worker " + e.pid() + " " + e.status());
                    return 1;
                }
                hits += (Long) e.result();
            }
            Estimate estimate = new Estimate(hits, workers * samplesPerWorker, nodes);
            ctx.out().println(String.format("pi ~ %.6f from %,d points, %d workers on nodes %s", estimate.pi(),
                    estimate.samples(), workers, nodes));
            ctx.setResult(estimate);
            return 0;
        }
    }

    /** The hits among {@code samples} points of the unit square drawn from {@code seed}; runs {@code safepoint} often. */
    static long hits(long samples, long seed, Runnable safepoint) {
        SplittableRandom random = new SplittableRandom(seed);
        long hits = 0;
        for (long i = 0; i < samples; i++) {
            if (i % SAFEPOINT_EVERY == 0) {
                safepoint.run();
            }
            double x = random.nextDouble();
            double y = random.nextDouble();
            if (x * x + y * y < 1) {
                hits++;
            }
        }
        return hits;
    }

    /**
     * Starts a job on {@code node}, from outside any process, with {@code DISTANT_FORK} added to the default
     * capabilities so that it may start its workers on other nodes. The job leads a new process group (its pid):
     * {@code killGroup(job.pid(), KILL)} ends it and its workers.
     */
    public static ClusterProcess start(Node node, int workers, long samplesPerWorker, long seed) {
        return node.epm().spawn(new Job(workers, samplesPerWorker, seed), SpawnOptions.defaults().onNode(node.id())
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)).name("pi-job"));
    }

    /**
     * Runs a job on {@code node} and returns its estimate.
     *
     * @throws IllegalStateException when the job failed or did not end within {@code timeout}
     */
    public static Estimate run(Node node, int workers, long samplesPerWorker, long seed, Duration timeout)
            throws InterruptedException {
        ClusterProcess job = start(node, workers, samplesPerWorker, seed);
        ExitStatus s = job.waitFor(timeout).orElseThrow(() -> new IllegalStateException("the pi job (process "
                + job.pid() + ") did not end within " + timeout));
        if (s.code() != 0) {
            throw new IllegalStateException("the pi job (process " + job.pid() + ") " + s);
        }
        return (Estimate) job.result().orElseThrow();
    }

    public static void main(String[] args) throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "pi-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        Path storage = Files.createTempDirectory("monte-carlo-pi-");
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed), TYPES));
            }
            long t0 = System.nanoTime();
            Estimate e = run(nodes.getFirst(), 6, 5_000_000, 42, Duration.ofMinutes(2));
            System.out.printf("pi is about %.6f (off by %.6f): %,d of %,d points inside, counted by 6 processes on"
                            + " nodes %s in %.1f s%n", e.pi(), Math.abs(e.pi() - Math.PI), e.hits(), e.samples(),
                    e.workerNodes(), (System.nanoTime() - t0) / 1e9);
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
