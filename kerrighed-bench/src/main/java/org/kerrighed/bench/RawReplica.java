package org.kerrighed.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * The reference of {@code krg bench fs}'s writes: the least work any write with replication 2 over TCP must do, with
 * no file system, no RPC layer and no checks around it. A writer writes its bytes to a local file and, at the same
 * time, sends them over a plain socket ({@code java.nio}, blocking, TCP_NODELAY) to a second node, which writes them
 * to a file of its own and answers one byte per write: a write returns once both copies are in the page cache, as
 * ours does. Two ways:
 *
 * <ul>
 *   <li>{@link Mode#COPY}: what a Java program does with the JDK alone. The writer's thread sends the write's heap
 *       array while a second thread writes the local copy; the receiver reads 1 MiB pieces into direct buffers and a
 *       second thread writes each to its file while the next one arrives.</li>
 *   <li>{@link Mode#ZERO_COPY}: the same with the kernel's zero-copy calls (Linux). A second thread writes the local
 *       copy in 512 KiB pieces; the writer's thread sends each piece once written with {@code sendfile(2)}
 *       ({@code FileChannel.transferTo}) from the local file's pages; the receiver moves the bytes from its socket
 *       into a pipe and from the pipe into its file with {@code splice(2)} (through the FFM API), never into user
 *       space. It needs the socket's descriptor ({@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED}, which the
 *       {@code krg} script passes).</li>
 * </ul>
 *
 * <p>Protocol, per connection: a header of two longs, {@code (OPEN, mode)} to start a fresh file (deleting the last
 * one), {@code (WRITE, n)} followed by {@code n} bytes (answered by one byte once they are in the file), {@code (CLOSE,
 * 0)} to close and delete the file (answered by its size as a long).
 */
final class RawReplica {
    static final long OPEN = -1;
    static final long CLOSE = -2;
    private static final int PIECE = 1 << 20;
    private static final int SEND_PIECE = 512 << 10;
    private static final int RING = 4;

    enum Mode { COPY, ZERO_COPY }

    private RawReplica() {
    }

    /** Null when {@link Mode#ZERO_COPY} can run in this JVM, else why not. */
    static String zeroCopyUnavailable() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return "splice(2) is Linux only";
        }
        try (SocketChannel s = SocketChannel.open(); Arena arena = Arena.ofConfined()) {
            Splice.fd(s);
            int[] pipe = Splice.pipe(arena);                  // its size too: pipe-max-size may forbid it
            Splice.closeFd(pipe[0]);
            Splice.closeFd(pipe[1]);
            return null;
        } catch (Throwable e) {
            return e.toString();
        }
    }

    /** The receiving side: accepts connections on 127.0.0.1, each served by a thread of its own, files in {@code dir}. */
    static final class Server implements AutoCloseable {
        private final ServerSocketChannel server;
        private final Path dir;
        private int files;

        Server(Path dir) throws IOException {
            this.dir = Files.createDirectories(dir);
            this.server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            Thread.ofPlatform().daemon().name("raw-replica-accept").start(this::accept);
        }

        int port() throws IOException {
            return ((InetSocketAddress) server.getLocalAddress()).getPort();
        }

        private void accept() {
            while (server.isOpen()) {
                try {
                    SocketChannel s = server.accept();
                    Thread.ofPlatform().daemon().name("raw-replica-conn").start(() -> serve(s));
                } catch (IOException e) {
                    return;                                    // closed
                }
            }
        }

        private synchronized Path nextFile() {
            return dir.resolve("raw-replica-" + files++);
        }

        private void serve(SocketChannel s) {
            ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                    .name("raw-replica-file").factory());
            try (s; Receiver r = new Receiver(s, writer)) {
                s.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ByteBuffer header = ByteBuffer.allocate(16);
                while (readFully(s, header.clear())) {
                    long op = header.getLong(0);
                    long arg = header.getLong(8);
                    if (op == OPEN) {
                        r.open(nextFile(), Mode.values()[(int) arg]);
                    } else if (op == CLOSE) {
                        long size = r.finish();
                        writeFully(s, ByteBuffer.allocate(8).putLong(0, size));
                    } else if (op >= 0 && arg > 0) {
                        r.receive(arg);
                        writeFully(s, ByteBuffer.allocate(1));
                    } else {
                        throw new IOException("bad header " + op + ", " + arg);
                    }
                }
            } catch (Throwable e) {
                System.err.println("raw replica: connection ended: " + e);
            } finally {
                writer.shutdownNow();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** One connection's file on the receiving side. */
    private static final class Receiver implements AutoCloseable {
        private final SocketChannel socket;
        private final ExecutorService writer;
        private final ByteBuffer[] ring = new ByteBuffer[RING];
        private Path path;
        private FileChannel file;
        private Mode mode;
        private Splice splice;
        private long position;

        Receiver(SocketChannel socket, ExecutorService writer) {
            this.socket = socket;
            this.writer = writer;
            for (int i = 0; i < RING; i++) {
                ring[i] = ByteBuffer.allocateDirect(PIECE);
            }
        }

        void open(Path p, Mode m) throws IOException {
            finish();
            path = p;
            mode = m;
            position = 0;
            if (m == Mode.ZERO_COPY) {
                splice = new Splice(Splice.fd(socket), p);
            } else {
                file = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
        }

        /** Receives {@code n} bytes into the file: pipelined through the ring, or spliced. */
        void receive(long n) throws Exception {
            if (mode == Mode.ZERO_COPY) {
                position = splice.transfer(n, position);
                return;
            }
            Future<?>[] written = new Future<?>[RING];
            int k = 0;
            for (long left = n; left > 0; k = (k + 1) % RING) {
                if (written[k] != null) {
                    written[k].get();
                }
                ByteBuffer b = ring[k].clear().limit((int) Math.min(left, PIECE));
                if (!readFully(socket, b)) {
                    throw new IOException("the writer left mid-write");
                }
                b.flip();
                left -= b.limit();
                long at = position;
                position += b.limit();
                written[k] = writer.submit(() -> {
                    long q = at;
                    while (b.hasRemaining()) {
                        q += file.write(b, q);
                    }
                    return null;
                });
            }
            for (Future<?> f : written) {
                if (f != null) {
                    f.get();
                }
            }
        }

        @Override
        public void close() throws IOException {
            finish();
        }

        /** Closes and deletes the file; its size. */
        long finish() throws IOException {
            if (path == null) {
                return 0;
            }
            try {
                return Files.size(path);
            } finally {
                try (FileChannel f = file) {
                    if (splice != null) {
                        splice.close();
                    }
                } finally {
                    file = null;
                    splice = null;
                    Path p = path;
                    path = null;
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * {@code splice(2)} from a socket into a file through a pipe of 1 MiB, with the FFM API: the bytes go from the
     * socket's buffers to the page cache without entering user space.
     */
    private static final class Splice implements AutoCloseable {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup LIBC = LINKER.defaultLookup();
        private static final StructLayout STATE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        private static final MethodHandle SPLICE = LINKER.downcallHandle(LIBC.find("splice").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
        private static final MethodHandle PIPE2 = LINKER.downcallHandle(LIBC.find("pipe2").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        private static final MethodHandle FCNTL = LINKER.downcallHandle(LIBC.find("fcntl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
        private static final MethodHandle OPEN = LINKER.downcallHandle(LIBC.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
        private static final MethodHandle CLOSE_FD = LINKER.downcallHandle(LIBC.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        private static final int F_SETPIPE_SZ = 1031;
        private static final int O_WRONLY_CREAT_EXCL = 01 | 0100 | 0200;
        private static final int SPLICE_F_MOVE = 1;
        private static final int SPLICE_F_MORE = 4;

        private final Arena arena = Arena.ofConfined();
        private final MemorySegment state = arena.allocate(STATE);
        private final MemorySegment offset = arena.allocate(ValueLayout.JAVA_LONG);
        private final int socket;
        private final int pipeIn;
        private final int pipeOut;
        private final int file;

        Splice(int socket, Path p) throws IOException {
            this.socket = socket;
            int[] pipe = null;
            int f;
            try {
                pipe = pipe(arena);
                f = check((int) OPEN.invokeExact(arena.allocateFrom(p.toString()), O_WRONLY_CREAT_EXCL, 0644),
                        "open " + p);
            } catch (Throwable t) {
                if (pipe != null) {
                    closeFd(pipe[0]);
                    closeFd(pipe[1]);
                }
                arena.close();
                throw io(t);
            }
            pipeOut = pipe[0];
            pipeIn = pipe[1];
            file = f;
        }

        /** A pipe of {@value #PIECE} bytes, {read end, write end}; none is left open when its size cannot be set. */
        static int[] pipe(Arena arena) throws Throwable {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            check((int) PIPE2.invokeExact(fds, 0), "pipe2");
            int[] pipe = {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
            try {
                check((int) FCNTL.invokeExact(pipe[1], F_SETPIPE_SZ, PIECE), "fcntl(F_SETPIPE_SZ, " + PIECE + ")");
            } catch (Throwable t) {
                closeFd(pipe[0]);
                closeFd(pipe[1]);
                throw t;
            }
            return pipe;
        }

        static void closeFd(int fd) {
            try {
                int ignored = (int) CLOSE_FD.invokeExact(fd);
            } catch (Throwable ignored) {
                // best effort
            }
        }

        private static IOException io(Throwable t) {
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            return t instanceof IOException io ? io : new IOException(t);
        }

        /** The descriptor of a JDK socket channel (needs {@code sun.nio.ch} opened to this module). */
        static int fd(SocketChannel s) throws IOException {
            try {
                var m = s.getClass().getMethod("getFDVal");
                m.setAccessible(true);
                return (int) m.invoke(s);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IOException("no descriptor for the socket (run with --add-opens"
                        + " java.base/sun.nio.ch=ALL-UNNAMED): " + e, e);
            }
        }

        /** Moves {@code n} bytes from the socket to the file at {@code at}; the position after them. */
        long transfer(long n, long at) throws IOException {
            try {
                for (long left = n; left > 0; ) {
                    long in = (long) SPLICE.invokeExact(state, socket, MemorySegment.NULL, pipeIn, MemorySegment.NULL,
                            Math.min(left, PIECE), SPLICE_F_MOVE | SPLICE_F_MORE);
                    if (in <= 0) {
                        throw new IOException(in == 0 ? "the writer left mid-write" : "splice from the socket: errno "
                                + (int) ERRNO.get(state, 0L));
                    }
                    left -= in;
                    while (in > 0) {
                        offset.set(ValueLayout.JAVA_LONG, 0, at);
                        long out = (long) SPLICE.invokeExact(state, pipeOut, MemorySegment.NULL, file, offset, in,
                                SPLICE_F_MOVE);
                        if (out <= 0) {
                            throw new IOException("splice to the file: errno " + (int) ERRNO.get(state, 0L));
                        }
                        in -= out;
                        at += out;
                    }
                }
                return at;
            } catch (Throwable t) {
                throw io(t);
            }
        }

        private static int check(int rc, String what) throws IOException {
            if (rc < 0) {
                throw new IOException(what + " failed");
            }
            return rc;
        }

        @Override
        public void close() {
            closeFd(file);
            closeFd(pipeIn);
            closeFd(pipeOut);
            arena.close();
        }
    }

    /**
     * The writing side: one connection to each of {@code ports} (the second copies go to them in turn, one write
     * each, as a krg file's chunks do) and a thread for the local copy.
     */
    static final class Writer implements AutoCloseable {
        private final SocketChannel[] replicas;
        private final ExecutorService local = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                .name("raw-replica-local").factory());

        Writer(int... ports) throws IOException {
            replicas = new SocketChannel[ports.length];
            for (int i = 0; i < ports.length; i++) {
                replicas[i] = SocketChannel.open(new InetSocketAddress("127.0.0.1", ports[i]));
                replicas[i].setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
        }

        /**
         * Writes {@code writes} copies of {@code data} (each write's first 8 bytes its index) to a fresh local file
         * {@code file} and to the replicas, in {@code mode}; returns the nanoseconds from the open to the close, then
         * the p50, p99 and largest of the writes, like {@code FsBenchNode.write}.
         *
         * @throws IllegalStateException when a replica's file does not hold its share of the bytes
         */
        long[] write(Path file, byte[] data, int writes, Mode mode) throws Exception {
            for (SocketChannel s : replicas) {
                header(s, OPEN, mode.ordinal());
            }
            long[] each = new long[writes];
            long[] sent = new long[replicas.length];
            long t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                for (int i = 0; i < writes; i++) {
                    ByteBuffer.wrap(data).putLong(0, i);
                    long w0 = System.nanoTime();
                    SocketChannel s = replicas[i % replicas.length];
                    long at = (long) i * data.length;
                    if (mode == Mode.COPY) {
                        Future<?> mine = local.submit(() -> writeAt(ch, ByteBuffer.wrap(data), at));
                        header(s, 0, data.length);
                        writeFully(s, ByteBuffer.wrap(data));
                        mine.get();
                    } else {
                        int pieces = (data.length + SEND_PIECE - 1) / SEND_PIECE;
                        Semaphore written = new Semaphore(0);
                        Future<?> mine = local.submit(() -> {
                            try {
                                for (int p = 0; p < data.length; p += SEND_PIECE) {
                                    writeAt(ch, ByteBuffer.wrap(data, p, Math.min(SEND_PIECE, data.length - p)),
                                            at + p);
                                    written.release();
                                }
                            } finally {
                                written.release(pieces);       // a failed write wakes the sender, which stops
                            }
                            return null;
                        });
                        header(s, 0, data.length);
                        for (int p = 0; p < data.length; p += SEND_PIECE) {
                            written.acquire();
                            if (mine.isDone()) {
                                mine.get();                    // throws when the local write failed
                            }
                            long q = at + p;
                            for (long left = Math.min(SEND_PIECE, data.length - p); left > 0; ) {
                                long n = ch.transferTo(q, left, s);   // 0 at times, for no reason given
                                if (n <= 0 && q >= ch.size()) {
                                    throw new IOException("the local file ends before byte " + q);
                                }
                                q += n;
                                left -= n;
                            }
                        }
                        mine.get();
                    }
                    if (!readFully(s, ByteBuffer.allocate(1))) {
                        throw new IOException("a replica left");
                    }
                    sent[i % replicas.length] += data.length;
                    each[i] = System.nanoTime() - w0;
                }
            }
            long total = System.nanoTime() - t0;
            for (int k = 0; k < replicas.length; k++) {
                header(replicas[k], CLOSE, 0);
                ByteBuffer size = ByteBuffer.allocate(8);
                if (!readFully(replicas[k], size) || size.getLong(0) != sent[k]) {
                    throw new IllegalStateException("replica " + k + " holds " + size.getLong(0) + " bytes of the "
                            + sent[k] + " sent");
                }
            }
            java.util.Arrays.sort(each);
            return new long[]{total, (long) Rounds.percentile(each, 0.5), (long) Rounds.percentile(each, 0.99),
                    each[writes - 1]};
        }

        private static Void writeAt(FileChannel ch, ByteBuffer b, long at) throws IOException {
            while (b.hasRemaining()) {
                at += ch.write(b, at);
            }
            return null;
        }

        private static void header(SocketChannel s, long op, long arg) throws IOException {
            writeFully(s, ByteBuffer.allocate(16).putLong(0, op).putLong(8, arg));
        }

        @Override
        public void close() throws IOException {
            local.shutdownNow();
            for (SocketChannel s : replicas) {
                s.close();
            }
        }
    }

    static boolean readFully(SocketChannel s, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (s.read(b) < 0) {
                if (b.position() == 0) {
                    return false;
                }
                throw new IOException("the connection ended mid-message");
            }
        }
        return true;
    }

    static void writeFully(SocketChannel s, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            s.write(b);
        }
    }
}
