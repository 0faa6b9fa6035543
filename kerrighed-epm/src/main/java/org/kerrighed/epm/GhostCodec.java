package org.kerrighed.epm;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.ClosureSerializer;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import com.esotericsoftware.kryo.util.Pool;
import org.kerrighed.fs.FileHandle;
import org.kerrighed.fs.KrgFileChannel;
import org.kerrighed.fs.KrgFileSystemProvider;
import org.kerrighed.ipc.ClusterLock;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.ipc.PipeEndHandle;
import org.kerrighed.ipc.PipeReadEnd;
import org.kerrighed.ipc.PipeWriteEnd;
import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.TypeRegistry;
import org.objenesis.strategy.StdInstantiatorStrategy;

import java.nio.channels.Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes a process's image into a ghost body and reads it back, with one Kryo per class loader (the node's, or an
 * application's). Registered classes keep their ids; other classes are named and resolved by the loader. References
 * are kept (a program's objects may share or cycle).
 *
 * <p>Handles are not copied: they are written as what they name and bound again on the reading node through a
 * {@link Binding} (see {@link StepProgram} for the list). A handle that cannot travel (a thread, a class loader,
 * a channel of this JVM) fails the write with a message naming the field. Thread-safe.
 */
final class GhostCodec {
    private static final Object BINDING = new Object();

    private final TypeRegistry registry;
    private final Map<ClassLoader, Pool<Kryo>> pools = new ConcurrentHashMap<>();

    GhostCodec(TypeRegistry registry) {
        this.registry = registry;
    }

    /**
     * The handles met while writing (their owners close them once the process left) or opened while reading (closed
     * again if the import is abandoned), and, when reading, the node and the process they are bound to.
     */
    static final class Binding {
        final Epm epm;
        final org.kerrighed.epm.internal.EpmWire.Remap remap;   // reading a restart: new pids and segment ids
        boolean mayNotBlock;                        // reading on an I/O thread: a handle that needs a call stops it
        LocalProcess process;                       // reading: the process being rebuilt
        final List<Segment> segments = new ArrayList<>();
        final List<Channel> pipeEnds = new ArrayList<>();
        final List<Channel> files = new ArrayList<>();

        Binding(Epm epm) {
            this(epm, null);
        }

        Binding(Epm epm, org.kerrighed.epm.internal.EpmWire.Remap remap) {
            this.epm = epm;
            this.remap = remap;
        }

        long segment(long id) {
            return remap == null ? id : remap.segments().getOrDefault(id, id);
        }

        long pipe(long id) {
            return remap == null ? id : remap.pipes().getOrDefault(id, id);
        }

        /** Stops a read that may not block before a handle that needs messages is bound. */
        void mayBlock() {
            if (mayNotBlock) {
                throw new WouldBlock();
            }
        }

        int pid(int pid) {
            return remap == null ? pid : remap.pids().getOrDefault(pid, pid);
        }

        /** Closes what a read opened (an import abandoned), or what a write met (the process left). */
        void closeAll() {
            for (Channel c : files) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing a cluster file channel only forgets it here
                }
            }
            for (Channel c : pipeEnds) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing a pipe end does not fail in practice; nothing to do if it does
                }
            }
            for (Segment s : segments) {
                try {
                    s.close();
                } catch (RuntimeException ignored) {
                    // detaching is best effort here: the node's attachment count is repaired at its death
                }
            }
        }
    }

    /**
     * Writes a ghost: the header, then {@code identity} and {@code state}, into a buffer first sized for
     * {@code sizeHint} bytes (the process's last ghost).
     *
     * @return the sealed bytes
     * @throws MigrationException when a part of the state cannot travel
     */
    Sealed write(ClassLoader loader, byte[] header, Object identity, Object state, Binding binding, int maxBytes,
                 int sizeHint) {
        int initial = (int) Math.min(maxBytes, Math.max(4096L, sizeHint + sizeHint / 16L + 4096));
        Output out = new Output(initial, maxBytes);              // sized from the last ghost: no regrowth copies
        writeBody(loader, out, header, identity, state, binding);
        Ghost.seal(out.getBuffer(), out.position());
        return new Sealed(out.getBuffer(), out.position());
    }

    /**
     * Writes a ghost straight into {@code out}, a message being encoded (no buffer of the ghost's size), and seals it
     * there ({@code out} is a {@link org.kerrighed.rpc.internal.codec.RewritableOutput}). Returns its length.
     *
     * @throws MigrationException when a part of the state cannot travel, or the ghost exceeds {@code maxBytes}
     */
    int writeInto(Output out, ClassLoader loader, byte[] header, Object identity, Object state, Binding binding,
                  int maxBytes) {
        if (!(out instanceof org.kerrighed.rpc.internal.codec.RewritableOutput written)) {
            throw new IllegalArgumentException("a ghost is written into a message by the RPC codec's output");
        }
        long start = out.total();
        writeBody(loader, out, header, identity, state, binding);
        long length = out.total() - start;
        if (length > maxBytes) {
            throw new MigrationException("the state of the process cannot travel: its ghost of " + length
                    + " bytes exceeds the limit of " + maxBytes);
        }
        written.rewrite(start + Ghost.SEALED_AT, java.nio.ByteBuffer.wrap(Ghost.sealed(written.written(start,
                out.total()))));
        return (int) length;
    }

    /** Writes {@code header}, then {@code identity} and {@code state} in Kryo, into {@code out}. */
    private void writeBody(ClassLoader loader, Output out, byte[] header, Object identity, Object state,
                           Binding binding) {
        Pool<Kryo> pool = pool(loader);
        Kryo k = pool.obtain();
        try {
            k.getContext().put(BINDING, binding);
            out.writeBytes(header);
            k.writeClassAndObject(out, identity);
            k.writeClassAndObject(out, state);
            out.flush();
        } catch (KryoException | IllegalArgumentException | UnsupportedOperationException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof org.kerrighed.rpc.FrameTooLargeException tooLarge) {
                    throw tooLarge;                             // it outgrew the message it is written into
                }
            }
            throw new MigrationException("the state of the process cannot travel: " + firstLine(e.getMessage()), e);
        } finally {
            k.getContext().remove(BINDING);
            k.reset();
            pool.free(k);
        }
    }

    /**
     * Writes a ghost into file {@code ch} from its start, the state streamed through a 1 MiB buffer (no buffer of the
     * ghost's size, and the file is written while the state is serialized). Returns the ghost's length.
     *
     * @throws MigrationException when a part of the state cannot travel
     */
    long write(ClassLoader loader, byte[] header, Object identity, Object state, Binding binding,
               java.nio.channels.FileChannel ch) throws java.io.IOException {
        Pool<Kryo> pool = pool(loader);
        Kryo k = pool.obtain();
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        long[] body = new long[1];
        java.io.OutputStream file = new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws java.io.IOException {
                crc.update(b, off, len);
                java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b, off, len);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                body[0] += len;
            }
        };
        try {
            k.getContext().put(BINDING, binding);
            java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(header);
            ch.position(0);
            while (h.hasRemaining()) {
                ch.write(h);
            }
            Output out = new Output(file, 1 << 20);
            k.writeClassAndObject(out, identity);
            k.writeClassAndObject(out, state);
            out.flush();
            Ghost.seal(ch, body[0], (int) crc.getValue());
            return header.length + body[0];
        } catch (KryoException | IllegalArgumentException | UnsupportedOperationException e) {
            if (e.getCause() instanceof java.io.IOException io) {
                throw io;
            }
            throw new MigrationException("the state of the process cannot travel: " + firstLine(e.getMessage()), e);
        } finally {
            k.getContext().remove(BINDING);
            k.reset();
            pool.free(k);
        }
    }

    /** A ghost read where it may not block holds a handle that needs messages to bind: read it elsewhere. */
    static final class WouldBlock extends RuntimeException {
        WouldBlock() {
            super("the ghost holds handles that need messages to bind", null, false, false);
        }
    }

    /** A ghost's bytes: {@code buf[0..length)}. */
    record Sealed(byte[] buf, int length) {
    }

    /** Makes the process a ghost's state binds to, from its identity. */
    interface Rebuild {
        LocalProcess make(ProcessImage.Identity identity);
    }

    /**
     * Reads a ghost body: the identity, then {@code make} builds the process that the state's handles bind to, then
     * the state.
     *
     * @throws GhostException when the body does not decode
     */
    ProcessImage.State read(ClassLoader loader, java.nio.ByteBuffer ghost, Ghost.Header h, Binding binding,
                            Rebuild make, String source) {
        Pool<Kryo> pool = pool(loader);
        Kryo k = pool.obtain();
        LocalProcess previous = Epm.CURRENT.get();
        try {
            k.getContext().put(BINDING, binding);
            Input in = org.kerrighed.rpc.internal.codec.BoundedInput.of(ghost.slice(ghost.position() + h.bodyOffset(),
                    (int) h.bodyLength()));
            Object id = k.readClassAndObject(in);
            if (!(id instanceof ProcessImage.Identity identity)) {
                throw new GhostException(source + " does not start with a process identity");
            }
            binding.process = make.make(identity);
            Epm.CURRENT.set(binding.process);           // handles attach and open as the process
            Object st = k.readClassAndObject(in);
            if (!(st instanceof ProcessImage.State state) || state.program() == null) {
                throw new GhostException(source + " holds no process state");
            }
            return state;
        } catch (KryoException | IllegalArgumentException | LinkageError | ClassCastException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof WouldBlock w) {
                    throw w;
                }
            }
            throw new GhostException(source + " cannot be read on node " + binding.epm.nodeId() + ": "
                    + firstLine(e.getMessage()), e);
        } finally {
            if (previous == null) {
                Epm.CURRENT.remove();
            } else {
                Epm.CURRENT.set(previous);
            }
            k.getContext().remove(BINDING);
            k.reset();
            pool.free(k);
        }
    }

    private Pool<Kryo> pool(ClassLoader loader) {
        return pools.computeIfAbsent(loader, l -> new Pool<>(true, false, 8) {
            @Override
            protected Kryo create() {
                return newKryo(l);
            }
        });
    }

    /** Makes one Kryo for {@code loader} ahead of use (registering every type takes a while the first time). */
    void warm(ClassLoader loader) {
        Pool<Kryo> pool = pool(loader);
        pool.free(pool.obtain());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Kryo newKryo(ClassLoader loader) {
        Kryo k = new Kryo();
        k.setClassLoader(loader);
        k.setRegistrationRequired(false);
        k.setReferences(true);
        k.setAutoReset(false);                       // identity and state share one reference graph
        k.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
        for (TypeRegistry.Entry e : registry.entries()) {
            if (e.serializer() != null) {
                k.register(e.type(), (Serializer) e.serializer(), e.id());
            } else {
                k.register(e.type(), e.id());
            }
        }
        k.register(ClosureSerializer.Closure.class, new ClosureSerializer());   // serializable lambdas (handlers)
        k.addDefaultSerializer(LocalProcess.class, new Bound<>(b -> b.process, "the context of another process"));
        k.addDefaultSerializer(Epm.class, new Bound<>(b -> b.epm, null));
        k.addDefaultSerializer(Ipc.class, new Bound<>(b -> b.epm.ipc(), null));
        k.addDefaultSerializer(SharedMemory.class, new Bound<>(b -> b.epm.shm(), null));
        handle(k, ClusterLock.class, new LockSerializer());          // registered as node-bound: re-bound here
        handle(k, Segment.class, new SegmentSerializer());
        handle(k, PipeReadEnd.class, new PipeEndSerializer<>(PipeReadEnd.class));
        handle(k, PipeWriteEnd.class, new PipeEndSerializer<>(PipeWriteEnd.class));
        handle(k, KrgFileChannel.class, new FileChannelSerializer());   // before FileChannel's refusal below
        handle(k, org.kerrighed.ipc.ClusterAtomicLong.class, new AtomicLongSerializer());
        handle(k, org.kerrighed.ipc.ClusterAtomicReference.class, new AtomicReferenceSerializer());
        k.addDefaultSerializer(ClusterProcess.class, new ChildHandleSerializer());
        for (Class<?> c : new Class<?>[]{Thread.class, ClassLoader.class, java.nio.channels.FileChannel.class,
                java.net.Socket.class, java.nio.channels.SocketChannel.class, java.io.InputStream.class,
                java.io.OutputStream.class, java.util.concurrent.ExecutorService.class}) {
            k.addDefaultSerializer(c, new Refused<>());
        }
        return k;
    }

    /** Serializes {@code type} with {@code s}, keeping its registered id if it has one. */
    private static <T> void handle(Kryo k, Class<T> type, Serializer<T> s) {
        if (k.getClassResolver().getRegistration(type) != null) {
            k.register(type, s);
        } else {
            k.addDefaultSerializer(type, s);
        }
    }

    private static Binding binding(Kryo k) {
        return (Binding) k.getContext().get(BINDING);
    }

    /**
     * A ghost's children were read, before its program: the process being rebuilt lists them now, so that the
     * program's {@link ClusterProcess} handles bind to them ({@link ChildHandleSerializer}) rather than to detached
     * records.
     */
    static void childrenRead(Kryo k, List<ProcessImage.ChildImage> children) {
        Binding b = binding(k);
        if (b != null && b.process != null) {
            b.process.restoreChildren(Ghosts.remapChildren(children, b.remap));
        }
    }

    /** A cluster atomic travels as its name (and value type), and is looked up again on the reading node. */
    private static final class AtomicLongSerializer extends Serializer<org.kerrighed.ipc.ClusterAtomicLong> {
        @Override
        public void write(Kryo kryo, Output output, org.kerrighed.ipc.ClusterAtomicLong a) {
            output.writeString(a.name());
        }

        @Override
        public org.kerrighed.ipc.ClusterAtomicLong read(Kryo kryo, Input input,
                                                        Class<? extends org.kerrighed.ipc.ClusterAtomicLong> type) {
            String name = input.readString();
            binding(kryo).mayBlock();                           // the lookup may take a KDDM round trip
            return binding(kryo).epm.ipc().atomicLong(name);
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static final class AtomicReferenceSerializer extends Serializer<org.kerrighed.ipc.ClusterAtomicReference> {
        @Override
        public void write(Kryo kryo, Output output, org.kerrighed.ipc.ClusterAtomicReference a) {
            output.writeString(a.name());
            output.writeString(a.type().getName());              // by name: Kryo reads a wrapper's id as its primitive
        }

        @Override
        public org.kerrighed.ipc.ClusterAtomicReference read(
                Kryo kryo, Input input, Class<? extends org.kerrighed.ipc.ClusterAtomicReference> t) {
            String name = input.readString();
            Class<?> valueType;
            try {
                valueType = Class.forName(input.readString(), false, kryo.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("the value type of cluster atomic '" + name + "': " + e, e);
            }
            binding(kryo).mayBlock();
            return binding(kryo).epm.ipc().atomicReference(name, (Class) valueType);
        }
    }

    /** A node-bound object: nothing is written; reading gives the reading node's (or process's) own. */
    private static final class Bound<T> extends Serializer<T> {
        private final java.util.function.Function<Binding, Object> resolve;
        private final String foreign;

        Bound(java.util.function.Function<Binding, Object> resolve, String foreign) {
            this.resolve = resolve;
            this.foreign = foreign;
        }

        @Override
        public void write(Kryo kryo, Output output, T object) {
            if (foreign != null && object instanceof LocalProcess p && binding(kryo).process != null
                    && p != binding(kryo).process) {
                throw new IllegalArgumentException("the state holds " + foreign + " (" + p + ")");
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public T read(Kryo kryo, Input input, Class<? extends T> type) {
            return (T) resolve.apply(binding(kryo));
        }
    }

    /** A cluster lock travels as its name; holds travel apart ({@link Ipc#handOverLocks}). */
    private static final class LockSerializer extends Serializer<ClusterLock> {
        @Override
        public void write(Kryo kryo, Output output, ClusterLock l) {
            output.writeString(l.name());
            output.writeBoolean(l.isFair());
        }

        @Override
        public ClusterLock read(Kryo kryo, Input input, Class<? extends ClusterLock> type) {
            String name = input.readString();
            boolean fair = input.readBoolean();
            return binding(kryo).epm.ipc().lock(name, fair, Ipc.DEFAULT_MODE);
        }
    }

    /** An attached segment travels as its id and is attached again, by the process, on the reading node. */
    private static final class SegmentSerializer extends Serializer<Segment> {
        @Override
        public void write(Kryo kryo, Output output, Segment s) {
            output.writeLong(s.id());
            output.writeBoolean(s.readOnly());
            output.writeBoolean(s.attached());
            if (s.attached()) {
                binding(kryo).segments.add(s);
            }
        }

        @Override
        public Segment read(Kryo kryo, Input input, Class<? extends Segment> type) {
            Binding b = binding(kryo);
            b.mayBlock();
            long id = b.segment(input.readLong());
            boolean readOnly = input.readBoolean();
            boolean attached = input.readBoolean();
            Segment s = b.epm.shm().attachHeld(id, readOnly ? SharedMemory.READ_ONLY : 0);  // even if removed
            if (attached) {
                b.segments.add(s);
            } else {
                s.close();                                  // a detached view stays detached
            }
            return s;
        }
    }

    /** A pipe end travels as its handle and is opened again on the reading node (a direct path to its peer). */
    private static final class PipeEndSerializer<T extends Channel> extends Serializer<T> {
        private final Class<T> type;

        PipeEndSerializer(Class<T> type) {
            this.type = type;
        }

        @Override
        public void write(Kryo kryo, Output output, T end) {
            PipeEndHandle h = end instanceof PipeReadEnd r ? r.handle() : ((PipeWriteEnd) end).handle();
            output.writeLong(h.pipe());
            output.writeBoolean(h.readEnd());
            output.writeBoolean(end.isOpen());
            if (end.isOpen()) {
                binding(kryo).pipeEnds.add(end);
            }
        }

        @Override
        public T read(Kryo kryo, Input input, Class<? extends T> t) {
            Binding b = binding(kryo);
            b.mayBlock();
            PipeEndHandle h = new PipeEndHandle(b.pipe(input.readLong()), input.readBoolean());
            boolean open = input.readBoolean();
            Channel c = b.epm.ipc().openPipeEnd(h);
            if (open) {
                b.pipeEnds.add(c);
            } else {
                try {
                    c.close();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }
            return type.cast(c);
        }
    }

    /**
     * A cluster file channel travels as its handle ({@link KrgFileChannel#handle()}) and is opened again on the
     * reading node's file system: a migrated process's channel shares its position with the one it left (closed
     * once the process left); a restarted one starts at the position of the checkpoint and keeps its own.
     */
    private static final class FileChannelSerializer extends Serializer<KrgFileChannel> {
        @Override
        public void write(Kryo kryo, Output output, KrgFileChannel ch) {
            FileHandle h;
            try {
                h = ch.handle();
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("the file channel of " + ch + " cannot travel: " + e, e);
            }
            output.writeString(h.cluster());
            output.writeString(h.path());
            output.writeLong(h.inode());
            output.writeBoolean(h.readable());
            output.writeBoolean(h.writable());
            output.writeBoolean(h.append());
            output.writeLong(h.positionId());
            output.writeLong(h.position());
            binding(kryo).files.add(ch);
        }

        @Override
        public KrgFileChannel read(Kryo kryo, Input input, Class<? extends KrgFileChannel> type) {
            Binding b = binding(kryo);
            b.mayBlock();
            FileHandle h = new FileHandle(input.readString(), input.readString(), input.readLong(),
                    input.readBoolean(), input.readBoolean(), input.readBoolean(), input.readLong(), input.readLong());
            try {
                KrgFileChannel c = KrgFileSystemProvider.instance().getFileSystem(java.net.URI.create(
                        "krg://" + b.epm.nodeId() + "@" + h.cluster() + "/")).open(h, b.remap == null);
                b.files.add(c);
                return c;
            } catch (java.io.IOException e) {
                throw new IllegalStateException("file " + h.path() + " cannot be opened again on node "
                        + b.epm.nodeId() + ": " + e, e);
            }
        }
    }

    /** A handle on a child travels as its pid and binds to the rebuilt process's record of that child. */
    private static final class ChildHandleSerializer extends Serializer<ClusterProcess> {
        @Override
        public void write(Kryo kryo, Output output, ClusterProcess c) {
            output.writeInt(c.pid());
            output.writeInt(c.node());
        }

        @Override
        public ClusterProcess read(Kryo kryo, Input input, Class<? extends ClusterProcess> type) {
            Binding b = binding(kryo);
            int pid = b.pid(input.readInt());
            int node = input.readInt();
            Child c = b.process.children.get(pid);
            if (c == null) {
                c = new Children().add(pid, node);             // reaped before the move: waiting for it again
                c.exited(ExitStatus.exited(0, "reaped before the process moved"), null, null);
            }
            return new ClusterProcess(b.epm, pid, node, c);
        }
    }

    /** A JVM-local resource: refused with the class named (Kryo adds the field path). */
    private static final class Refused<T> extends Serializer<T> {
        @Override
        public void write(Kryo kryo, Output output, T object) {
            throw new IllegalArgumentException(object.getClass().getName() + " is bound to this JVM and cannot travel");
        }

        @Override
        public T read(Kryo kryo, Input input, Class<? extends T> type) {
            throw new IllegalArgumentException(type.getName() + " cannot be read from a ghost");
        }
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("") + trace(s);
    }

    /** Kryo's "Serialization trace" names the field path; keep it short. */
    private static String trace(String s) {
        int i = s.indexOf("Serialization trace:");
        if (i < 0) {
            return "";
        }
        return " (at " + String.join(" < ", s.substring(i + 20).strip().lines().limit(4).toList()) + ")";
    }
}
