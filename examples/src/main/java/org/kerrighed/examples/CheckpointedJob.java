package org.kerrighed.examples;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.CheckpointOptions;
import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.PeriodicCheckpoint;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A long job that survives the loss of a node: it is checkpointed periodically, the node running part of it is
 * killed (SIGKILL of its JVM), and it is restarted on the survivors from its last checkpoint, to the answer an
 * uninterrupted run gives.
 *
 * <p>The job counts the primes below n. A {@link Job} process spawns {@link Part}s that the cluster places round
 * robin (the job has {@code DISTANT_FORK}); each sieves its range one block of {@value #BLOCK} numbers a step (a
 * {@link StepProgram}, so it can be frozen between two steps) and returns its count. Both keep their progress in
 * their fields, which is what a checkpoint saves and a restart goes on from; both are {@code CHECKPOINTABLE} (the
 * parts inherit it from the job). The node that starts the job checkpoints it every period with
 * {@link org.kerrighed.epm.Epm#checkpointEvery} and {@code restartOnFailure}: when a node that ran one of its
 * processes fails, it kills the processes still alive elsewhere and restarts the last checkpoint on the live nodes,
 * with the same pids.
 *
 * <p>The job's root runs on the node that is killed. A root on a surviving node sees its parts on the failed node
 * die (children killed with the reason {@code node N failed}) at about the time the periodic checkpoint learns of
 * the failure; this job ends with an error on a failed part, and an end that comes first is final.
 *
 * <p>Run {@link #main} (see examples/README.md): node 0 runs in this JVM (it checkpoints and survives), nodes 1 and 2
 * each in a JVM of their own (this class's {@code node} mode), and node 2's JVM is SIGKILLed once the first
 * checkpoint is written.
 */
public final class CheckpointedJob {
    /** Numbers a part sieves per step. */
    public static final int BLOCK = 1 << 20;

    /** This example's types, in its own id range (every node registers them: the programs travel). */
    public static final TypeRegistrar TYPES = b -> b.range("checkpointed-job-example", 20_040, 20_049)
            .register(20_040, Part.class)
            .register(20_041, Job.class);

    private CheckpointedJob() {
    }

    /**
     * Counts the primes in [from, to), {@value #BLOCK} numbers a step, pausing {@code pauseMillis} before each step
     * (a stand-in for a longer computation: the job lasts some seconds on any machine). Its result is the count
     * ({@code Long}).
     */
    public static final class Part implements StepProgram {
        private long next;
        private long to;
        private long count;
        private long pauseMillis;

        private Part() {
        }

        public Part(long from, long to, long pauseMillis) {
            this.next = from;
            this.to = to;
            this.pauseMillis = pauseMillis;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(pauseMillis));
            long end = Math.min(to, next + BLOCK);
            count += primesIn(next, end);
            next = end;
            if (next < to) {
                return false;
            }
            ctx.setResult(count);
            return true;
        }
    }

    /**
     * Splits [0, n) into {@code parts} parts, starts them wherever the cluster places them and adds up their counts;
     * exits 1 if a part failed. Its progress is its fields (parts started, parts ended, primes so far), each changed
     * between two safe points (its spawns and waits), so {@code run} entered again after a restart goes on where the
     * checkpoint found it.
     */
    public static final class Job implements Program {
        private long n;
        private int parts;
        private long pauseMillis;
        private int started;
        private int ended;
        private long primes;

        private Job() {
        }

        public Job(long n, int parts, Duration pause) {
            if (n < 2 || parts < 1) {
                throw new IllegalArgumentException("a job counts below n >= 2 in at least one part, got n=" + n
                        + ", " + parts + " parts");
            }
            this.n = n;
            this.parts = parts;
            this.pauseMillis = pause.toMillis();
        }

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            while (started < parts) {
                int k = started;
                ctx.spawn(new Part(n * k / parts, n * (k + 1) / parts, pauseMillis),
                        SpawnOptions.defaults().name("primes-part " + k));
                started++;
            }
            while (ended < parts) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (e.status().code() != 0) {
                    ctx.out().println("part " + e.pid() + " " + e.status());
                    return 1;
                }
                primes += (Long) e.result();
                ended++;
            }
            ctx.setResult(primes);
            return 0;
        }
    }

    /** The primes in [from, to) (to at most 2^62): a sieve of the range by the primes up to its square root. */
    static long primesIn(long from, long to) {
        if (to <= 2 || from >= to) {
            return 0;
        }
        long lo = Math.max(from, 2);
        int root = (int) Math.sqrt((double) (to - 1));
        while ((long) (root + 1) * (root + 1) <= to - 1) {
            root++;
        }
        boolean[] small = new boolean[root + 1];            // true: composite
        boolean[] range = new boolean[(int) (to - lo)];
        for (int p = 2; p <= root; p++) {
            if (small[p]) {
                continue;
            }
            for (long m = (long) p * p; m <= root; m += p) {
                small[(int) m] = true;
            }
            long first = Math.max((long) p * p, (lo + p - 1) / p * p);
            for (long m = first; m < to; m += p) {
                range[(int) (m - lo)] = true;
            }
        }
        long count = 0;
        for (boolean composite : range) {
            if (!composite) {
                count++;
            }
        }
        return count;
    }

    /** What an uninterrupted run finds: the primes below {@code n}, counted block by block in this thread. */
    public static long primesBelow(long n) {
        long count = 0;
        for (long from = 0; from < n; from += BLOCK) {
            count += primesIn(from, Math.min(n, from + BLOCK));
        }
        return count;
    }

    /**
     * How a run went: the job's answer and its end, the checkpoint written last before the crash, the last one
     * written, and how many times the job was restarted.
     */
    public record Outcome(long primes, ExitStatus end, CheckpointReport beforeCrash, CheckpointReport last,
                          int restarts) {
    }

    /**
     * Starts a job of {@code parts} parts counting the primes below {@code n} with its root on node {@code rootNode},
     * checkpointed by {@code node} every {@code period} with restart on failure; gives the first checkpoint written
     * to {@code crash}, which kills a node; waits for the job's end.
     *
     * @throws TimeoutException      when no checkpoint was written, or the job did not end, within {@code timeout}
     * @throws IllegalStateException when the job ended with an error
     */
    public static Outcome run(Node node, long n, int parts, Duration pause, int rootNode, Duration period,
                              Consumer<CheckpointReport> crash, Duration timeout) throws Exception {
        ClusterProcess job = node.epm().spawn(new Job(n, parts, pause), SpawnOptions.defaults().onNode(rootNode)
                .name("primes-job").capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)
                        .plus(Capability.CHECKPOINTABLE)));
        long deadline = System.nanoTime() + timeout.toNanos();
        try (PeriodicCheckpoint pc = node.epm().checkpointEvery(job, period, CheckpointOptions.defaults(), true)) {
            while (pc.last().isEmpty()) {
                if (System.nanoTime() > deadline || pc.onEnd().isDone()) {
                    throw new TimeoutException("no checkpoint of the job was written within " + timeout
                            + (pc.onEnd().isDone() ? " (it ended first: " + pc.onEnd().get() + ")" : ""));
                }
                Thread.sleep(10);
            }
            CheckpointReport beforeCrash = pc.last().get();
            crash.accept(beforeCrash);
            ExitStatus end = pc.onEnd().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (end.code() != 0) {
                throw new IllegalStateException("the job (process " + job.pid() + ") " + end);
            }
            return new Outcome((Long) pc.root().result().orElseThrow(), end, beforeCrash, pc.last().orElseThrow(),
                    pc.restarts());
        }
    }

    /** A node of the example's cluster on loopback, its secret in {@code secretFile}. */
    static NodeConfig config(String cluster, Path secretFile, Path storage, int id, HostAndPort seed) {
        NodeConfig.Builder b = NodeConfig.builder().clusterName(cluster).secretFile(secretFile).nodeId(id)
                .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                .storageDir(storage.resolve("node-" + id)).jmx(false);
        if (seed != null) {
            b.seeds(List.of(seed));
        }
        return b.build();
    }

    /**
     * Starts node {@code id} in a JVM of its own ({@code node} mode of {@link #main}), joining through {@code seed};
     * returns once it is online.
     */
    static ChildJvm startNodeJvm(String cluster, Path secretFile, Path dir, int id, HostAndPort seed)
            throws Exception {
        ChildJvm j = ChildJvm.start("node-" + id, CheckpointedJob.class.getName(),
                List.of("-Xmx256m", "-XX:+UseSerialGC"),
                List.of("node", cluster, secretFile.toString(), dir.toString(), Integer.toString(id), seed.toString()),
                dir);
        j.awaitLine(l -> l.startsWith("ONLINE " + id), Duration.ofSeconds(60));
        return j;
    }

    /** The {@code node} mode: {@code node CLUSTER SECRET-FILE DIR ID SEED}; serves until its parent JVM ends. */
    private static void serveNode(String[] args) throws InterruptedException {
        ChildJvm.exitWhenParentDies();
        int id = Integer.parseInt(args[4]);
        Node node = Kerrighed.join(config(args[1], Path.of(args[2]), Path.of(args[3]), id,
                HostAndPort.parse(args[5])), TYPES);
        System.out.println("ONLINE " + id + " " + node.rpc().address());
        while (!node.awaitStop(Duration.ofSeconds(1))) {
            // serves until stopped or killed
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("node")) {
            serveNode(args);
            return;
        }
        long n = 1_000_000_000L;
        int parts = 6;
        Path dir = Files.createTempDirectory("checkpointed-job-");
        Path secretFile = Files.createFile(dir.resolve("secret"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.writeString(secretFile, Base64.getEncoder().encodeToString(key));
        String cluster = "ckpt-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        Map<Integer, ChildJvm> jvms = new TreeMap<>();
        try (Node node = Kerrighed.join(config(cluster, secretFile, dir, 0, null), TYPES)) {
            for (int id = 1; id <= 2; id++) {
                jvms.put(id, startNodeJvm(cluster, secretFile, dir, id, node.rpc().address()));
            }
            System.out.printf("3 nodes: node 0 in this JVM, nodes 1 and 2 in JVMs of their own (logs and checkpoints"
                    + " in %s)%ncounting the primes below %,d: a job process on node 2 with %d parts placed round"
                    + " robin,%ncheckpointed by node 0 every second; node 2's JVM is killed once a checkpoint is"
                    + " written%n", dir, n, parts);
            long t0 = System.nanoTime();
            Outcome o = run(node, n, parts, Duration.ofMillis(20), 2, Duration.ofSeconds(1), saved -> {
                ChildJvm victim = jvms.get(2);
                System.out.printf("[%4.1fs] checkpoint v%d written: %d processes on nodes %s, %,d bytes%n"
                                + "[%4.1fs] SIGKILL to node 2 (JVM pid %d)%n", seconds(t0), saved.version(),
                        saved.pids().size(), saved.nodes(), saved.bytes(), seconds(t0), victim.pid());
                victim.kill();
            }, Duration.ofMinutes(5));
            System.out.printf("[%4.1fs] the job ended (%s), restarted %d time(s) from its last checkpoint before the"
                            + " kill: %,d primes below %,d%n", seconds(t0), o.end(), o.restarts(), o.primes(), n);
            long expected = primesBelow(n);
            System.out.printf("an uninterrupted count in one thread: %,d primes: %s%n", expected,
                    expected == o.primes() ? "the same answer" : "DIFFERENT");
        } finally {
            for (ChildJvm j : jvms.values()) {
                j.terminate(Duration.ofSeconds(3));
            }
        }
    }
}
