package org.kerrighed.bench;

import com.hazelcast.cluster.Member;
import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * One node of {@code krg bench epm}, in a JVM of its own: a Kerrighed node (its process layer runs the benchmark's
 * empty program) and, as the peer, a Hazelcast member of a separate cluster (its executor service runs the empty
 * task). The benchmark's JVM steers the nodes through {@link #CONTROL}; measurements run here, on platform threads.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- HZ-CLUSTER HZ-SEED|- STORAGE-DIR}. Prints
 * {@code READY node-id rpc-address hazelcast-address}.
 */
public final class EpmBenchNode {
    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(963, "bench.epm.control", long[].class, long[].class);
    static final int STATUS = 0;        // -> kddm members, hazelcast members, node id
    static final int SPAWN_RUN = 1;     // target node, spawns -> see spawns()
    static final int EXECUTOR_RUN = 2;  // tasks -> see tasks()
    static final int RPC_RTT = 3;       // peer node, calls -> median round trip nanos
    static final int CPU = 4;           // -> CPU nanoseconds this JVM used so far (all its threads)

    /** The benchmark's types (an application's range: every node registers them, tools need not). */
    static final TypeRegistrar TYPES = b -> b.range("kerrighed-bench", 29_000, 29_009)
            .register(29_000, Empty.class);

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String EXECUTOR = "bench-executor";
    private static final int HZ_FACTORY = 29_000;

    /** The program of the distant forks: returns at once with exit code 0. */
    record Empty() implements Program {
        @Override
        public int run(ProcessContext ctx) {
            return 0;
        }
    }

    /**
     * The peer's task: returns at once. Serialized the way Hazelcast recommends for speed (an identified
     * factory: a factory id and a class id on the wire, no class name, no reflection).
     */
    static final class EmptyTask implements Callable<Integer>, IdentifiedDataSerializable {
        @Override
        public Integer call() {
            return 0;
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
        public void writeData(ObjectDataOutput out) {
        }

        @Override
        public void readData(ObjectDataInput in) {
        }
    }

    private final Node node;
    private final HazelcastInstance hz;

    private EpmBenchNode(Node node, HazelcastInstance hz) {
        this.node = node;
        this.hz = hz;
    }

    /** The peer's member: {@link HazelcastPeer}'s tuned settings and the empty task's factory. */
    static Config hazelcastConfig(String cluster, String seed) {
        Config c = HazelcastPeer.config(cluster, true, seed);
        c.getSerializationConfig().addDataSerializableFactory(HZ_FACTORY, id -> new EmptyTask());
        return c;
    }

    public static void main(String[] args) throws Exception {
        PairedNode p = PairedNode.start(args, EpmBenchNode::hazelcastConfig, TYPES);
        EpmBenchNode n = new EpmBenchNode(p.node(), p.hz());
        p.node().rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        p.serve();
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, hz.getCluster().getMembers().size(), node.id()};
            case SPAWN_RUN -> PlatformThreads.run("bench-epm-spawn", () -> spawns((int) a[1], (int) a[2]));
            case EXECUTOR_RUN -> PlatformThreads.run("bench-epm-executor", () -> tasks((int) a[1]));
            case CPU -> new long[]{((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime()};
            case RPC_RTT -> PlatformThreads.run("bench-epm-rtt",
                    () -> new long[]{IpcSyncBench.rpcRoundTrip(node, (int) a[1], (int) a[2], 0)});
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    /**
     * {@code n} distant forks of {@link Empty} onto node {@code target}, one at a time: each from the
     * {@code spawn} call until {@code waitFor} returns (the exit notice reached this node). Returns the p50 and
     * p90 of that in nanoseconds, the p50 of the part until {@code spawn} returned (the process runs), and the
     * mean.
     */
    private long[] spawns(int target, int n) throws Exception {
        SpawnOptions on = SpawnOptions.defaults().onNode(target);
        Empty program = new Empty();
        long[] total = new long[n];
        long[] started = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            ClusterProcess p = node.epm().spawn(program, on);
            long t1 = System.nanoTime();
            ExitStatus s = p.waitFor(WAIT).orElseThrow(() -> new IllegalStateException(
                    "process " + p.pid() + " on node " + target + " did not exit in " + WAIT));
            total[i] = System.nanoTime() - t0;
            started[i] = t1 - t0;
            if (p.node() != target || s.code() != 0) {
                throw new IllegalStateException("process " + p.pid() + " ran on node " + p.node() + " and ended with "
                        + s + "; expected node " + target + " and exit code 0");
            }
        }
        return summary(total, started);
    }

    /**
     * {@code n} submissions of {@link EmptyTask} to the other Hazelcast member, one at a time, each awaited with
     * {@code get}; the same figures as {@link #spawns} (the middle one: until {@code submitToMember} returned).
     */
    private long[] tasks(int n) throws Exception {
        IExecutorService executor = hz.getExecutorService(EXECUTOR);
        Member other = hz.getCluster().getMembers().stream().filter(m -> !m.localMember()).findFirst()
                .orElseThrow(() -> new IllegalStateException("no other Hazelcast member"));
        EmptyTask task = new EmptyTask();
        long[] total = new long[n];
        long[] submitted = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            var f = executor.submitToMember(task, other);
            long t1 = System.nanoTime();
            f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            total[i] = System.nanoTime() - t0;
            submitted[i] = t1 - t0;
        }
        return summary(total, submitted);
    }

    /** {p50 total, p90 total, p50 of the first part, mean total}, nanoseconds. */
    private static long[] summary(long[] total, long[] firstPart) {
        long mean = (long) Arrays.stream(total).average().orElse(0);
        Arrays.sort(total);
        Arrays.sort(firstPart);
        return new long[]{(long) Rounds.percentile(total, 0.5), (long) Rounds.percentile(total, 0.9),
                (long) Rounds.percentile(firstPart, 0.5), mean};
    }
}
