package org.kerrighed.node;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.RestartOptions;
import org.kerrighed.epm.Restarted;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The process part of {@code krg demo}: a Monte Carlo estimate of pi by cluster processes, the computation of
 * {@code examples/MonteCarloPi} bundled with the node so that every node started with {@code --demo-workload} has
 * its programs. A {@link Job} process, started with {@code DISTANT_FORK} in its capabilities, spawns {@link Worker}
 * processes that the placement puts on the nodes round robin; each counts its random points of the unit square
 * that fall inside the quarter circle, a chunk of points per step (a {@link StepProgram} with {@code CAN_MIGRATE},
 * so a tool may move it between two steps), and returns the count as its result; the job adds them up. The job
 * and its workers are {@code CHECKPOINTABLE} and keep their progress in their fields, so a checkpoint of the job
 * restarts to the answer of an uninterrupted run.
 *
 * <p>A tool drives it through {@link #SERVICE}: start a job on the node it calls, list the cluster's processes
 * (as {@code ps} does), wait for a job's end, restart a job from a checkpoint. Types: ids 2070-2079 (range
 * {@code kerrighed-node.demo-pi}), registered with the node admin types.
 */
public final class PiWorkload {
    /**
     * Start a job on this node, list the cluster's processes, wait for a job this node started or restarted, or
     * restart a job from a checkpoint on this node's file system.
     */
    public enum Op {
        START, PS, WAIT, RESTART
    }

    /**
     * Ask a node to do {@code op}: START uses {@code workers} and {@code samplesPerWorker}; WAIT waits at most
     * {@code waitMillis} for job {@code pid}; RESTART restarts from {@code directory}, a checkpoint version directory
     * (or an application's directory, for its newest version) on the node.
     */
    public record Request(Op op, int workers, long samplesPerWorker, int pid, long waitMillis, String directory) {
        public Request {
            if (op == null) {
                throw new IllegalArgumentException("op: required");
            }
            if (op == Op.RESTART && directory == null) {
                throw new IllegalArgumentException("directory: required to restart");
            }
            if (op == Op.START && (workers < 1 || workers > 64 || samplesPerWorker < 1)) {
                throw new IllegalArgumentException("a job needs 1-64 workers and at least one point each, got "
                        + workers + " workers of " + samplesPerWorker + " points");
            }
            if (waitMillis < 0 || waitMillis > 600_000) {
                throw new IllegalArgumentException("waitMillis: must be in 0-600000, got " + waitMillis);
            }
        }
    }

    /** One process as {@code ps} shows it: its state letter and the CPU time its thread used. */
    public record Proc(int pid, int ppid, int node, char state, long cpuMillis, String command) {
        static Proc of(ProcessInfo i) {
            return new Proc(i.pid(), i.ppid(), i.node(), i.state().code(), i.cpuNanos() / 1_000_000, i.command());
        }
    }

    /** What the job returns: {@code hits} of {@code samples} points inside; the node of each worker, in start order. */
    public record Result(long hits, long samples, List<Integer> workerNodes) {
        public Result {
            workerNodes = new ArrayList<>(workerNodes);
        }

        public double pi() {
            return 4.0 * hits / samples;
        }
    }

    /**
     * A node's answer: the job's pid (START, WAIT, RESTART: the restarted root), the cluster's processes (PS; for
     * RESTART the restarted ones), and for WAIT the job's end ({@code exit} null while it runs) and its result (null
     * unless it exited 0).
     */
    public record Report(int node, int pid, List<Proc> processes, String exit, Result result) {
        public Report {
            processes = new ArrayList<>(processes);
        }
    }

    public static final ServiceKey<Request, Report> SERVICE = ServiceKey.of(907, "node.pi", Request.class,
            Report.class);

    private PiWorkload() {
    }

    /**
     * The capabilities a worker runs with: the defaults, {@code CAN_MIGRATE} (a tool may move it) and
     * {@code CHECKPOINTABLE}.
     */
    static final Capabilities WORKER_CAPABILITIES = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE)
            .plus(Capability.CHECKPOINTABLE);

    /** The capabilities a job runs with: the defaults, {@code DISTANT_FORK} and {@code CHECKPOINTABLE}. */
    static final Capabilities JOB_CAPABILITIES = Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)
            .plus(Capability.CHECKPOINTABLE);

    /**
     * Counts the hits among {@code samples} random points of the unit square, {@value #CHUNK} points a step; its
     * result is the count ({@code Long}). Its whole state is its fields: the points counted, the hits, and the
     * state of its generator (SplitMix64, seeded with {@code seed}). So between two steps it may move to another
     * node and go on there: a moved worker counts exactly the points, and the hits, of one that stayed.
     */
    public static final class Worker implements StepProgram {
        /** Points per step: a few milliseconds of work, the longest a move waits for the worker's safe point. */
        static final int CHUNK = 1 << 18;

        private long samples;
        private long counted;
        private long hits;
        private long random;

        private Worker() {
        }

        public Worker(long samples, long seed) {
            if (samples < 1) {
                throw new IllegalArgumentException("samples: at least 1, got " + samples);
            }
            this.samples = samples;
            this.random = seed;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            long end = Math.min(samples, counted + CHUNK);
            long h = 0;
            for (long i = counted; i < end; i++) {
                double x = nextDouble();
                double y = nextDouble();
                if (x * x + y * y < 1) {
                    h++;
                }
            }
            hits += h;
            counted = end;
            if (counted < samples) {
                return false;
            }
            ctx.setResult(hits);
            return true;
        }

        /** SplitMix64 (the generator of {@code java.util.SplittableRandom}), its state in a field. */
        private double nextDouble() {
            long z = random += 0x9e3779b97f4a7c15L;
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return ((z ^ (z >>> 31)) >>> 11) * 0x1.0p-53;
        }
    }

    /**
     * Starts {@code workers} workers wherever the placement puts them (with {@link #WORKER_CAPABILITIES}; worker
     * {@code i} seeded with {@code seed + i}), waits for all, returns a {@link Result}. Its progress is its fields
     * (the nodes of the workers started, how many ended, their hits so far), each updated between two safe points,
     * so {@code run} entered again after a restart goes on where the checkpoint found it.
     */
    public static final class Job implements Program {
        private int workers;
        private long samplesPerWorker;
        private long seed;
        private ArrayList<Integer> nodes = new ArrayList<>();
        private int ended;
        private long hits;

        private Job() {
        }

        public Job(int workers, long samplesPerWorker, long seed) {
            if (workers < 1 || samplesPerWorker < 1) {
                throw new IllegalArgumentException("a job needs at least one worker and one point each, got "
                        + workers + " workers of " + samplesPerWorker + " points");
            }
            this.workers = workers;
            this.samplesPerWorker = samplesPerWorker;
            this.seed = seed;
        }

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            while (nodes.size() < workers) {
                int i = nodes.size();
                nodes.add(ctx.spawn(new Worker(samplesPerWorker, seed + i), SpawnOptions.defaults()
                        .name("pi-worker " + i).capabilities(WORKER_CAPABILITIES)).node());
            }
            while (ended < workers) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (e.status().code() != 0) {
                    ctx.out().println("worker " + e.pid() + " " + e.status());
                    return 1;
                }
                hits += (Long) e.result();
                ended++;
            }
            ctx.setResult(new Result(hits, workers * samplesPerWorker, nodes));
            return 0;
        }
    }

    /** Registered with the node admin types (ids 2070-2079). */
    static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node.demo-pi", 2070, 2079)
                .register(2070, Op.class)
                .register(2071, Request.class)
                .register(2072, Proc.class)
                .register(2073, Result.class)
                .register(2074, Report.class)
                .register(2075, Worker.class)
                .register(2076, Job.class);
    }

    /** Registers the service on {@code node} (as {@link DemoWorkload#install} does, and with it). */
    public static void install(Node node) {
        Map<Integer, ClusterProcess> jobs = new ConcurrentHashMap<>();
        node.rpc().register(SERVICE, HandlerKind.BLOCKING, (ctx, r) -> serve(node, jobs, r));
    }

    static Report serve(Node node, Map<Integer, ClusterProcess> jobs, Request r) throws InterruptedException {
        return switch (r.op()) {
            case START -> {
                ClusterProcess job = node.epm().spawn(new Job(r.workers(), r.samplesPerWorker(), System.nanoTime()),
                        SpawnOptions.defaults().onNode(node.id()).name("pi-job").capabilities(JOB_CAPABILITIES));
                jobs.put(job.pid(), job);
                yield new Report(node.id(), job.pid(), List.of(), null, null);
            }
            case RESTART -> {
                Path version = ProcessAdmin.versionDirectory(node, Path.of(r.directory()));
                Restarted again = node.epm().restart(version, RestartOptions.defaults());
                jobs.put(again.root().pid(), again.root());
                var pids = new HashSet<>(again.pids().values());
                yield new Report(node.id(), again.root().pid(), node.epm().ps().stream()
                        .filter(p -> pids.contains(p.pid())).map(Proc::of).toList(), null, null);
            }
            case PS -> new Report(node.id(), 0, node.epm().ps().stream().map(Proc::of).toList(), null, null);
            case WAIT -> {
                ClusterProcess job = jobs.get(r.pid());
                if (job == null) {
                    throw new IllegalArgumentException("node " + node.id() + " started no pi job " + r.pid());
                }
                Optional<ExitStatus> s = job.waitFor(Duration.ofMillis(r.waitMillis()));
                if (s.isPresent()) {
                    jobs.remove(r.pid());
                }
                Result result = s.isPresent() && s.get().code() == 0 ? (Result) job.result().orElse(null) : null;
                yield new Report(node.id(), r.pid(), List.of(), s.map(ExitStatus::toString).orElse(null), result);
            }
        };
    }
}
