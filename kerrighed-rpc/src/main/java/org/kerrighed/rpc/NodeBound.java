package org.kerrighed.rpc;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;

/**
 * The serializer of a handle bound to one node (an attached segment, a lock instance, an open pipe end): a null
 * field of such a type travels, a value is refused with {@code advice}. Register a handle type with it so that
 * objects holding such a field can still be sent while it is null; the process layer re-binds these handles
 * itself when a process moves.
 */
public final class NodeBound<T> extends Serializer<T> {
    private final String advice;

    public NodeBound(String advice) {
        this.advice = advice;
    }

    @Override
    public void write(Kryo kryo, Output output, T object) {
        throw new IllegalArgumentException(object.getClass().getSimpleName() + " is bound to its node and cannot be sent"
                + " in a message: " + advice);
    }

    @Override
    public T read(Kryo kryo, Input input, Class<? extends T> type) {
        throw new IllegalArgumentException(type.getSimpleName() + " cannot be read from a message");
    }
}
