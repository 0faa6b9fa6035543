package org.kerrighed.bench;

import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TransportKind;
import org.kerrighed.rpc.internal.Transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
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
    static final int WRITE = 1;       // side, file, bytes, write size -> see write()
    static final int READ = 2;        // side, file, bytes, read size -> see read()
    static final int DELETE = 3;      // side, file -> nothing (deletes it if present)
    static final int SMALL = 4;       // side, directory, files -> see small()
    static final int BULK_SERVE = 5;  // -> the port of this node's Netty bulk server on 127.0.0.1
    static final int BULK_READ = 6;   // port, bytes, frame size -> nanos to receive them from that server
    static final int HELD = 7;        // -> bytes of chunk files in this node's store

    static final int OURS = 0;
    static final int LOCAL = 1;
    static final int SMALL_FILE_BYTES = 4096;

    private static final Duration SYNC_LIMIT = Duration.ofMinutes(2);

    private final Node node;
    private final Path localDir;
    private final Path krgDir;
    private final Transport transport = Transport.create(TransportKind.AUTO, 1, "bench-fs-bulk");
    private NettyBulk.Server bulkServer;
    private NettyBulk.Client bulkClient;
    private int bulkClientPort;
    private byte[] data = new byte[0];

    private FsBenchNode(Node node) throws IOException {
        this.node = node;
        this.localDir = Files.createDirectories(node.kddm().storage().resolve("fsbench-local"));
        this.krgDir = node.fs().path("/fsbench");
    }

    public static void main(String[] args) throws Exception {
        ChildJvm.exitWhenParentDies();
        int id = Integer.parseInt(args[2]);
        NodeConfig.Builder b = NodeConfig.builder().clusterName(args[0]).secretFile(Path.of(args[1])).nodeId(id)
                .jmx(false).storageDir(Path.of(args[4]));
        if (!args[3].equals("-")) {
            b.seeds(List.of(HostAndPort.parse(args[3])));
        }
        Node node = Kerrighed.join(b.build());
        FsBenchNode n = new FsBenchNode(node);
        node.rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        System.out.println("READY " + id + " " + node.rpc().address() + " " + n.transport.kind());
        System.out.flush();
        Thread.currentThread().join();              // until the parent ends the JVM
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, 0, node.id()};
            case WRITE -> PlatformThreads.run("bench-fs-write", () -> write(path((int) a[1], a[2]), a[3], (int) a[4]));
            case READ -> PlatformThreads.run("bench-fs-read", () -> read(path((int) a[1], a[2]), a[3], (int) a[4]));
            case DELETE -> {
                Files.deleteIfExists(path((int) a[1], a[2]));
                yield new long[0];
            }
            case SMALL -> PlatformThreads.run("bench-fs-small", () -> small(dir((int) a[1], a[2]), (int) a[3]));
            case BULK_SERVE -> new long[]{bulkServe()};
            case BULK_READ -> PlatformThreads.run("bench-fs-bulk", () -> bulkRead((int) a[1], a[2], (int) a[3]));
            case HELD -> new long[]{held()};
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    /** File {@code seq-N} of a side: in the krg file system (ours) or in this node's storage directory. */
    private Path path(int side, long n) throws IOException {
        return base(side).resolve("seq-" + n);
    }

    private Path dir(int side, long n) throws IOException {
        return base(side).resolve("small-" + n);
    }

    private Path base(int side) throws IOException {
        return switch (side) {
            case OURS -> Files.createDirectories(krgDir);
            case LOCAL -> localDir;
            default -> throw new IllegalArgumentException("side " + side + " is neither ours nor local");
        };
    }

    /**
     * The bytes every file is made of: {@code size} pseudo-random bytes (a fixed seed), written once per block;
     * each block's first 8 bytes are overwritten with its index, which the reads check.
     */
    private ByteBuffer block(int size) {
        if (data.length != size) {
            data = new byte[size];
            new SplittableRandom(size).nextBytes(data);
        }
        return ByteBuffer.wrap(data);
    }

    /**
     * Runs {@code sync} (every dirty page of the machine to disk; not timed), then creates {@code file} with
     * {@code FileChannel.open(file, CREATE_NEW, WRITE)}, writes {@code bytes} in writes of {@code writeSize} from one
     * heap buffer, and closes it (no force). Returns the nanoseconds from the open to the close's return, then the
     * p50, p99 and largest of the writes, and the nanoseconds the {@code sync} took.
     */
    private long[] write(Path file, long bytes, int writeSize) throws Exception {
        long synced = sync();
        ByteBuffer b = block(writeSize);
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
                each[writes - 1], synced};
    }

    /**
     * Opens {@code file}, reads it to its end in reads of {@code readSize} into one heap buffer, checks its length
     * and each block's index, and closes it. Returns the nanoseconds from the open to the close's return, and the p50
     * of the reads that filled the buffer.
     *
     * @throws IllegalStateException when the bytes read are not those written
     */
    private long[] read(Path file, long bytes, int readSize) throws IOException {
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
        ByteBuffer b = ByteBuffer.wrap(Arrays.copyOf(block(SMALL_FILE_BYTES).array(), SMALL_FILE_BYTES));
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
}
