package org.kerrighed.bench;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.CheckpointOptions;
import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.MigrationReport;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One node of {@code krg bench migration}, in a JVM of its own: a Kerrighed node whose process layer runs the
 * benchmark's {@link Idle} processes and moves them, and which answers the peer's round trips ({@link #SINK}). Its
 * frames may be as large as {@link #MAX_FRAME_BYTES}, so that one round trip can carry a whole 64 MiB ghost. The
 * benchmark's JVM steers it through {@link #CONTROL}; measurements run here, on platform threads.
 *
 * <p>Arguments: {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- STORAGE-DIR}. Prints {@code READY node-id rpc-address}.
 */
public final class MigrationBenchNode {
    /** Commands, the first element of a {@link #CONTROL} request; replies are {@code long[]}. */
    static final ServiceKey<long[], long[]> CONTROL = ServiceKey.of(964, "bench.migration.control", long[].class,
            long[].class);
    static final int STATUS = 0;    // -> kddm members, 0, node id
    static final int SPAWN = 1;     // state bytes, busy (0/1) -> pid of an Idle (or Busy) process started here
    static final int MIGRATE = 2;   // pid, target -> see migrate()
    static final int SEND = 3;      // peer, bytes, calls -> nanos of each round trip
    static final int KILL = 4;      // pid -> nothing
    static final int CHECKPOINT = 5;  // pid -> see checkpoint()
    static final int WRITE_FILE = 6;  // bytes -> nanos to write and fsync them to a fresh file

    /** The peer's round trip: a request of the ghost's size, a reply of its length. */
    static final ServiceKey<byte[], Integer> SINK = ServiceKey.of(965, "bench.migration.sink", byte[].class,
            Integer.class);

    /** The benchmark's types (an application's range: every node registers them, tools need not). */
    static final TypeRegistrar TYPES = b -> b.range("kerrighed-bench.migration", 29_010, 29_019)
            .register(29_010, Idle.class).register(29_011, Busy.class);

    static final int MAX_FRAME_BYTES = 256 << 20;
    private static final Duration STEP = Duration.ofNanos(100_000);
    private static final Duration WAIT = Duration.ofSeconds(60);

    /**
     * The moved process: its state is {@code state} (random bytes, so that no layer could shrink them), and its steps
     * are empty, with a rest of {@link #STEP} between two ({@link ProcessContext#nextStepAfter}): it waits at a safe
     * point, where a move starts at once, and does not hold a core as {@link Busy} does.
     */
    static class Idle implements StepProgram {
        byte[] state;

        Idle() {
        }

        Idle(int bytes) {
            state = new byte[bytes];
            new SplittableRandom(bytes).nextBytes(state);
        }

        @Override
        public boolean step(ProcessContext ctx) {
            ctx.nextStepAfter(STEP);
            return false;
        }
    }

    /** An {@link Idle} process whose steps are empty: it computes without ever blocking, moving between two steps. */
    static final class Busy extends Idle {
        private Busy() {
        }

        Busy(int bytes) {
            super(bytes);
        }

        @Override
        public boolean step(ProcessContext ctx) {
            return false;
        }
    }

    private final Node node;

    private MigrationBenchNode(Node node) {
        this.node = node;
    }

    public static void main(String[] args) throws Exception {
        ChildJvm.exitWhenParentDies();
        Node node = Kerrighed.join(BenchNodeArgs.config(args, 4).maxFrameBytes(MAX_FRAME_BYTES).build(), TYPES);
        MigrationBenchNode n = new MigrationBenchNode(node);
        node.rpc().register(SINK, HandlerKind.NON_BLOCKING, (ctx, bytes) -> bytes.length);
        node.rpc().register(CONTROL, HandlerKind.BLOCKING, (ctx, a) -> n.control(a));
        BenchNodeArgs.serve(node, "");
    }

    long[] control(long[] a) throws Exception {
        return switch ((int) a[0]) {
            case STATUS -> new long[]{node.kddm().members().length, 0, node.id()};
            case SPAWN -> new long[]{spawn((int) a[1], a.length > 2 && a[2] == 1)};
            case MIGRATE -> PlatformThreads.run("bench-migration-move", () -> migrate((int) a[1], (int) a[2]));
            case SEND -> PlatformThreads.run("bench-migration-rtt", () -> send((int) a[1], (int) a[2], (int) a[3]));
            case CHECKPOINT -> PlatformThreads.run("bench-checkpoint", () -> checkpoint((int) a[1]));
            case WRITE_FILE -> PlatformThreads.run("bench-write-file", () -> writeFile(a[1]));
            case KILL -> {
                node.epm().kill((int) a[1], Signal.KILL);
                yield new long[0];
            }
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        };
    }

    /**
     * Starts an {@link Idle} process (a {@link Busy} one with {@code busy}) with {@code bytes} of state on this node,
     * allowed to migrate and to be checkpointed; its pid.
     */
    private int spawn(int bytes, boolean busy) {
        Capabilities migratable = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE).plus(Capability.CHECKPOINTABLE);
        StepProgram p = busy ? new Busy(bytes) : new Idle(bytes);
        return node.epm().spawn(p, SpawnOptions.defaults().onNode(node.id()).capabilities(migratable)).pid();
    }

    /**
     * Moves process {@code pid} (running here) to node {@code target}. Returns, in nanoseconds, the time from the
     * {@code migrate} call to its return, then the ghost's size in bytes, then the report's safe point, export,
     * transfer and commit phases (NaN phases as -1).
     */
    private long[] migrate(int pid, int target) {
        long t0 = System.nanoTime();
        MigrationReport m = node.epm().migrate(pid, target);
        long elapsed = System.nanoTime() - t0;
        if (m.to() != target) {
            throw new IllegalStateException("process " + pid + " moved to node " + m.to() + ", not " + target);
        }
        return new long[]{elapsed, m.bytes(), nanos(m.safepoint()), nanos(m.export()), nanos(m.transfer()),
                nanos(m.commit())};
    }

    /**
     * Checkpoints the application of process {@code pid} (running here) into a fresh directory of this node's storage,
     * which it deletes afterwards. Returns, in nanoseconds, the time from the {@code checkpoint} call to its return,
     * then the bytes written, then the report's freeze and write phases.
     */
    private long[] checkpoint(int pid) throws Exception {
        Path dir = java.nio.file.Files.createTempDirectory(java.nio.file.Files.createDirectories(node.kddm().storage()),
                "bench-ckpt-");
        try {
            long t0 = System.nanoTime();
            CheckpointReport r = node.epm().checkpoint(pid, CheckpointOptions.defaults().inDirectory(dir));
            long elapsed = System.nanoTime() - t0;
            return new long[]{elapsed, r.bytes(), nanos(r.freeze()), nanos(r.write())};
        } finally {
            deleteTree(dir);
        }
    }

    /** Writes {@code bytes} random bytes to a fresh file of this node's storage, 1 MiB a write, and fsyncs it. */
    private long[] writeFile(long bytes) throws Exception {
        byte[] data = new byte[1 << 20];
        new SplittableRandom(bytes).nextBytes(data);
        Path f = java.nio.file.Files.createTempFile(java.nio.file.Files.createDirectories(node.kddm().storage()),
                "bench-file-", ".bin");
        try {
            long t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                for (long left = bytes; left > 0; ) {
                    ByteBuffer b = ByteBuffer.wrap(data, 0, (int) Math.min(data.length, left));
                    while (b.hasRemaining()) {
                        left -= ch.write(b);
                    }
                }
                ch.force(true);
            }
            return new long[]{System.nanoTime() - t0};
        } finally {
            java.nio.file.Files.deleteIfExists(f);
        }
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var walk = java.nio.file.Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(p);
            }
        }
    }

    private static long nanos(double ms) {
        return Double.isFinite(ms) ? Math.round(ms * 1e6) : -1;
    }

    /** {@code calls} round trips to node {@code peer}, one at a time, each carrying {@code bytes}; their nanos. */
    private long[] send(int peer, int bytes, int calls) throws Exception {
        byte[] payload = new byte[bytes];
        new SplittableRandom(bytes).nextBytes(payload);
        long[] t = new long[calls];
        for (int i = 0; i < calls; i++) {
            long t0 = System.nanoTime();
            int got = node.rpc().call(peer, SINK, payload).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            t[i] = System.nanoTime() - t0;
            if (got != bytes) {
                throw new IllegalStateException("node " + peer + " received " + got + " bytes of " + bytes);
            }
        }
        return t;
    }
}
