package org.kerrighed.bench;

import com.hazelcast.collection.IQueue;
import com.hazelcast.config.Config;
import com.hazelcast.config.QueueConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One node of {@code krg bench ipc}, in a JVM of its own: a Kerrighed node (its IPC serves the benchmark's
 * objects) and, as the peer, a Hazelcast member of a separate cluster. The benchmark's JVM steers the nodes
 * through {@link #CONTROL} over a tool connection; measurements run here, on platform threads.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- HZ-CLUSTER HZ-SEED|- STORAGE-DIR}. Prints
 * {@code READY node-id rpc-address hazelcast-address}.
 */
public final class IpcBenchNode {
    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(962, "bench.ipc.control", long[].class, long[].class);
    static final int STATUS = 0;        // -> kddm members, hazelcast members, node id
    static final int QUEUE_CREATE = 1;  // side, round -> the name suffix of a queue homed on this node
    static final int QUEUE_RUN = 2;     // side, round, suffix, producer?, threads, items per thread, startAt
                                        //   -> nanos from startAt until this node's threads are done
    static final int LOCK_LOCAL = 3;    // side, iterations -> nanos per lock/unlock pair
    static final int LOCK_PINGPONG = 4; // round, iterations, startAt, holdNanos -> nanoTime of each acquire, release
    static final int BARRIER_RUN = 5;   // round, parties, rounds, startAt -> nanos elapsed
    static final int RPC_RTT = 6;       // peer node, calls[, parked nanos before each] -> median round trip nanos
    /** Sides of a measurement. */
    static final int OURS = 0;
    static final int HAZELCAST = 1;

    static final int ITEM_BYTES = 64;
    static final int QUEUE_CAPACITY = 10_000;
    static final String HZ_QUEUES = "bench-q-*";

    private final Node node;
    private final HazelcastInstance hz;

    private IpcBenchNode(Node node, HazelcastInstance hz) {
        this.node = node;
        this.hz = hz;
    }

    /** The peer's member: {@link HazelcastPeer}'s tuned settings, queues bounded like ours, one synchronous backup. */
    static Config hazelcastConfig(String cluster, String seed) {
        Config c = HazelcastPeer.config(cluster, true, seed);
        c.addQueueConfig(new QueueConfig(HZ_QUEUES).setBackupCount(1).setAsyncBackupCount(0)
                .setMaxSize(QUEUE_CAPACITY));
        return c;
    }

    public static void main(String[] args) throws Exception {
        PairedNode p = PairedNode.start(args, IpcBenchNode::hazelcastConfig);
        IpcBenchNode n = new IpcBenchNode(p.node(), p.hz());
        p.node().rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        p.serve();
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, hz.getCluster().getMembers().size(), node.id()};
            case QUEUE_CREATE -> new long[]{createQueue((int) a[1], a[2])};
            case QUEUE_RUN -> onPlatformThreads(a[4] != 0, (int) a[5], queue((int) a[1], a[2], a[3]), (int) a[6], a[7]);
            case LOCK_LOCAL -> new long[]{IpcSyncBench.lockUncontended(node, hz, (int) a[1], (int) a[2])};
            case LOCK_PINGPONG -> IpcSyncBench.lockPingPong(node, "bench-lock-pingpong-" + a[1], (int) a[2], a[3], a[4]);
            case BARRIER_RUN -> new long[]{IpcSyncBench.barrierRounds(node, "bench-barrier-" + a[1], (int) a[2],
                    (int) a[3], a[4])};
            case RPC_RTT -> new long[]{IpcSyncBench.rpcRoundTrip(node, (int) a[1], (int) a[2], a.length > 3 ? a[3] : 0)};
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    static String queueName(int side, long round, long suffix) {
        return "bench-q-" + (side == OURS ? "ours-" : "hz-") + round + "-" + suffix;
    }

    /** A queue homed here: ours is homed on the node that creates it; Hazelcast's on its partition's owner. */
    private long createQueue(int side, long round) throws InterruptedException {
        if (side == OURS) {
            node.ipc().queue(queueName(side, round, 0), byte[].class, QUEUE_CAPACITY);
            return 0;
        }
        for (long s = 0; ; s++) {
            String name = queueName(side, round, s);
            com.hazelcast.cluster.Member owner = hz.getPartitionService().getPartition(name).getOwner();
            for (int i = 0; owner == null && i < 200; i++) {      // partitions are assigned on first use
                hz.getQueue(name).size();
                Thread.sleep(50);
                owner = hz.getPartitionService().getPartition(name).getOwner();
            }
            if (owner != null && owner.localMember()) {
                hz.getQueue(name).size();
                return s;
            }
        }
    }

    private BlockingQueue<byte[]> queue(int side, long round, long suffix) {
        String name = queueName(side, round, suffix);
        if (side == OURS) {
            return node.ipc().queue(name, byte[].class, QUEUE_CAPACITY);
        }
        IQueue<byte[]> q = hz.getQueue(name);
        return q;
    }

    /**
     * {@code threads} platform threads wait for {@code startAt} then each puts (or takes) {@code items} items;
     * returns the nanoseconds from {@code startAt} until the last thread finished.
     */
    private static long[] onPlatformThreads(boolean producer, int threads, BlockingQueue<byte[]> q, int items,
                                            long startAt) throws Exception {
        List<CompletableFuture<Long>> done = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            done.add(f);
            ts.add(Thread.ofPlatform().name("bench-ipc-" + (producer ? "producer-" : "consumer-") + t).start(() -> {
                try {
                    long wait = startAt - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    for (int i = 0; i < items; i++) {
                        if (producer) {
                            byte[] item = new byte[ITEM_BYTES];
                            item[0] = (byte) i;
                            q.put(item);
                        } else {
                            q.take();
                        }
                    }
                    f.complete(System.nanoTime());
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }));
        }
        long end = 0;
        try {
            for (CompletableFuture<Long> f : done) {
                end = Math.max(end, f.get(10, TimeUnit.MINUTES));
            }
        } finally {
            ts.forEach(Thread::interrupt);
        }
        return new long[]{end - startAt};
    }

}
