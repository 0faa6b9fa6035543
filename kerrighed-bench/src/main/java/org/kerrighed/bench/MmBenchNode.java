package org.kerrighed.bench;

import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SharedLongArray;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * One node of {@code krg bench mm}, in a JVM of its own: a Kerrighed node whose shared memory holds the
 * benchmark's segments. The benchmark's JVM steers it through {@link #CONTROL} (a tool connection); measurements
 * run here, on platform threads.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- STORAGE-DIR}. Prints {@code READY node-id rpc-address}.
 */
public final class MmBenchNode {
    /** Key of the big segment node 1 reads sequentially (created and filled there: its pages are cached there). */
    static final long BIG_KEY = 0x6D6D_0001L;
    /** The same with pages of {@link #BIG_PAGE}. */
    static final long BIG_BIG_PAGES_KEY = 0x6D6D_0003L;
    static final int BIG_PAGE = 64 << 10;
    /** Key of the segment whose pages node 2 writes and node 1 faults in. */
    static final long FAULT_KEY = 0x6D6D_0002L;
    static final int PAGE = SharedMemory.DEFAULT_PAGE_SIZE;
    static final int FAULT_PAGES = 64;

    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(961, "bench.mm.control", long[].class, long[].class);
    static final int STATUS = 0;    // -> kddm members, node id
    static final int CREATE = 1;    // key, bytes, page size -> segment id (created, attached and filled here)
    static final int ATTACH = 2;    // key -> segment id (opened and attached here)
    static final int COPY = 3;      // key, copies, oursFirst -> nanos for copies of that big segment: ours, MemorySegment
    static final int LOOP = 4;      // loops, oursFirst -> nanos for loops over the big segment: SharedLongArray, long[]
    static final int TOUCH = 5;     // page: writes one long of the fault segment's page (taking the page)
    static final int FAULT = 6;     // peer, n, oursFirst -> fault p50, rtt p50 (ns), faults counted

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    private static volatile long sink;

    private final Node node;
    private Segment big;
    private Segment bigPages;
    private Segment fault;
    private ByteBuffer dst;
    private MemorySegment local;
    private long[] localLongs;

    private MmBenchNode(Node node) {
        this.node = node;
    }

    public static void main(String[] args) throws Exception {
        ChildJvm.exitWhenParentDies();
        Node node = Kerrighed.join(BenchNodeArgs.config(args, 4).build());
        MmBenchNode n = new MmBenchNode(node);
        node.rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        BenchNodeArgs.serve(node, "");
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, node.id()};
            case CREATE -> new long[]{create(a[1], a[2], (int) a[3])};
            case ATTACH -> new long[]{attach(a[1])};
            case COPY -> PlatformThreads.run("bench-mm-measure", () -> copy(a[1] == BIG_KEY ? big : bigPages, (int) a[2], a[3] != 0));
            case LOOP -> PlatformThreads.run("bench-mm-measure", () -> loop((int) a[1], a[2] != 0));
            case TOUCH -> {
                fault.getAndAddLong(a[1] * PAGE, 1);
                yield new long[0];
            }
            case FAULT -> PlatformThreads.run("bench-mm-measure", () -> faults((int) a[1], (int) a[2], a[3] != 0));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    /** Creates segment {@code key} of {@code bytes}, attaches it here and writes every page (cached here now). */
    private long create(long key, long bytes, int pageSize) {
        SharedMemory shm = node.shm();
        long id = shm.open(key, bytes, SharedMemory.CREATE | SharedMemory.EXCLUSIVE | 0600, pageSize, 1);
        Segment s = shm.attach(id);
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (byte) (i * 7);
        }
        for (long off = 0; off < bytes; off += chunk.length) {
            s.copyFrom(off, chunk, 0, (int) Math.min(chunk.length, bytes - off));
        }
        if (key == BIG_BIG_PAGES_KEY) {
            bigPages = s;
        } else if (key == BIG_KEY) {
            big = s;
            dst = ByteBuffer.allocateDirect((int) bytes);
            local = Arena.global().allocate(bytes, 64);
            local.copyFrom(MemorySegment.ofBuffer(dst));
            localLongs = new long[(int) (bytes / 8)];
        } else {
            fault = s;
        }
        return id;
    }

    private long attach(long key) {
        SharedMemory shm = node.shm();
        fault = shm.attach(shm.open(key, 0, 0));
        return fault.id();
    }

    /**
     * {@code copies} bulk copies of the whole of {@code big} into a direct buffer, and as many copies of a local
     * native segment of the same size into the same buffer; total nanoseconds of each.
     */
    private long[] copy(Segment big, int copies, boolean oursFirst) {
        long[] r = new long[2];
        for (int side : oursFirst ? new int[]{0, 1} : new int[]{1, 0}) {
            long t0 = System.nanoTime();
            for (int i = 0; i < copies; i++) {
                dst.clear();
                if (side == 0) {
                    big.copyTo(0, dst);
                } else {
                    MemorySegment.copy(local, 0, MemorySegment.ofBuffer(dst), 0, local.byteSize());
                }
            }
            r[side] = System.nanoTime() - t0;
            sink += dst.get(12345);
        }
        return r;
    }

    /** {@code loops} passes summing every long of the big segment with SharedLongArray.get, and of a long[]. */
    private long[] loop(int loops, boolean oursFirst) {
        SharedLongArray arr = big.asLongArray();
        long[] r = new long[2];
        for (int side : oursFirst ? new int[]{0, 1} : new int[]{1, 0}) {
            long s = 0;
            long t0 = System.nanoTime();
            for (int l = 0; l < loops; l++) {
                if (side == 0) {
                    long n = arr.length();
                    for (long i = 0; i < n; i++) {
                        s += arr.get(i);
                    }
                } else {
                    long[] a = localLongs;
                    for (int i = 0; i < a.length; i++) {
                        s += a[i];
                    }
                }
            }
            r[side] = System.nanoTime() - t0;
            sink += s;
        }
        return r;
    }

    /**
     * {@code n} page faults served by {@code peer}: before each, {@code peer} writes the page (taking it, which
     * invalidates the copy here; an untimed call), then the timed read fetches it back in one round trip. Then
     * {@code n} RPC echo calls of a page's size to {@code peer}. Returns both p50s and the faults counted.
     */
    private long[] faults(int peer, int n, boolean oursFirst) throws Exception {
        long[] rtts = oursFirst ? null : rtts(peer, n);
        long before = fault.stats().faults();
        long[] lat = new long[n];
        for (int i = 0; i < n; i++) {
            long page = i % FAULT_PAGES;
            node.rpc().call(peer, CONTROL, new long[]{TOUCH, page}, CALL_TIMEOUT)
                    .get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            long t0 = System.nanoTime();
            long v = fault.getLong(page * PAGE);
            lat[i] = System.nanoTime() - t0;
            sink += v;
        }
        long counted = fault.stats().faults() - before;
        if (oursFirst) {
            rtts = rtts(peer, n);
        }
        Arrays.sort(lat);
        return new long[]{(long) Rounds.percentile(lat, 0.5), (long) Rounds.percentile(rtts, 0.5), counted};
    }

    private long[] rtts(int peer, int n) throws Exception {
        byte[] payload = new byte[PAGE];
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            node.rpc().call(peer, NodeAdmin.ECHO, payload, CALL_TIMEOUT).get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            l[i] = System.nanoTime() - t0;
        }
        Arrays.sort(l);
        return l;
    }
}
