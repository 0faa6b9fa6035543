package org.kerrighed.kddm.linkers;

import org.kerrighed.kddm.IoLinker;

import java.util.function.LongFunction;

/**
 * Plain Java objects shipped with Kryo (their type must be registered in the cluster's type registry). First
 * touch makes the value {@code initial} returns (null by default: the object exists with no value until a
 * writer sets one). Values are best immutable (records): read handles must not mutate them.
 */
public final class ObjectLinker<T> implements IoLinker<T> {
    private final Class<T> type;
    private final LongFunction<T> initial;

    public ObjectLinker(Class<T> type, LongFunction<T> initial) {
        this.type = type;
        this.initial = initial == null ? id -> null : initial;
    }

    public ObjectLinker(Class<T> type) {
        this(type, null);
    }

    @Override
    public Class<?> type() {
        return type;
    }

    @Override
    public T firstTouch(long id) {
        return initial.apply(id);
    }

    @Override
    public Object export(long id, T object) {
        return object;
    }

    @Override
    public T importObject(long id, Object wire) {
        if (wire != null && !type.isInstance(wire)) {
            throw new ClassCastException("object " + id + ": expected " + type.getName() + ", received "
                    + wire.getClass().getName());
        }
        return type.cast(wire);
    }
}
