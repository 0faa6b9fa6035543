package org.kerrighed.epm;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import com.esotericsoftware.kryo.util.Pool;
import org.kerrighed.rpc.TypeRegistry;
import org.objenesis.strategy.StdInstantiatorStrategy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serializes objects of application classes (programs, task programs, results) to bytes and back, with a Kryo per
 * application bound to its class loader. The cluster's registered types keep their ids and serializers; other
 * classes are named on the wire and resolved by the application's loader (whose parent loads Kerrighed's and the
 * JDK's classes), so an application's classes need no registration. See {@link Applications} on why this is safe.
 * References are kept (application objects may share or cycle); classes without a no-arg constructor are created
 * without calling one, as Java serialization does. Thread-safe.
 */
final class AppImages {
    private final TypeRegistry registry;
    private final int maxBytes;
    private final Map<Applications.AppLoader, Pool<Kryo>> pools = new ConcurrentHashMap<>();

    AppImages(TypeRegistry registry, int maxBytes) {
        this.registry = registry;
        this.maxBytes = maxBytes;
    }

    /**
     * {@code value}'s image.
     *
     * @throws IllegalArgumentException when it cannot be serialized (a field holds a thread, a socket...) or its
     *                                  image exceeds a frame
     */
    byte[] write(Applications.AppLoader loader, Object value) {
        Pool<Kryo> pool = pool(loader);
        Kryo k = pool.obtain();
        try {
            Output out = new Output(1024, maxBytes);
            k.writeClassAndObject(out, value);
            return out.toBytes();
        } catch (KryoException | IllegalArgumentException e) {
            throw new IllegalArgumentException(value.getClass().getName() + " of application "
                    + Applications.shortId(loader.app) + " cannot travel to another node: " + firstLine(e.getMessage()), e);
        } finally {
            k.reset();
            pool.free(k);
        }
    }

    /**
     * The object {@code image} holds.
     *
     * @throws IllegalArgumentException when the image is not a valid one of this application
     */
    Object read(Applications.AppLoader loader, byte[] image) {
        Pool<Kryo> pool = pool(loader);
        Kryo k = pool.obtain();
        try {
            return k.readClassAndObject(org.kerrighed.rpc.internal.codec.BoundedInput.of(image, 0, image.length));
        } catch (KryoException | IllegalArgumentException | LinkageError e) {
            throw new IllegalArgumentException("an image of application " + Applications.shortId(loader.app)
                    + " cannot be read: " + firstLine(e.getMessage()), e);
        } finally {
            k.reset();
            pool.free(k);
        }
    }

    /** Drops the Kryo instances of every application (the node's loaders are closed). */
    void clear() {
        pools.clear();
    }

    private Pool<Kryo> pool(Applications.AppLoader loader) {
        return pools.computeIfAbsent(loader, l -> new Pool<>(true, false, 16) {
            @Override
            protected Kryo create() {
                return newKryo(l);
            }
        });
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Kryo newKryo(ClassLoader loader) {
        Kryo k = new Kryo();
        k.setClassLoader(loader);
        k.setRegistrationRequired(false);
        k.setReferences(true);
        k.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
        for (TypeRegistry.Entry e : registry.entries()) {
            if (e.serializer() != null) {
                k.register(e.type(), (Serializer) e.serializer(), e.id());
            } else {
                k.register(e.type(), e.id());
            }
        }
        return k;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
