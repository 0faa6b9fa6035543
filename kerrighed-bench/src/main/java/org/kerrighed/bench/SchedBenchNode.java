package org.kerrighed.bench;

import com.hazelcast.cluster.Member;
import com.hazelcast.config.Config;
import com.hazelcast.core.ExecutionCallback;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.epm.testing.TestJars;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.scheduler.ClusterScheduler;
import org.kerrighed.scheduler.NodeReport;
import org.kerrighed.scheduler.NodeSet;
import org.kerrighed.scheduler.ProcessSet;
import org.kerrighed.scheduler.SchedulerStats;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One node of {@code krg bench sched}, in a JVM of its own (the benchmark pins each to a CPU core of its own): a
 * Kerrighed node, whose scheduler places and balances the benchmark's {@link Work} processes, and, as the peer, a
 * Hazelcast member of a separate cluster, whose executor service runs the same work as {@link WorkTask}s. The
 * benchmark's JVM steers the nodes through {@link #CONTROL}; batches are launched and timed here, on platform threads.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- HZ-CLUSTER HZ-SEED|- STORAGE-DIR}. Prints
 * {@code READY node-id rpc-address hazelcast-address}.
 */
public final class SchedBenchNode {
    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(966, "bench.sched.control", long[].class,
            long[].class);
    static final int STATUS = 0;        // -> kddm members, hazelcast members, node id, processors this JVM sees
    static final int CALIBRATE = 1;     // step nanos -> iterations per step, CPU nanos of a million iterations
    static final int SCHEDULER = 2;     // DEFAULTS|CLEAR -> configuration version, nanos until every node applied it
    static final int RUN_OURS = 3;      // ANY|LOCAL, iterations per step, steps of each process... -> see batch()
    static final int RUN_PEER = 4;      // iterations per step, steps of each task... -> see tasks()
    static final int PREPARE_SWAP = 5;  // versions -> nothing: plugin JARs built, the probe the swapped policy reads
    static final int SWAP = 6;          // version -> see swap()

    static final int DEFAULTS = 1;
    static final int CLEAR = 0;
    static final int ANY = 0;
    static final int LOCAL = 1;

    /** The benchmark's types (an application's range: every node registers them, tools need not). */
    static final TypeRegistrar TYPES = b -> b.range("kerrighed-bench.sched", 29_020, 29_029)
            .register(29_020, Work.class);

    static final Capabilities MIGRATABLE = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE);
    static final String PLUGIN = "bench-swap";
    static final String SWAP_POLICY = "bench_swap";
    static final String SWAP_PROBE = "benchtick";
    static final long SWAP_PROBE_MILLIS = 100;
    private static final String EXECUTOR = "bench-sched-executor";
    private static final int HZ_FACTORY = 29_020;
    private static final int EXECUTOR_THREADS = 64;
    private static final Duration BATCH_LIMIT = Duration.ofMinutes(5);
    private static final Duration APPLY_LIMIT = Duration.ofSeconds(30);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** Where the peer's tasks and the calibration leave their arithmetic's result, so the JIT keeps it. */
    private static volatile long sink;

    /** The CPU-bound arithmetic of a step: {@code n} rounds of a 64-bit LCG mixed with a shift (no closed form). */
    static long spin(long x, long n) {
        for (long i = 0; i < n; i++) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            x ^= x >>> 29;
        }
        return x;
    }

    /**
     * The benchmark's process: {@code steps} steps of {@code iterations} rounds of {@link #spin} each (a fixed amount
     * of arithmetic, so a process sharing its core takes longer, not less work). It may move between steps. It counts
     * the CPU time of its steps (its thread's, on every node it ran on) and exits with it as its result.
     */
    static final class Work implements StepProgram {
        private int steps;
        private long iterations;
        private int done;
        private long cpuNanos;
        private long state;

        private Work() {
        }

        Work(int steps, long iterations) {
            this.steps = steps;
            this.iterations = iterations;
            this.state = steps;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            long c0 = THREADS.getCurrentThreadCpuTime();
            state = spin(state, iterations);
            cpuNanos += THREADS.getCurrentThreadCpuTime() - c0;
            if (++done < steps) {
                return false;
            }
            ctx.setResult(cpuNanos);
            return true;
        }
    }

    /**
     * The peer's task: the same steps of arithmetic as {@link Work}, in one call; returns the CPU time of its steps.
     * Serialized as Hazelcast recommends for speed (an identified factory).
     */
    static final class WorkTask implements java.util.concurrent.Callable<Long>, IdentifiedDataSerializable {
        private int steps;
        private long iterations;

        WorkTask() {
        }

        WorkTask(int steps, long iterations) {
            this.steps = steps;
            this.iterations = iterations;
        }

        @Override
        public Long call() {
            long cpu = 0;
            long x = steps;
            for (int i = 0; i < steps; i++) {
                long c0 = THREADS.getCurrentThreadCpuTime();
                x = spin(x, iterations);
                cpu += THREADS.getCurrentThreadCpuTime() - c0;
            }
            sink = x;
            return cpu;
        }

        @Override
        public int getFactoryId() {
            return HZ_FACTORY;
        }

        @Override
        public int getClassId() {
            return 1;
        }

        @Override
        public void writeData(ObjectDataOutput out) throws java.io.IOException {
            out.writeInt(steps);
            out.writeLong(iterations);
        }

        @Override
        public void readData(ObjectDataInput in) throws java.io.IOException {
            steps = in.readInt();
            iterations = in.readLong();
        }
    }

    private final Node node;
    private final HazelcastInstance hz;
    private Path plugins;

    private SchedBenchNode(Node node, HazelcastInstance hz) {
        this.node = node;
        this.hz = hz;
    }

    /**
     * The peer's member: Hazelcast's default failure detection (a member whose core is busy with a batch may be slow
     * to answer heartbeats; the executor does not need fast detection), joining without the pre-join wait, the
     * task's factory, and an executor with enough threads to run every task of a batch at once (as every process of
     * a batch runs at once).
     */
    static Config hazelcastConfig(String cluster, String seed) {
        Config c = HazelcastPeer.config(cluster, false, seed);
        c.setProperty("hazelcast.wait.seconds.before.join", "0");
        c.setProperty("hazelcast.max.wait.seconds.before.join", "0");
        c.getSerializationConfig().addDataSerializableFactory(HZ_FACTORY, id -> new WorkTask());
        c.getExecutorConfig(EXECUTOR).setPoolSize(EXECUTOR_THREADS);
        return c;
    }

    public static void main(String[] args) throws Exception {
        PairedNode p = PairedNode.start(args, SchedBenchNode::hazelcastConfig, TYPES);
        SchedBenchNode n = new SchedBenchNode(p.node(), p.hz());
        p.node().rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        p.serve();
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, hz.getCluster().getMembers().size(), node.id(),
                    Runtime.getRuntime().availableProcessors()};
            case CALIBRATE -> PlatformThreads.run("bench-sched-calibrate", () -> calibrate(a[1]));
            case SCHEDULER -> PlatformThreads.run("bench-sched-config", () -> configure((int) a[1]));
            case RUN_OURS -> PlatformThreads.run("bench-sched-ours", () -> batch((int) a[1] == LOCAL, a[2],
                    steps(a, 3)));
            case RUN_PEER -> PlatformThreads.run("bench-sched-peer", () -> tasks(a[1], steps(a, 2)));
            case PREPARE_SWAP -> PlatformThreads.run("bench-sched-swap", () -> prepareSwap((int) a[1]));
            case SWAP -> PlatformThreads.run("bench-sched-swap", () -> swap((int) a[1]));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    private static int[] steps(long[] a, int from) {
        return Arrays.stream(a, from, a.length).mapToInt(Math::toIntExact).toArray();
    }

    /**
     * How many rounds of {@link #spin} take {@code stepNanos} of this thread's CPU time: the fastest of 20 timed runs
     * of a million rounds, after 200 untimed ones (the loop is compiled by then). Returns that count and the CPU
     * nanoseconds of a million rounds.
     */
    private long[] calibrate(long stepNanos) {
        long x = 1;
        for (int i = 0; i < 200; i++) {
            x = spin(x, 1_000_000);
        }
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long c0 = THREADS.getCurrentThreadCpuTime();
            x = spin(x, 1_000_000);
            best = Math.min(best, THREADS.getCurrentThreadCpuTime() - c0);
        }
        sink = x;
        return new long[]{Math.max(1, stepNanos * 1_000_000 / Math.max(1, best)), best};
    }

    /** Clears the scheduler or installs the defaults, and waits until every node applied it. */
    private long[] configure(int mode) throws InterruptedException {
        ClusterScheduler s = node.scheduler();
        long t0 = System.nanoTime();
        long v = mode == DEFAULTS ? s.installDefaults() : s.clear();
        if (!s.awaitApplied(v, APPLY_LIMIT)) {
            throw new IllegalStateException("scheduler configuration " + v + " not applied on every node within "
                    + APPLY_LIMIT);
        }
        return new long[]{v, System.nanoTime() - t0};
    }

    /**
     * Starts a {@link Work} process per entry of {@code steps} from this node, all at once, allowed to migrate; with
     * {@code local} on this node, else on the node placement picks. Returns, in nanoseconds, the makespan (the first
     * spawn until the last exit notice reached this node) and the sum of the processes' CPU time; then how many
     * started on this node, how many moves the nodes' schedulers made meanwhile (completed, then failed), and the
     * time the spawns took.
     */
    private long[] batch(boolean local, long iterations, int[] steps) throws Exception {
        SpawnOptions options = SpawnOptions.defaults().capabilities(MIGRATABLE);
        if (local) {
            options = options.onNode(node.id());
        }
        long[] before = moves();
        AtomicLongArray ends = new AtomicLongArray(steps.length);
        List<ClusterProcess> ps = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < steps.length; i++) {
            ClusterProcess p = node.epm().spawn(new Work(steps[i], iterations), options);
            int k = i;
            p.onExit().thenRun(() -> ends.set(k, System.nanoTime()));
            ps.add(p);
        }
        long spawned = System.nanoTime() - t0;
        long deadline = t0 + BATCH_LIMIT.toNanos();
        long cpu = 0;
        int here = 0;
        for (ClusterProcess p : ps) {
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            ExitStatus s = p.waitFor(left).orElseThrow(() -> new IllegalStateException("process " + p.pid()
                    + " did not exit within " + BATCH_LIMIT + " of the batch's start"));
            if (s.code() != 0 || !(p.result().orElse(null) instanceof Long c)) {
                throw new IllegalStateException("process " + p.pid() + " ended with " + s + " and result "
                        + p.result().orElse(null) + "; expected exit code 0 and its CPU time");
            }
            cpu += c;
            here += p.node() == node.id() ? 1 : 0;
        }
        long end = 0;
        for (int i = 0; i < steps.length; i++) {
            end = Math.max(end, ends.get(i));
        }
        long[] after = moves();
        return new long[]{end - t0, cpu, here, after[0] - before[0], after[1] - before[1], spawned};
    }

    /** The moves every node's schedulers made so far: completed, failed. */
    private long[] moves() {
        long done = 0;
        long failed = 0;
        for (NodeReport r : node.scheduler().reports()) {
            for (SchedulerStats s : r.schedulers()) {
                done += s.migrations();
                failed += s.failed();
            }
        }
        return new long[]{done, failed};
    }

    /**
     * Submits a {@link WorkTask} per entry of {@code steps} to the Hazelcast members in turn (this one first), all at
     * once. Returns, in nanoseconds, the makespan (the first submission until the last result reached this member)
     * and the sum of the tasks' CPU time; then how many ran on this member, 0, 0 (no moves), and the time the
     * submissions took.
     */
    private long[] tasks(long iterations, int[] steps) throws Exception {
        IExecutorService executor = hz.getExecutorService(EXECUTOR);
        List<Member> members = new ArrayList<>(hz.getCluster().getMembers());
        if (members.size() != SchedBench.NODES) {
            throw new IllegalStateException("the Hazelcast cluster has " + members.size() + " members, not "
                    + SchedBench.NODES + ": " + members);
        }
        members.sort((x, y) -> Boolean.compare(!x.localMember(), !y.localMember()));
        AtomicLongArray ends = new AtomicLongArray(steps.length);
        AtomicLongArray cpus = new AtomicLongArray(steps.length);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(steps.length);
        int here = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < steps.length; i++) {
            Member m = members.get(i % members.size());
            here += m.localMember() ? 1 : 0;
            int k = i;
            executor.submitToMember(new WorkTask(steps[i], iterations), m, new ExecutionCallback<Long>() {
                @Override
                public void onResponse(Long cpu) {
                    ends.set(k, System.nanoTime());
                    cpus.set(k, cpu);
                    done.countDown();
                }

                @Override
                public void onFailure(Throwable t) {
                    failure.compareAndSet(null, t);
                    done.countDown();
                }
            });
        }
        long submitted = System.nanoTime() - t0;
        if (!done.await(BATCH_LIMIT.toNanos(), TimeUnit.NANOSECONDS)) {
            throw new IllegalStateException(done.getCount() + " Hazelcast tasks did not finish within " + BATCH_LIMIT);
        }
        if (failure.get() != null) {
            throw new IllegalStateException("a Hazelcast task failed: " + failure.get(), failure.get());
        }
        long end = 0;
        long cpu = 0;
        for (int i = 0; i < steps.length; i++) {
            end = Math.max(end, ends.get(i));
            cpu += cpus.get(i);
        }
        return new long[]{end - t0, cpu, here, 0, 0, submitted};
    }

    /**
     * Builds {@code versions} versions of a one-policy plugin JAR (policy type {@link #SWAP_POLICY}, port
     * {@code tick}, which decides no move at each call; the versions differ by their description) with the JDK's
     * compiler, and creates probe {@link #SWAP_PROBE} ({@code load}, every {@link #SWAP_PROBE_MILLIS} ms) whose
     * {@code runnable} feeds that port.
     */
    private long[] prepareSwap(int versions) throws Exception {
        plugins = Files.createTempDirectory(Files.createDirectories(node.kddm().storage()), "bench-plugins-");
        for (int v = 1; v <= versions; v++) {
            TestJars.build(jar(v), Map.of("benchswap.SwapPolicies", policySource(v)),
                    Map.of("META-INF/services/org.kerrighed.scheduler.PolicyFactory", "benchswap.SwapPolicies\n"));
        }
        ClusterScheduler s = node.scheduler();
        if (!s.config().probes().containsKey(SWAP_PROBE)) {
            s.createProbe(SWAP_PROBE, "load", SWAP_PROBE_MILLIS, Map.of());
        }
        return new long[0];
    }

    private Path jar(int version) {
        return plugins.resolve("bench-swap-" + version + ".jar");
    }

    private static String policySource(int version) {
        return """
                package benchswap;

                import org.kerrighed.scheduler.Move;
                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyContext;
                import org.kerrighed.scheduler.PolicyFactory;

                import java.util.List;
                import java.util.Set;

                public final class SwapPolicies implements PolicyFactory {
                    public String type() {
                        return "%s";
                    }

                    public String description() {
                        return "krg bench sched's swapped policy, version %d: decides no move";
                    }

                    public Policy create() {
                        return new Policy() {
                            public Set<String> ports() {
                                return Set.of("tick");
                            }

                            public List<Move> decide(String port, PolicyContext ctx) {
                                return List.of();
                            }
                        };
                    }
                }
                """.formatted(SWAP_POLICY, version);
    }

    /**
     * Loads version {@code version} of the plugin (replacing the one loaded before), creates scheduler
     * {@code swapVERSION} of its policy type once this node loaded that version (a scheduler is checked against the
     * calling node's types, and {@code loadPlugin} returns before the node applied it) and links its port to the
     * probe, then reads every node's report until the scheduler decided at least once on every node; removes the
     * scheduler afterwards (not timed). Returns, in nanoseconds from the {@code loadPlugin} call: until it returned,
     * until this node had loaded the version, until the scheduler was created and linked, until the first node
     * decided, until every node had.
     */
    private long[] swap(int version) throws Exception {
        ClusterScheduler s = node.scheduler();
        String name = "swap" + version;
        long t0 = System.nanoTime();
        String sha = s.loadPlugin(jar(version), PLUGIN).sha256();
        long loaded = System.nanoTime() - t0;
        long deadline = t0 + APPLY_LIMIT.toNanos();
        while (!sha.equals(s.report().plugins().get(PLUGIN))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("node " + node.id() + " did not load plugin " + PLUGIN + " version "
                        + version + " within " + APPLY_LIMIT + ": " + s.report());
            }
            Thread.sleep(1);
        }
        long applied = System.nanoTime() - t0;
        s.createScheduler(name, SWAP_POLICY, ProcessSet.ALL, NodeSet.ALL, Map.of());
        s.link(name, "tick", SWAP_PROBE, "runnable", List.of());
        long configured = System.nanoTime() - t0;
        long first = -1;
        int nodes = node.kddm().members().length;
        while (true) {
            int decided = 0;
            for (NodeReport r : s.reports()) {
                for (SchedulerStats st : r.schedulers()) {
                    if (st.scheduler().equals(name) && st.decisions() > 0) {
                        decided++;
                    }
                }
            }
            long now = System.nanoTime() - t0;
            if (decided > 0 && first < 0) {
                first = now;
            }
            if (decided >= nodes) {
                s.remove(name);
                return new long[]{loaded, applied, configured, first, now};
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("scheduler " + name + " decided on " + decided + " of " + nodes
                        + " nodes within " + APPLY_LIMIT + " of loading its plugin; reports: " + s.reports());
            }
            Thread.sleep(5);
        }
    }
}
