package org.kerrighed.rpc.internal.codec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.CollectionSerializer;
import com.esotericsoftware.kryo.serializers.MapSerializer;
import org.kerrighed.rpc.SerializationException;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serializers whose element counts are checked against the bytes left in the frame before a container of
 * that capacity is made, plus serializers for the JDK's immutable collections ({@code List.of},
 * {@code Set.of}, {@code Map.of}, {@code Collections.empty*}/{@code unmodifiable*}), which Kryo cannot build
 * by reflection. Immutable collections come back as immutable collections with equal contents.
 */
final class SafeSerializers {
    private SafeSerializers() {
    }

    static BoundedInput bounded(Input input) {
        if (input instanceof BoundedInput b) {
            return b;
        }
        throw new IllegalStateException("decoding needs a BoundedInput");
    }

    /** Checks a count read from the wire: each element needs at least {@code minBytes}. */
    static void check(Input input, int count, int minBytes, String what) {
        bounded(input).check(count, minBytes, what);
    }

    @SuppressWarnings("rawtypes")
    static final class Collections_ extends CollectionSerializer<Collection> {
        @Override
        protected Collection create(Kryo kryo, Input input, Class<? extends Collection> type, int size) {
            check(input, size, 1, type.getSimpleName());
            return super.create(kryo, input, type, size);
        }
    }

    @SuppressWarnings("rawtypes")
    static final class Maps extends MapSerializer<Map> {
        @Override
        protected Map create(Kryo kryo, Input input, Class<? extends Map> type, int size) {
            check(input, size, 2, type.getSimpleName());
            return super.create(kryo, input, type, size);
        }
    }

    /**
     * Wraps an array serializer: peeks at the length header (Kryo writes length + 1 as a varint, 0 for null)
     * and refuses a length the frame cannot hold before the delegate allocates the array.
     */
    static final class LengthChecked<T> extends Serializer<T> {
        private final Serializer<T> delegate;

        LengthChecked(Serializer<T> delegate) {
            this.delegate = delegate;
        }

        @Override
        public void write(Kryo kryo, Output output, T object) {
            delegate.write(kryo, output, object);
        }

        @Override
        public T read(Kryo kryo, Input input, Class<? extends T> type) {
            int length = bounded(input).peekVarInt();
            check(input, length - 1, 1, type.getSimpleName());
            return delegate.read(kryo, input, type);
        }
    }

    /** UUIDs as two longs (Kryo's field serializer would need the JDK's internals opened). */
    static final class Uuids extends Serializer<java.util.UUID> {
        Uuids() {
            setImmutable(true);
        }

        @Override
        public void write(Kryo kryo, Output output, java.util.UUID u) {
            output.writeLong(u.getMostSignificantBits());
            output.writeLong(u.getLeastSignificantBits());
        }

        @Override
        public java.util.UUID read(Kryo kryo, Input input, Class<? extends java.util.UUID> type) {
            return new java.util.UUID(input.readLong(), input.readLong());
        }
    }

    /** Writes the size then the elements; reads them back into {@code List.of} (or an unmodifiable list with nulls). */
    static final class ImmutableLists extends Serializer<List<?>> {
        ImmutableLists() {
            setImmutable(true);
        }

        @Override
        public void write(Kryo kryo, Output output, List<?> list) {
            output.writeVarInt(list.size(), true);
            for (Object o : list) {
                kryo.writeClassAndObject(output, o);
            }
        }

        @Override
        public List<?> read(Kryo kryo, Input input, Class<? extends List<?>> type) {
            int n = input.readVarInt(true);
            check(input, n, 1, "list");
            List<Object> l = new ArrayList<>(n);
            boolean nulls = false;
            for (int i = 0; i < n; i++) {
                Object o = kryo.readClassAndObject(input);
                nulls |= o == null;
                l.add(o);
            }
            return nulls ? Collections.unmodifiableList(l) : List.copyOf(l);
        }
    }

    static final class ImmutableSets extends Serializer<Set<?>> {
        ImmutableSets() {
            setImmutable(true);
        }

        @Override
        public void write(Kryo kryo, Output output, Set<?> set) {
            output.writeVarInt(set.size(), true);
            for (Object o : set) {
                kryo.writeClassAndObject(output, o);
            }
        }

        @Override
        public Set<?> read(Kryo kryo, Input input, Class<? extends Set<?>> type) {
            int n = input.readVarInt(true);
            check(input, n, 1, "set");
            Set<Object> s = new LinkedHashSet<>();
            for (int i = 0; i < n; i++) {
                s.add(kryo.readClassAndObject(input));
            }
            if (s.contains(null)) {
                return Collections.unmodifiableSet(s);
            }
            return Set.copyOf(s);
        }
    }

    static final class ImmutableMaps extends Serializer<Map<?, ?>> {
        ImmutableMaps() {
            setImmutable(true);
        }

        @Override
        public void write(Kryo kryo, Output output, Map<?, ?> map) {
            output.writeVarInt(map.size(), true);
            for (Map.Entry<?, ?> e : map.entrySet()) {
                kryo.writeClassAndObject(output, e.getKey());
                kryo.writeClassAndObject(output, e.getValue());
            }
        }

        @Override
        public Map<?, ?> read(Kryo kryo, Input input, Class<? extends Map<?, ?>> type) {
            int n = input.readVarInt(true);
            check(input, n, 2, "map");
            Map<Object, Object> m = new LinkedHashMap<>();
            boolean nulls = false;
            for (int i = 0; i < n; i++) {
                Object k = kryo.readClassAndObject(input);
                Object v = kryo.readClassAndObject(input);
                nulls |= k == null || v == null;
                m.put(k, v);
            }
            return nulls ? Collections.unmodifiableMap(m) : Map.copyOf(m);
        }
    }

    static SerializationException fail(String message) {
        return new SerializationException(message);
    }
}
