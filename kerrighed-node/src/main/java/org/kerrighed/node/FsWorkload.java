package org.kerrighed.node;

import org.kerrighed.fs.FsStatus;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The file-system part of {@code krg demo}: a tool has one node write a file of the cluster file system (its
 * bytes from a seeded generator, its directory's {@code krg:replication} set first) or read one, through
 * {@code java.nio.file} on the node's {@code node.fs()}, and gets the file's SHA-256 back with the file system's
 * storage figures (what {@code krg fs status} shows) as the node sees them after the operation.
 *
 * <p>Service {@link #SERVICE} (909), types 2090-2093 (range {@code kerrighed-node.demo-fs}), registered with the
 * node admin types; nodes started with {@code --demo-workload} serve it.
 */
public final class FsWorkload {
    /** Bytes per write or read call: 1 MiB. */
    static final int PIECE = 1 << 20;

    /** Write a file, read one, or only report the storage figures. */
    public enum Op {
        WRITE, READ, STATUS
    }

    /**
     * Ask a node to do {@code op} on {@code path} (absolute, in the cluster file system): WRITE creates or replaces
     * it with {@code bytes} bytes made from {@code seed}, after setting its directory's replication to
     * {@code replication} (creating the directory); READ reads it whole; STATUS only reports.
     */
    public record Request(Op op, String path, long bytes, long seed, int replication) {
        public Request {
            if (op == null) {
                throw new IllegalArgumentException("op: required");
            }
            if (op != Op.STATUS && (path == null || !path.startsWith("/") || path.equals("/"))) {
                throw new IllegalArgumentException("path: an absolute path of a file is required, got " + path);
            }
            if (op == Op.WRITE && (bytes < 0 || bytes > 1L << 30)) {
                throw new IllegalArgumentException("bytes: must be in 0-1073741824, got " + bytes);
            }
            if (op == Op.WRITE && (replication < 1 || replication > 8)) {
                throw new IllegalArgumentException("replication: must be in 1-8, got " + replication);
            }
        }
    }

    /** One node's share of the file system's storage: chunk files and their bytes. */
    public record Storage(int node, long chunks, long usedBytes) {
    }

    /**
     * What a node did and saw.
     *
     * @param node            the node that did it
     * @param bytes           the file's size (0 for STATUS)
     * @param sha256          the SHA-256 of the bytes written or read, in hex (empty for STATUS)
     * @param nanos           the write or the read, from open to close
     * @param replication     the file's {@code krg:replication} (0 for STATUS)
     * @param storage         every live node's storage, by node id
     * @param chunks          chunks in all files
     * @param underReplicated chunks with fewer live copies than their file asks for
     * @param lost            chunks with no live copy
     * @param repairsDone     chunks copied by repair since the live nodes started
     * @param repairBytes     bytes those copies moved
     */
    public record Report(int node, long bytes, String sha256, long nanos, int replication, List<Storage> storage,
                         long chunks, long underReplicated, long lost, long repairsDone, long repairBytes) {
        public Report {
            storage = new ArrayList<>(storage);
        }
    }

    public static final ServiceKey<Request, Report> SERVICE = ServiceKey.of(909, "node.fs-demo", Request.class,
            Report.class);

    private FsWorkload() {
    }

    static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node.demo-fs", 2090, 2099)
                .register(2090, Op.class)
                .register(2091, Request.class)
                .register(2092, Storage.class)
                .register(2093, Report.class);
    }

    /** Registers the service on {@code node} (as {@link DemoWorkload#install} does, and with it). */
    public static void install(Node node) {
        node.rpc().register(SERVICE, HandlerKind.BLOCKING, (ctx, r) -> serve(node, r));
    }

    static Report serve(Node node, Request r) throws IOException {
        Path file = r.op() == Op.STATUS ? null : node.fs().path(r.path());
        MessageDigest sha = sha256();
        long bytes = 0;
        long t0 = System.nanoTime();
        switch (r.op()) {
            case WRITE -> {
                Path dir = file.getParent();
                Files.createDirectories(dir);
                Files.setAttribute(dir, "krg:replication", r.replication());
                SplittableRandom random = new SplittableRandom(r.seed());
                byte[] piece = new byte[PIECE];
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    while (bytes < r.bytes()) {
                        int n = (int) Math.min(PIECE, r.bytes() - bytes);
                        random.nextBytes(piece);
                        sha.update(piece, 0, n);
                        ByteBuffer buf = ByteBuffer.wrap(piece, 0, n);
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                        bytes += n;
                    }
                }
            }
            case READ -> {
                ByteBuffer buf = ByteBuffer.allocate(PIECE);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    while (ch.read(buf.clear()) >= 0) {
                        sha.update(buf.flip());
                        bytes += buf.limit();
                    }
                }
            }
            case STATUS -> {
                // look only
            }
        }
        long nanos = System.nanoTime() - t0;
        int replication = file == null ? 0 : (Integer) Files.getAttribute(file, "krg:replication");
        FsStatus s = node.fs().status();
        List<Storage> storage = s.nodes().stream().map(n -> new Storage(n.node(), n.chunks(), n.usedBytes())).toList();
        return new Report(node.id(), bytes, file == null ? "" : HexFormat.of().formatHex(sha.digest()), nanos,
                replication, storage, s.chunks(), s.underReplicated(), s.lost(), s.repairsDone(), s.repairBytes());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
