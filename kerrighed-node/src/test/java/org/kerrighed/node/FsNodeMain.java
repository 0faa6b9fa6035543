package org.kerrighed.node;

import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

/**
 * A node in a JVM of its own for {@link FsCrashTest}: {@code CLUSTER SECRET-FILE ID [JOIN-ADDRESS]}, keeping its
 * files under {@code target/fs-crash/CLUSTER} so that a restarted node finds its chunks again. Serves
 * {@link #WRITE} (a thread writes a file block by block and prints {@code ACK path bytes} after each write returned,
 * then {@code DONE path}), {@link #CHECK} (reads a file and compares it with what {@code WRITE} writes) and
 * {@link #READ_LOOP} (a thread checks a file again and again, printing {@code PASS path n OK|reason}).
 */
public final class FsNodeMain {
    /** A file of {@code bytes} bytes written in blocks of {@link #BLOCK}, block {@code i} seeded by {@code seed + i}. */
    public record FileSpec(String path, long bytes, long seed) {
    }

    public static final int BLOCK = 1 << 20;

    public static final TypeRegistrar TYPES = b -> b.range("fs-crash-test", 30_130, 30_139)
            .register(30_130, FileSpec.class);

    public static final ServiceKey<FileSpec, Boolean> WRITE = ServiceKey.of(5020, "test.fs.write", FileSpec.class,
            Boolean.class);
    public static final ServiceKey<FileSpec, String> CHECK = ServiceKey.of(5021, "test.fs.check", FileSpec.class,
            String.class);
    public static final ServiceKey<FileSpec, Boolean> READ_LOOP = ServiceKey.of(5022, "test.fs.read-loop",
            FileSpec.class, Boolean.class);

    private FsNodeMain() {
    }

    static byte[] block(long seed, long index, int length) {
        byte[] b = new byte[length];
        new Random(seed * 1_000_003L + index).nextBytes(b);
        return b;
    }

    /** Writes {@code f} from the start, block by block, calling {@code acked} after each write returned. */
    static void write(Node node, FileSpec f, java.util.function.LongConsumer acked) throws IOException {
        try (FileChannel ch = FileChannel.open(node.fs().path(f.path()), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            for (long at = 0, i = 0; at < f.bytes(); i++) {
                int n = (int) Math.min(BLOCK, f.bytes() - at);
                ByteBuffer b = ByteBuffer.wrap(block(f.seed(), i, n));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                at += n;
                acked.accept(at);
            }
        }
    }

    /** "OK", or what differs, reading the first {@code upTo} bytes of {@code f}. */
    static String check(Node node, FileSpec f, long upTo) {
        try (FileChannel ch = FileChannel.open(node.fs().path(f.path()), StandardOpenOption.READ)) {
            if (ch.size() < upTo) {
                return "size " + ch.size() + " < " + upTo;
            }
            ByteBuffer b = ByteBuffer.allocate(BLOCK);
            for (long at = 0, i = 0; at < upTo; i++) {
                int n = (int) Math.min(BLOCK, upTo - at);
                b.clear().limit(n);
                while (b.hasRemaining()) {
                    if (ch.read(b, at + b.position()) < 0) {
                        return "end of file at " + (at + b.position());
                    }
                }
                if (!Arrays.equals(b.array(), 0, n, block(f.seed(), i, n), 0, n)) {
                    return "block " + i + " differs";
                }
                at += n;
            }
            return "OK";
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    static void serve(Node node) {
        node.rpc().register(WRITE, HandlerKind.BLOCKING, (ctx, f) -> {
            Thread.ofPlatform().daemon().name("writer").start(() -> {
                try {
                    write(node, f, at -> System.out.println("ACK " + f.path() + " " + at));
                    System.out.println("DONE " + f.path());
                } catch (IOException | RuntimeException e) {
                    System.out.println("FAILED " + f.path() + " " + e);
                }
            });
            return true;
        });
        node.rpc().register(CHECK, HandlerKind.BLOCKING, (ctx, f) -> check(node, f, f.bytes()));
        node.rpc().register(READ_LOOP, HandlerKind.BLOCKING, (ctx, f) -> {
            Thread.ofPlatform().daemon().name("reader").start(() -> {
                for (int n = 1; ; n++) {
                    System.out.println("PASS " + f.path() + " " + n + " " + check(node, f, f.bytes()));
                }
            });
            return true;
        });
    }

    public static void main(String[] args) throws Exception {
        Path storage = Path.of("target", "fs-crash", args[0]).toAbsolutePath();
        Node node = ChildNodes.join(args, (NodeConfig.Builder b) -> b.storageDir(storage).fs(Long.MAX_VALUE, 1 << 20, 2),
                TYPES);
        serve(node);
        ChildNodes.serveUntilStopped(node);
    }
}
