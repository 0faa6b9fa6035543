package org.kerrighed.rpc.internal.codec;

import com.esotericsoftware.kryo.Serializer;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** The JDK's private immutable collection classes and their serializers, for the built-in registry. Internal. */
public final class ImmutableCollectionTypes {
    private final SafeSerializers.ImmutableLists lists = new SafeSerializers.ImmutableLists();
    private final SafeSerializers.ImmutableSets sets = new SafeSerializers.ImmutableSets();
    private final SafeSerializers.ImmutableMaps maps = new SafeSerializers.ImmutableMaps();

    @SuppressWarnings("unchecked")
    private static <T> Class<T> classOf(Object o) {
        return (Class<T>) o.getClass();
    }

    public <T> Class<T> list12() {
        return classOf(List.of(1));
    }

    public <T> Class<T> listN() {
        return classOf(List.of(1, 2, 3));
    }

    public <T> Class<T> set12() {
        return classOf(Set.of(1));
    }

    public <T> Class<T> setN() {
        return classOf(Set.of(1, 2, 3));
    }

    public <T> Class<T> map1() {
        return classOf(Map.of(1, 1));
    }

    public <T> Class<T> mapN() {
        return classOf(Map.of(1, 1, 2, 2));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public <T> Serializer<T> listSerializer() {
        return (Serializer) lists;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public <T> Serializer<T> setSerializer() {
        return (Serializer) sets;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public <T> Serializer<T> mapSerializer() {
        return (Serializer) maps;
    }
}
