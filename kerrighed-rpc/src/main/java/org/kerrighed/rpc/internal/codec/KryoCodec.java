package org.kerrighed.rpc.internal.codec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.SerializerFactory;
import com.esotericsoftware.kryo.util.Pool;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.FastThreadLocalThread;
import org.kerrighed.rpc.SerializationException;
import org.kerrighed.rpc.TypeRegistry;

import java.util.Collection;
import java.util.Map;

/**
 * Encodes and decodes wire values with Kryo, using only the ids of a {@link TypeRegistry}.
 *
 * <p>Overview: registration is required, references are off (a value is a tree: shared references are
 * written twice and cycles are refused by the depth limit), and the class resolver accepts registered ids
 * only. Decoding treats bytes as hostile: an unknown id, a class name, a truncated or malformed value,
 * nesting deeper than {@value #MAX_DEPTH}, or a length the frame cannot hold all end in a
 * {@link SerializationException} before anything is allocated for them or instantiated.
 *
 * <p>Thread-safe: Kryo instances, with their buffers, are pooled (Kryo itself is not thread-safe).
 */
public final class KryoCodec {
    static final int MAX_DEPTH = 64;
    private static final int POOL_SIZE = 64;

    private static final byte[] EMPTY = new byte[0];

    private final TypeRegistry registry;
    private final Pool<Worker> pool;
    /**
     * One worker per Netty I/O thread, used without the pool's lock: frames are encoded and decoded on I/O
     * threads above all, so this saves two lock round trips per frame. Other threads (virtual threads of
     * blocking handlers, callers) use the pool.
     */
    private final FastThreadLocal<Worker> ioWorker = new FastThreadLocal<>() {
        @Override
        protected Worker initialValue() {
            Worker w = new Worker(newKryo(registry));
            w.threadLocal = true;
            return w;
        }
    };

    /** A Kryo with its own output and input buffers. */
    private static final class Worker {
        final Kryo kryo;
        final ByteBufOutput output = new ByteBufOutput();
        final BoundedInput input = new BoundedInput();
        boolean threadLocal;                           // belongs to one I/O thread, not to the pool
        boolean busy;                                  // a thread-local worker in use (re-entry takes the pool)

        Worker(Kryo kryo) {
            this.kryo = kryo;
        }
    }

    public KryoCodec(TypeRegistry registry) {
        this.registry = registry;
        this.pool = new Pool<>(true, false, POOL_SIZE) {
            @Override
            protected Worker create() {
                return new Worker(newKryo(registry));
            }
        };
        pool.free(pool.obtain());                         // fail now, not on the first frame, if misconfigured
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Kryo newKryo(TypeRegistry registry) {
        Kryo kryo = new Kryo(new StrictClassResolver(), null);
        kryo.setRegistrationRequired(true);
        kryo.setReferences(false);
        kryo.setMaxDepth(MAX_DEPTH);
        kryo.addDefaultSerializer(Collection.class, new SerializerFactory.BaseSerializerFactory<>() {
            @Override
            public Serializer newSerializer(Kryo k, Class type) {
                return new SafeSerializers.Collections_();
            }
        });
        kryo.addDefaultSerializer(Map.class, new SerializerFactory.BaseSerializerFactory<>() {
            @Override
            public Serializer newSerializer(Kryo k, Class type) {
                return new SafeSerializers.Maps();
            }
        });
        for (TypeRegistry.Entry e : registry.entries()) {
            Serializer s = (Serializer) e.serializer();
            if (s == null && e.type() == java.util.UUID.class) {
                s = new SafeSerializers.Uuids();
            }
            if (s == null && e.type().isArray()) {
                s = new SafeSerializers.LengthChecked(kryo.getDefaultSerializer(e.type()));
            }
            if (s != null) {
                kryo.register(e.type(), s, e.id());
            } else {
                kryo.register(e.type(), e.id());
            }
        }
        return kryo;
    }

    private Worker obtain() {
        if (Thread.currentThread() instanceof FastThreadLocalThread) {
            Worker w = ioWorker.get();
            if (!w.busy) {
                w.busy = true;
                return w;
            }
        }
        return pool.obtain();
    }

    private void free(Worker w) {
        if (w.threadLocal) {
            w.busy = false;
        } else {
            pool.free(w);
        }
    }

    public TypeRegistry registry() {
        return registry;
    }

    /**
     * Appends {@code value} (may be null) to {@code out}.
     *
     * @throws SerializationException naming the class when a type in {@code value} is not registered;
     *                                {@code out} is left as it was
     */
    public void encode(Object value, ByteBuf out) {
        Worker w = obtain();
        int start = out.writerIndex();
        boolean done = false;
        try {
            w.output.start(out);
            w.kryo.writeClassAndObject(w.output, value);
            w.output.finish();
            done = true;
        } catch (KryoException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw encodeFailure(value, e);
        } finally {
            if (!done) {
                w.output.abandon();
                out.writerIndex(start);                  // out as it was
            }
            w.kryo.reset();
            free(w);
        }
    }

    private static SerializationException encodeFailure(Object value, RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && m.startsWith("Class is not registered: ")) {
                String cls = m.substring("Class is not registered: ".length()).lines().findFirst().orElse("?");
                return new SerializationException("type " + cls + " is not registered in the type registry; register it"
                        + " with TypeRegistry.Builder.register(id, " + cls + ".class) on every node", e);
            }
        }
        return new SerializationException("cannot encode " + (value == null ? "null" : value.getClass().getName())
                + ": " + e.getMessage(), e);
    }

    /**
     * Reads one value from {@code in}'s readable bytes and advances its reader index past it.
     *
     * @throws SerializationException when the bytes are not a valid value of registered types
     */
    public Object decode(ByteBuf in) {
        Worker w = obtain();
        BoundedInput input = w.input;
        try {
            if (in.hasArray()) {
                int offset = in.arrayOffset() + in.readerIndex();
                input.setBuffer(in.array(), offset, in.readableBytes());
                Object value = w.kryo.readClassAndObject(input);
                in.skipBytes(input.position() - offset);
                return value;
            }
            input.setSource(in);
            return w.kryo.readClassAndObject(input);      // finally gives the frame's unread bytes back
        } catch (SerializationException e) {
            throw e;
        } catch (KryoException e) {
            SerializationException inner = causeOf(e);
            throw inner != null ? inner : new SerializationException("malformed value: " + firstLine(e.getMessage()), e);
        } catch (RuntimeException | StackOverflowError e) {
            throw new SerializationException("malformed value: " + e, e);
        } finally {
            input.detach();
            input.setBuffer(EMPTY);
            w.kryo.reset();
            free(w);
        }
    }

    private static SerializationException causeOf(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SerializationException s) {
                return s;
            }
        }
        return null;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
