package org.kerrighed.bench;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.NearCacheConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.kddm.linkers.PageLinker;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeAdmin;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One node of {@code krg bench kddm}, in a JVM of its own: a Kerrighed node (its KDDM holds the benchmark's
 * sets) and, as the peer, a Hazelcast member of a separate cluster holding the same data in two IMaps (one
 * synchronous backup; one of them also with a near cache). The benchmark's JVM is not a member: it steers
 * the nodes through {@link #CONTROL}, a service every node registers (a tool connection, like {@code krg nodes}).
 * Measurements run here, on platform threads, so they time only what happens between the nodes.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- HZ-CLUSTER HZ-SEED|- STORAGE-DIR}. Prints
 * {@code READY node-id rpc-address hazelcast-address}.
 */
public final class KddmBenchNode {
    /** The read-mostly objects: 256-byte pages, replication factor 2. */
    static final long DATA_SET = 1;
    /** The objects of the latency rows: 256-byte pages, no backup (only the protocol is timed). */
    static final long LAT_SET = 2;
    static final int VALUE_BYTES = 256;
    /** Objects of {@link #LAT_SET}: read after a drop, grabbed in turn, and read from cached copies. */
    static final long MISS_ID = 2;
    static final long PINGPONG_ID = 3;
    static final long LOCAL_BASE = 1000;
    static final int LOCAL_OBJECTS = 64;
    /** Objects of {@link #DATA_SET} one node rewrites ({@code OWNED_BASE + node id}), outside the random ids. */
    static final long OWNED_BASE = 1L << 40;
    static final String HZ_MAP = "bench-read-mostly";
    static final String HZ_NEAR_MAP = "bench-read-mostly-near";

    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(960, "bench.kddm.control", long[].class, long[].class);
    static final int STATUS = 0;    // -> kddm members, hazelcast members, node id
    static final int GRAB = 1;      // set, id: grab, change a byte, close
    static final int GET = 2;       // set, id: get, close
    static final int LOCAL = 3;     // ops, oursFirst -> nanos for ops gets on kddm, ConcurrentHashMap, near cache
    static final int MISS = 4;      // owner, n, oursFirst -> miss p50, rtt p50, misses counted
    static final int PINGPONG = 5;  // peer, n, oursFirst -> grab p50, rtt p50, transfers received, then p10/p50/p90
                                    //   of this node's grabs, of the peer's, and p10/p90 of the round trips
    static final int TAKE = 6;      // id: grab (timed), change a byte, close -> nanos (on the measuring thread)
    static final int LOAD = 7;      // side, objects, index, count -> objects written
    static final int WARM = 8;      // side, objects -> objects read
    static final int MIX = 9;       // side, startAt, duration, seed, objects, writes per 1000, threads
                                    //   -> (ops, nanos) per thread, then KDDM misses, invalidations, transfers,
                                    //      deferred, then messages sent per KDDM service
    static final int WRITES = 10;   // side, startAt, duration, seed, objects, max samples -> latencies (ns)
    static final int OWNED = 11;    // n, oursFirst -> write p50, rtt p50 (to the backup node)
    /** Sides of a measurement. */
    static final int KDDM = 0;
    static final int IMAP = 1;
    static final int NEAR = 2;

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    private static volatile long sink;             // keeps the JIT from dropping what a loop reads

    private final Node node;
    private final HazelcastInstance hz;
    private final KddmSet<byte[]> data;
    private final KddmSet<byte[]> lat;
    private final IMap<Long, byte[]> map;
    private final IMap<Long, byte[]> nearMap;
    private final Map<Long, byte[]> chm = new ConcurrentHashMap<>();
    private final ExecutorService measuring = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("bench-kddm-take").daemon().factory());

    private KddmBenchNode(Node node, HazelcastInstance hz) {
        this.node = node;
        this.hz = hz;
        this.data = node.kddm().createStaticSet(DATA_SET, dataSpec(), new PageLinker(VALUE_BYTES));
        this.lat = node.kddm().createStaticSet(LAT_SET, latSpec(), new PageLinker(VALUE_BYTES));
        this.map = hz.getMap(HZ_MAP);
        this.nearMap = hz.getMap(HZ_NEAR_MAP);
        for (long i = 0; i < LOCAL_OBJECTS; i++) {
            chm.put(LOCAL_BASE + i, new byte[VALUE_BYTES]);
        }
    }

    static SetSpec dataSpec() {
        return SetSpec.of("page", Integer.toString(VALUE_BYTES)).withReplication(2);
    }

    static SetSpec latSpec() {
        return SetSpec.of("page", Integer.toString(VALUE_BYTES));
    }

    /**
     * The peer's member: {@link HazelcastPeer}'s settings (tuned), an IMap with one synchronous backup, and
     * the same with a near cache that keeps deserialized values, local entries included.
     */
    static Config hazelcastConfig(String cluster, String seed) {
        Config c = HazelcastPeer.config(cluster, true, seed);
        c.addMapConfig(new MapConfig(HZ_MAP).setBackupCount(1).setAsyncBackupCount(0));
        c.addMapConfig(new MapConfig(HZ_NEAR_MAP).setBackupCount(1).setAsyncBackupCount(0)
                .setNearCacheConfig(new NearCacheConfig(HZ_NEAR_MAP).setInMemoryFormat(InMemoryFormat.OBJECT)
                        .setCacheLocalEntries(true).setInvalidateOnChange(true)));
        return c;
    }

    public static void main(String[] args) throws Exception {
        PairedNode p = PairedNode.start(args, KddmBenchNode::hazelcastConfig);
        KddmBenchNode n = new KddmBenchNode(p.node(), p.hz());
        p.node().rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        p.serve();
    }

    private KddmSet<byte[]> set(long id) {
        return id == DATA_SET ? data : lat;
    }

    private IMap<Long, byte[]> imap(long side) {
        return side == NEAR ? nearMap : map;
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, hz.getCluster().getMembers().size(), node.id()};
            case GRAB -> {
                try (Handle<byte[]> h = set(a[1]).grab(a[2])) {
                    h.value()[0]++;
                }
                yield new long[0];
            }
            case GET -> {
                try (Handle<byte[]> h = set(a[1]).get(a[2])) {
                    sink += h.value()[0];
                }
                yield new long[0];
            }
            case LOCAL -> PlatformThreads.run("bench-kddm-measure", () -> local((int) a[1], a[2] != 0));
            case MISS -> PlatformThreads.run("bench-kddm-measure", () -> miss((int) a[1], (int) a[2], a[3] != 0));
            case PINGPONG -> PlatformThreads.run("bench-kddm-measure", () -> pingpong((int) a[1], (int) a[2], a[3] != 0));
            case TAKE -> onMeasuringThread(() -> new long[]{take(a[1])});
            case LOAD -> new long[]{load((int) a[1], (int) a[2], (int) a[3], (int) a[4])};
            case WARM -> new long[]{warm((int) a[1], (int) a[2])};
            case MIX -> mix((int) a[1], a[2], a[3], a[4], (int) a[5], (int) a[6], (int) a[7]);
            case WRITES -> PlatformThreads.run("bench-kddm-measure", () -> writes((int) a[1], a[2], a[3], a[4], (int) a[5], (int) a[6]));
            case OWNED -> PlatformThreads.run("bench-kddm-measure", () -> owned((int) a[1], a[2] != 0));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    /** Runs {@code work} on {@link #measuring}, a platform thread kept for short timed operations, bounded. */
    private long[] onMeasuringThread(Callable<long[]> work) throws Exception {
        return measuring.submit(work).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------ latency rows

    /**
     * {@code ops} reads of cached objects on each side, cycling over {@value #LOCAL_OBJECTS} of them (so no
     * lookup can be hoisted out of the loop); total nanoseconds per side (kddm, chm, near cache).
     */
    private long[] local(int ops, boolean oursFirst) {
        for (long k = 0; k < LOCAL_OBJECTS; k++) {
            long id = LOCAL_BASE + k;
            try (Handle<byte[]> h = lat.get(id)) {     // read copies here (node 2 owns them)
                sink += h.value()[0];
            }
            if (!nearMap.containsKey(id)) {
                nearMap.set(id, new byte[VALUE_BYTES]);
            }
            sink += nearMap.get(id)[0];                // now in the near cache
        }
        long[] r = new long[3];
        int[] order = oursFirst ? new int[]{0, 1, 2} : new int[]{2, 1, 0};
        for (int side : order) {
            r[side] = switch (side) {
                case 0 -> localKddm(ops);
                case 1 -> localChm(ops);
                default -> localNear(ops);
            };
        }
        return r;
    }

    private long localKddm(int ops) {
        long s = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            try (Handle<byte[]> h = lat.get(LOCAL_BASE + (i & (LOCAL_OBJECTS - 1)))) {
                s += h.value()[i & (VALUE_BYTES - 1)];
            }
        }
        long t = System.nanoTime() - t0;
        sink += s;
        return t;
    }

    private long localChm(int ops) {
        long s = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            s += chm.get(LOCAL_BASE + (i & (LOCAL_OBJECTS - 1)))[i & (VALUE_BYTES - 1)];
        }
        long t = System.nanoTime() - t0;
        sink += s;
        return t;
    }

    private long localNear(int ops) {
        long s = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            s += nearMap.get(LOCAL_BASE + (i & (LOCAL_OBJECTS - 1)))[i & (VALUE_BYTES - 1)];
        }
        long t = System.nanoTime() - t0;
        sink += s;
        return t;
    }

    /**
     * {@code n} read misses of an object {@code owner} owns, and {@code n} echo round trips to {@code owner}.
     * Before each timed get this node drops its copy ({@code flush}: silently; the owner keeps listing it) and
     * makes one untimed echo call to the owner, so both ends are idle and the get is a clean miss: one request,
     * one reply with the object.
     */
    private long[] miss(int owner, int n, boolean oursFirst) throws Exception {
        long[] misses = new long[n];
        long[] rtts = null;
        byte[] payload = new byte[VALUE_BYTES];
        if (!oursFirst) {
            rtts = rtts(owner, n);
        }
        long before = lat.stats().misses();
        for (int i = 0; i < n; i++) {
            lat.flush(MISS_ID);
            echo(owner, payload);
            long t0 = System.nanoTime();
            Handle<byte[]> h = lat.get(MISS_ID);
            misses[i] = System.nanoTime() - t0;
            sink += h.value()[0];
            h.close();
        }
        long counted = lat.stats().misses() - before;
        if (oursFirst) {
            rtts = rtts(owner, n);
        }
        Arrays.sort(misses);
        return new long[]{percentile(misses, 0.5), percentile(rtts, 0.5), counted};
    }

    /**
     * {@code n} times: grabs the ping-pong object (taking it from {@code peer}), changes a byte and closes,
     * then has {@code peer} do the same (a {@link #TAKE} call: the turn passes by RPC, untimed), so each
     * timed grab finds the object idle at the other node and moves it. Then {@code n} echo round trips to
     * {@code peer}. Returns the p50 of the 2n grabs (both nodes'), the p50 round trip, the transfers this
     * node received, and the percentiles {@link #PINGPONG} lists.
     */
    private long[] pingpong(int peer, int n, boolean oursFirst) throws Exception {
        long[] rtts = oursFirst ? null : rtts(peer, n);
        long before = lat.stats().transfers();
        long[] grabs = new long[2 * n];
        for (int i = 0; i < n; i++) {
            grabs[2 * i] = take(PINGPONG_ID);
            long[] r = node.rpc().call(peer, CONTROL, new long[]{TAKE, PINGPONG_ID}, CALL_TIMEOUT)
                    .get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            grabs[2 * i + 1] = r[0];
        }
        long transfers = lat.stats().transfers() - before;
        if (oursFirst) {
            rtts = rtts(peer, n);
        }
        long[] mine = new long[n];
        long[] theirs = new long[n];
        for (int i = 0; i < n; i++) {
            mine[i] = grabs[2 * i];
            theirs[i] = grabs[2 * i + 1];
        }
        Arrays.sort(grabs);
        Arrays.sort(mine);
        Arrays.sort(theirs);
        return new long[]{percentile(grabs, 0.5), percentile(rtts, 0.5), transfers, percentile(mine, 0.1),
                percentile(mine, 0.5), percentile(mine, 0.9), percentile(theirs, 0.1), percentile(theirs, 0.5),
                percentile(theirs, 0.9), percentile(rtts, 0.1), percentile(rtts, 0.9)};
    }

    /** Grabs {@code id} of the latency set, changes a byte, closes; the nanoseconds the grab took. */
    private long take(long id) {
        long t0 = System.nanoTime();
        Handle<byte[]> h = lat.grab(id);
        long t = System.nanoTime() - t0;
        h.value()[1]++;
        h.close();
        return t;
    }

    /** {@code n} rewrites of an object this node owns (each one replicated), and {@code n} echo round trips to the backup node. */
    private long[] owned(int n, boolean oursFirst) throws Exception {
        long id = OWNED_BASE + node.id();
        try (Handle<byte[]> h = data.grab(id)) {       // owned here from now on
            h.value()[0]++;
        }
        int[] members = node.kddm().members();
        int backup = members[(Arrays.binarySearch(members, node.id()) + 1) % members.length];
        long[] rtts = oursFirst ? null : rtts(backup, n);
        long[] writes = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            try (Handle<byte[]> h = data.grab(id)) {
                h.value()[i & (VALUE_BYTES - 1)]++;
            }
            writes[i] = System.nanoTime() - t0;
        }
        if (oursFirst) {
            rtts = rtts(backup, n);
        }
        Arrays.sort(writes);
        return new long[]{percentile(writes, 0.5), percentile(rtts, 0.5)};
    }

    private void echo(int peer, byte[] payload) throws Exception {
        node.rpc().call(peer, NodeAdmin.ECHO, payload, CALL_TIMEOUT).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** {@code n} Kerrighed RPC echo calls of {@value #VALUE_BYTES} bytes to {@code peer}, one at a time; sorted (ns). */
    private long[] rtts(int peer, int n) throws Exception {
        byte[] payload = new byte[VALUE_BYTES];
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            echo(peer, payload);
            l[i] = System.nanoTime() - t0;
        }
        Arrays.sort(l);
        return l;
    }

    // ------------------------------------------------------------------ read-mostly workload

    /** Writes this node's share of ids {@code 0..objects-1} (those equal to {@code index} modulo {@code count}). */
    private long load(int side, int objects, int index, int count) {
        long done = 0;
        if (side == KDDM) {
            for (long id = index; id < objects; id += count) {
                try (Handle<byte[]> h = data.grab(id)) {
                    Arrays.fill(h.value(), (byte) id);
                }
                done++;
            }
            return done;
        }
        Map<Long, byte[]> batch = new HashMap<>();
        for (long id = index; id < objects; id += count) {
            byte[] v = new byte[VALUE_BYTES];
            Arrays.fill(v, (byte) id);
            batch.put(id, v);
            done++;
            if (batch.size() == 500) {
                imap(side).putAll(batch);
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            imap(side).putAll(batch);
        }
        return done;
    }

    /**
     * Reads every object once, 64 at a time (KDDM: {@code getAsync}, filling the read copies; the peer:
     * {@code getAll}, filling the near cache).
     */
    private long warm(int side, int objects) throws Exception {
        for (long first = 0; first < objects; first += 64) {
            long last = Math.min(objects, first + 64);
            if (side == KDDM) {
                List<CompletableFuture<Handle<byte[]>>> fs = new ArrayList<>();
                for (long id = first; id < last; id++) {
                    fs.add(data.getAsync(id));
                }
                for (CompletableFuture<Handle<byte[]>> f : fs) {
                    Handle<byte[]> h = f.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    sink += h.value()[0];
                    h.close();
                }
            } else {
                Set<Long> keys = new HashSet<>();
                for (long id = first; id < last; id++) {
                    keys.add(id);
                }
                sink += imap(side).getAll(keys).size();
            }
        }
        return objects;
    }

    /**
     * {@code threads} platform threads run from {@code startAt} for {@code duration} ns: random ids
     * (seeded per thread), {@code writesPerMille} writes (grab, change a byte in place, close; the peer sets a
     * new value), the rest reads (get, read a byte, close; the peer gets). Returns each thread's operations
     * and the nanoseconds it ran (it finishes the operations it started).
     */
    private long[] mix(int side, long startAt, long duration, long seed, int objects, int writesPerMille, int threads)
            throws Exception {
        long[] out = new long[threads * 2 + 4 + KDDM_SERVICES.length];
        SetStats before = data.stats();
        long[] sentBefore = kddmMessagesSent();
        Thread[] ts = new Thread[threads];
        Throwable[] failure = new Throwable[1];
        for (int t = 0; t < threads; t++) {
            int k = t;
            ts[t] = Thread.ofPlatform().name("bench-kddm-mix-" + t).start(() -> {
                try {
                    SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + node.id() * 101L + k);
                    byte[] buf = new byte[VALUE_BYTES];
                    IMap<Long, byte[]> m = imap(side);
                    long s = 0;
                    long ops = 0;
                    waitUntil(startAt);
                    long end = startAt + duration;
                    while (true) {
                        for (int j = 0; j < 16; j++) {
                            int id = rnd.nextInt(objects);
                            boolean write = rnd.nextInt(1000) < writesPerMille;
                            int at = id & (VALUE_BYTES - 1);
                            if (side == KDDM) {
                                if (write) {
                                    try (Handle<byte[]> h = data.grab(id)) {
                                        h.value()[at]++;
                                    }
                                } else {
                                    try (Handle<byte[]> h = data.get(id)) {
                                        s += h.value()[at];
                                    }
                                }
                            } else if (write) {
                                buf[at]++;
                                m.set((long) id, buf);
                            } else {
                                s += m.get((long) id)[at];
                            }
                        }
                        ops += 16;
                        if (System.nanoTime() >= end) {
                            break;
                        }
                    }
                    out[2 * k] = ops;
                    out[2 * k + 1] = System.nanoTime() - startAt;
                    sink += s;
                } catch (Throwable e) {
                    synchronized (failure) {
                        failure[0] = e;
                    }
                }
            });
        }
        long deadline = startAt + duration + TimeUnit.SECONDS.toNanos(120);
        for (Thread t : ts) {
            if (!t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) {
                throw new IllegalStateException("node " + node.id() + ": a mix thread did not finish in time");
            }
        }
        synchronized (failure) {
            if (failure[0] != null) {
                throw new IllegalStateException("node " + node.id() + ": mix failed: " + failure[0], failure[0]);
            }
        }
        SetStats after = data.stats();
        out[threads * 2] = after.misses() - before.misses();
        out[threads * 2 + 1] = after.invalidations() - before.invalidations();
        out[threads * 2 + 2] = after.transfers() - before.transfers();
        out[threads * 2 + 3] = after.deferred() - before.deferred();
        long[] sent = kddmMessagesSent();
        for (int i = 0; i < sent.length; i++) {
            out[threads * 2 + 4 + i] = sent[i] - sentBefore[i];
        }
        return out;
    }

    /** KDDM's protocol services (ids of kerrighed-kddm's {@code Wire}), whose messages {@link #MIX} counts. */
    static final int[] KDDM_SERVICES = {100, 101, 102, 103, 104, 105};
    static final String[] KDDM_SERVICE_NAMES = {"req", "grant", "inv", "ack", "owner-is", "backup"};

    /** Messages this node sent so far on each of {@link #KDDM_SERVICES}. */
    private long[] kddmMessagesSent() {
        long[] n = new long[KDDM_SERVICES.length];
        for (var st : node.rpc().stats().services()) {
            for (int i = 0; i < KDDM_SERVICES.length; i++) {
                if (st.serviceId() == KDDM_SERVICES[i]) {
                    n[i] = st.callsOut();
                }
            }
        }
        return n;
    }

    /**
     * From {@code startAt} for {@code duration} ns, one thread writes random objects (grab, change a byte,
     * close: the new value is on the backup before close returns; the peer sets a new value); returns the
     * latencies (ns) of the first {@code maxSamples} writes.
     */
    private long[] writes(int side, long startAt, long duration, long seed, int objects, int maxSamples) {
        SplittableRandom rnd = new SplittableRandom(seed * 7_000_003L + node.id());
        byte[] buf = new byte[VALUE_BYTES];
        long[] l = new long[maxSamples];
        int n = 0;
        waitUntil(startAt);
        long end = startAt + duration;
        while (n < maxSamples && System.nanoTime() < end) {
            int id = rnd.nextInt(objects);
            int at = id & (VALUE_BYTES - 1);
            long t0 = System.nanoTime();
            if (side == KDDM) {
                try (Handle<byte[]> h = data.grab(id)) {
                    h.value()[at]++;
                }
            } else {
                buf[at]++;
                map.set((long) id, buf);
            }
            l[n++] = System.nanoTime() - t0;
        }
        return Arrays.copyOf(l, n);
    }

    // ------------------------------------------------------------------ helpers

    /** Waits until {@link System#nanoTime} reaches {@code at} (at most 10 s: a bad start time starts at once). */
    static void waitUntil(long at) {
        long limit = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long left;
        while ((left = at - System.nanoTime()) > 0 && System.nanoTime() < limit) {
            if (left > 200_000) {
                LockSupport.parkNanos(left - 100_000);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    static long percentile(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : (long) Rounds.percentile(sorted, p);
    }
}
