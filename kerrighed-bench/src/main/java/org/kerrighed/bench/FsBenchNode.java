package org.kerrighed.bench;

import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TransportKind;
import org.kerrighed.rpc.internal.Transport;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One node of {@code krg bench fs}, in a JVM of its own: a Kerrighed node (default file-system settings: chunks of
 * 4 MiB, replication 2) that runs the benchmark's file workloads on request, through {@code java.nio.file} on its
 * {@code krg} file system (ours) and on the default file system in its storage directory (the peer: the same disk),
 * and a raw Netty bulk-transfer server and client ({@link NettyBulk}). The benchmark's JVM steers it through
 * {@link #CONTROL}; every timing is taken here, on a platform thread.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- STORAGE-DIR}. Prints {@code READY node-id rpc-address}.
 */
public final class FsBenchNode {
    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(967, "bench.fs.control", long[].class,
            long[].class);
    static final int STATUS = 0;      // -> kddm members, 0, node id
    static final int WRITE = 1;       // side, file, bytes -> see write()
    static final int READ = 2;        // side, file, bytes -> see read()
    static final int DELETE = 3;      // side, file -> nothing (deletes it if present)
    static final int SMALL = 4;       // side, directory, files -> see small()
    static final int BULK_SERVE = 5;  // -> the port of this node's Netty bulk server on 127.0.0.1
    static final int BULK_READ = 6;   // port, bytes, frame size -> nanos to receive them from that server
    static final int HELD = 7;        // -> bytes of chunk files in this node's store
    static final int SPLIT = 8;       // peer, times -> see split()
    static final int CPU = 9;         // -> the CPU nanoseconds this JVM has used
    static final int PREPARE = 10;    // scratch bytes -> see prepare()
    static final int RAW_SERVE = 11;  // -> the port of this node's RawReplica server, 1 if zero-copy can run here
    static final int RAW_CONNECT = 12; // ports... -> nothing (this node's RawReplica writer sends to them in turn)

    /** A 4 MiB message's cost alone, for {@link #split}: the node that gets it drops it and answers its length. */
    static final ServiceKey<byte[], Integer> SINK = ServiceKey.of(968, "bench.fs.sink", byte[].class, Integer.class);
    /** The same, the bytes written to a fresh file first (as a replica applies a chunk write), then deleted. */
    static final ServiceKey<byte[], Integer> SINK_FILE = ServiceKey.of(969, "bench.fs.sink-file", byte[].class,
            Integer.class);

    static final int OURS = 0;
    static final int LOCAL = 1;
    /** {@link RawReplica}'s writes, {@link RawReplica.Mode#COPY}: write and delete only. */
    static final int RAW_COPY = 2;
    /** {@link RawReplica}'s writes, {@link RawReplica.Mode#ZERO_COPY}: write and delete only. */
    static final int RAW_ZERO_COPY = 3;
    static final int SMALL_FILE_BYTES = 4096;

    /** The size of every write and read of the sequential files, and of a Netty bulk frame. */
    static final int WRITE_SIZE = 4 << 20;

    private static final Duration SYNC_LIMIT = Duration.ofMinutes(2);
    private static final Duration SPLIT_CALL = Duration.ofSeconds(30);
    static final int SPLIT_PIECE = 512 << 10;

    private final Node node;
    private final Path localDir;
    private final Path krgDir;
    private final Transport transport = Transport.create(TransportKind.AUTO, 1, "bench-fs-bulk");
    private NettyBulk.Server bulkServer;
    private NettyBulk.Client bulkClient;
    private RawReplica.Server rawServer;
    private RawReplica.Writer rawWriter;
    private int bulkClientPort;
    /**
     * The bytes every file is made of, {@link #WRITE_SIZE} of them, pseudo-random with a fixed seed (the Netty
     * server's frames hold the same); each write overwrites the first 8 with its block's index, which the reads check.
     * Commands that use it run one at a time (the benchmark waits for each).
     */
    private final byte[] data = new byte[WRITE_SIZE];

    private FsBenchNode(Node node) throws IOException {
        this.node = node;
        this.localDir = Files.createDirectories(node.kddm().storage().resolve("fsbench-local"));
        this.krgDir = node.fs().path("/fsbench");
        new SplittableRandom(WRITE_SIZE).nextBytes(data);
    }

    public static void main(String[] args) throws Exception {
        ChildJvm.exitWhenParentDies();
        Node node = Kerrighed.join(BenchNodeArgs.config(args, 4).build());
        FsBenchNode n = new FsBenchNode(node);
        node.rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        node.rpc().register(SINK, HandlerKind.BLOCKING, (ctx, bytes) -> bytes.length);
        node.rpc().register(SINK_FILE, HandlerKind.BLOCKING, (ctx, bytes) -> n.sinkFile(bytes));
        BenchNodeArgs.serve(node, "");
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, 0, node.id()};
            case WRITE -> PlatformThreads.run("bench-fs-write", () -> a[1] >= RAW_COPY
                    ? rawWrite(path((int) a[1], a[2]), a[3], a[1] == RAW_COPY ? RawReplica.Mode.COPY
                    : RawReplica.Mode.ZERO_COPY) : write(path((int) a[1], a[2]), a[3]));
            case RAW_SERVE -> rawServe();
            case RAW_CONNECT -> rawConnect(Arrays.stream(a, 1, a.length).mapToInt(Math::toIntExact).toArray());
            case PREPARE -> PlatformThreads.run("bench-fs-prepare", () -> prepare(a[1]));
            case READ -> PlatformThreads.run("bench-fs-read", () -> read(path((int) a[1], a[2]), a[3]));
            case DELETE -> {
                Files.deleteIfExists(path((int) a[1], a[2]));
                yield new long[0];
            }
            case SMALL -> PlatformThreads.run("bench-fs-small", () -> small(dir((int) a[1], a[2]), (int) a[3]));
            case BULK_SERVE -> new long[]{bulkServe()};
            case BULK_READ -> PlatformThreads.run("bench-fs-bulk", () -> bulkRead((int) a[1], a[2], (int) a[3]));
            case HELD -> new long[]{held()};
            case CPU -> new long[]{((com.sun.management.OperatingSystemMXBean) ManagementFactory
                    .getOperatingSystemMXBean()).getProcessCpuTime()};
            case SPLIT -> PlatformThreads.run("bench-fs-split", () -> split((int) a[1], (int) a[2]));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    /** File {@code seq-N} of a side: in the krg file system (ours) or in this node's storage directory. */
    private Path path(int side, long n) throws IOException {
        return base(side).resolve((side >= RAW_COPY ? "raw-seq-" : "seq-") + n);
    }

    private Path dir(int side, long n) throws IOException {
        return base(side).resolve("small-" + n);
    }

    private Path base(int side) throws IOException {
        return switch (side) {
            case OURS -> Files.createDirectories(krgDir);
            case LOCAL, RAW_COPY, RAW_ZERO_COPY -> localDir;
            default -> throw new IllegalArgumentException("side " + side + " is neither ours nor local");
        };
    }

    /**
     * Runs {@code sync} (every dirty page of the machine to disk), then writes a local scratch file of {@code scratch}
     * bytes and deletes it, so that the next write finds that much memory the page cache has just let go of (on a VM,
     * memory left free for a few seconds may have gone back to the host, and getting it back costs several times the
     * write itself). Returns the nanoseconds of the {@code sync}, and of the scratch file's write.
     */
    private long[] prepare(long scratch) throws Exception {
        long synced = sync();
        ByteBuffer b = ByteBuffer.wrap(data);
        long s0 = System.nanoTime();
        Path scratchFile = localDir.resolve("scratch");
        try (FileChannel ch = FileChannel.open(scratchFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long at = 0; at < scratch; at += b.capacity()) {
                b.clear().limit((int) Math.min(b.capacity(), scratch - at));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        } finally {
            Files.deleteIfExists(scratchFile);
        }
        return new long[]{synced, System.nanoTime() - s0};
    }

    /**
     * Creates {@code file} with {@code FileChannel.open(file, CREATE_NEW, WRITE)}, writes {@code bytes} in writes of
     * {@link #WRITE_SIZE} from one heap buffer, and closes it (no force). Returns the nanoseconds from the open to the
     * close's return, then the p50, p99 and largest of the writes.
     */
    private long[] write(Path file, long bytes) throws IOException {
        int writeSize = WRITE_SIZE;
        ByteBuffer b = ByteBuffer.wrap(data);
        int writes = Math.toIntExact((bytes + writeSize - 1) / writeSize);
        long[] each = new long[writes];
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < writes; i++) {
                b.clear().limit((int) Math.min(writeSize, bytes - (long) i * writeSize));
                b.putLong(0, i);
                long w0 = System.nanoTime();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                each[i] = System.nanoTime() - w0;
            }
        }
        long total = System.nanoTime() - t0;
        Arrays.sort(each);
        return new long[]{total, (long) Rounds.percentile(each, 0.5), (long) Rounds.percentile(each, 0.99),
                each[writes - 1]};
    }

    /**
     * Opens {@code file}, reads it to its end in reads of {@link #WRITE_SIZE} into one heap buffer, checks its length
     * and each block's index, and closes it. Returns the nanoseconds from the open to the close's return, and the p50
     * of the reads that filled the buffer.
     *
     * @throws IllegalStateException when the bytes read are not those written
     */
    private long[] read(Path file, long bytes) throws IOException {
        int readSize = WRITE_SIZE;
        ByteBuffer b = ByteBuffer.allocate(readSize);
        int reads = Math.toIntExact((bytes + readSize - 1) / readSize);
        long[] each = new long[reads];
        long got = 0;
        int block = 0;
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (true) {
                b.clear();
                long r0 = System.nanoTime();
                int n = 0;
                while (b.hasRemaining() && (n = ch.read(b)) >= 0) {
                    got += n;
                }
                if (b.position() == 0) {
                    break;
                }
                if (block < reads) {
                    each[block] = System.nanoTime() - r0;
                }
                if (b.position() >= 8 && b.getLong(0) != block) {
                    throw new IllegalStateException(file + ": block " + block + " starts with " + b.getLong(0));
                }
                block++;
                if (n < 0) {
                    break;
                }
            }
        }
        long total = System.nanoTime() - t0;
        if (got != bytes) {
            throw new IllegalStateException(file + ": read " + got + " bytes, wrote " + bytes);
        }
        Arrays.sort(each);
        return new long[]{total, (long) Rounds.percentile(each, 0.5)};
    }

    /**
     * Creates {@code dir}, then {@code files} files in it, each with {@code FileChannel.open(CREATE_NEW, WRITE)}, one
     * write of {@value #SMALL_FILE_BYTES} bytes and a close; then deletes them and the directory (not timed).
     * Returns the nanoseconds of the creations, and the p50 and p99 of one file's.
     */
    private long[] small(Path dir, int files) throws IOException {
        Files.createDirectory(dir);
        ByteBuffer b = ByteBuffer.wrap(Arrays.copyOf(data, SMALL_FILE_BYTES));
        long[] each = new long[files];
        long t0 = System.nanoTime();
        for (int i = 0; i < files; i++) {
            long f0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(dir.resolve("f" + i), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                b.clear();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            each[i] = System.nanoTime() - f0;
        }
        long total = System.nanoTime() - t0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
        Arrays.sort(each);
        return new long[]{total, (long) Rounds.percentile(each, 0.5), (long) Rounds.percentile(each, 0.99)};
    }

    /** Runs {@code sync(1)}; its nanoseconds. */
    private static long sync() throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("sync").redirectErrorStream(true).start();
        if (!p.waitFor(SYNC_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("sync did not finish within " + SYNC_LIMIT);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("sync failed: " + new String(p.getInputStream().readAllBytes()).trim());
        }
        return System.nanoTime() - t0;
    }

    private synchronized long bulkServe() throws InterruptedException {
        if (bulkServer == null) {
            bulkServer = NettyBulk.server(transport);
        }
        return bulkServer.port();
    }

    private long[] bulkRead(int port, long bytes, int frameSize) throws Exception {
        synchronized (this) {
            if (bulkClient == null || bulkClientPort != port) {
                if (bulkClient != null) {
                    bulkClient.close();
                }
                bulkClient = new NettyBulk.Client(transport, "127.0.0.1", port);
                bulkClientPort = port;
            }
        }
        return new long[]{bulkClient.receive(bytes, frameSize, ByteBuffer.allocate(frameSize),
                Duration.ofMinutes(5))};
    }

    private synchronized long[] rawServe() throws IOException {
        if (rawServer == null) {
            rawServer = new RawReplica.Server(localDir.resolve("raw-replica"));
        }
        return new long[]{rawServer.port(), RawReplica.zeroCopyUnavailable() == null ? 1 : 0};
    }

    private synchronized long[] rawConnect(int[] ports) throws IOException {
        if (rawWriter != null) {
            rawWriter.close();
        }
        rawWriter = new RawReplica.Writer(ports);
        return new long[0];
    }

    /** {@link RawReplica.Writer#write}: {@code bytes} in writes of {@link #WRITE_SIZE}, like {@link #write}. */
    private long[] rawWrite(Path file, long bytes, RawReplica.Mode mode) throws Exception {
        if (bytes % WRITE_SIZE != 0) {
            throw new IllegalArgumentException("the raw writes take whole " + WRITE_SIZE + "-byte writes");
        }
        RawReplica.Writer w;
        synchronized (this) {
            w = rawWriter;
        }
        if (w == null) {
            throw new IllegalStateException("no RAW_CONNECT before the raw writes");
        }
        return w.write(file, data, Math.toIntExact(bytes / WRITE_SIZE), mode);
    }

    /** The bytes of the chunk files this node stores. */
    private long held() throws IOException {
        Path fs = node.kddm().storage().resolve("fs");
        if (!Files.isDirectory(fs)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(fs)) {
            long total = 0;
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                total += Files.size(p);
            }
            return total;
        }
    }

    private int sinkFile(byte[] bytes) throws IOException {
        Path f = Files.createTempFile(localDir, "sink-", "");
        try {
            writeFile(f, ByteBuffer.wrap(bytes));
        } finally {
            Files.delete(f);
        }
        return bytes.length;
    }

    private static void writeFile(Path f, ByteBuffer b) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
    }

    /**
     * Where a 4 MiB write of ours spends its time: the p50 in nanoseconds, over {@code times} tries each, of
     * <ol>
     *   <li>a local file created, written with 4 MiB and closed (what the chunk's primary does here);</li>
     *   <li>a Kerrighed RPC call carrying 4 MiB to {@code peer}, which drops them (the forward to the replica);</li>
     *   <li>the same, {@code peer} writing them to a fresh file before it answers (forward and replica's write);</li>
     *   <li>a 1-byte write into the first chunk of an existing krg file (this node its primary): the write path
     *       without its bulk (forward of a tiny piece, the inode's size and time updated);</li>
     *   <li>a 4 MiB write over an existing chunk of a krg file (no chunk allocation);</li>
     *   <li>a 4 MiB write of a new chunk at the end of a krg file (allocation too: what the benchmark's writes do);</li>
     *   <li>the work of steps 1 and 3 overlapped, as a pipelined write path could: the 4 MiB sent to {@code peer} as
     *       {@value #SPLIT_PIECE}-byte calls all in flight at once, each written to a file there, while this node
     *       writes its file.</li>
     * </ol>
     * The krg file is deleted afterwards.
     */
    private long[] split(int peer, int times) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(data);
        long[][] t = new long[7][times];
        Path local = localDir.resolve("split");
        for (int i = 0; i < times; i++) {
            long t0 = System.nanoTime();
            writeFile(local, b.clear());
            t[0][i] = System.nanoTime() - t0;
            Files.delete(local);
        }
        for (int i = 0; i < times; i++) {
            long t0 = System.nanoTime();
            node.rpc().call(peer, SINK, b.array(), SPLIT_CALL).get(SPLIT_CALL.toMillis(), TimeUnit.MILLISECONDS);
            t[1][i] = System.nanoTime() - t0;
        }
        for (int i = 0; i < times; i++) {
            long t0 = System.nanoTime();
            node.rpc().call(peer, SINK_FILE, b.array(), SPLIT_CALL).get(SPLIT_CALL.toMillis(), TimeUnit.MILLISECONDS);
            t[2][i] = System.nanoTime() - t0;
        }
        int pieces = WRITE_SIZE / SPLIT_PIECE;
        byte[][] slices = new byte[pieces][];
        for (int k = 0; k < pieces; k++) {
            slices[k] = Arrays.copyOfRange(b.array(), k * SPLIT_PIECE, (k + 1) * SPLIT_PIECE);
        }
        for (int i = 0; i < times; i++) {
            long t0 = System.nanoTime();
            List<CompletableFuture<Integer>> sent = new ArrayList<>();
            for (byte[] slice : slices) {
                sent.add(node.rpc().call(peer, SINK_FILE, slice, SPLIT_CALL));
            }
            writeFile(local, b.clear());
            for (CompletableFuture<Integer> f : sent) {
                f.get(SPLIT_CALL.toMillis(), TimeUnit.MILLISECONDS);
            }
            t[6][i] = System.nanoTime() - t0;
            Files.delete(local);
        }
        Path file = base(OURS).resolve("split");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.write(b.clear(), 0);
            ByteBuffer one = ByteBuffer.allocate(1);
            for (int i = 0; i < times; i++) {
                long t0 = System.nanoTime();
                ch.write(one.clear(), 4096L * i);
                t[3][i] = System.nanoTime() - t0;
            }
            for (int i = 0; i < times; i++) {
                long t0 = System.nanoTime();
                ch.write(b.clear(), 0);
                t[4][i] = System.nanoTime() - t0;
            }
            for (int i = 0; i < times; i++) {
                long t0 = System.nanoTime();
                ch.write(b.clear(), (long) (i + 1) * WRITE_SIZE);
                t[5][i] = System.nanoTime() - t0;
            }
        } finally {
            Files.deleteIfExists(file);
        }
        long[] p50 = new long[t.length];
        for (int k = 0; k < t.length; k++) {
            Arrays.sort(t[k]);
            p50[k] = (long) Rounds.percentile(t[k], 0.5);
        }
        return p50;
    }
}
