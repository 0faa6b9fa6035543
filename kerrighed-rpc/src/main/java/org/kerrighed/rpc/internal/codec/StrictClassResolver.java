package org.kerrighed.rpc.internal.codec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.util.DefaultClassResolver;
import org.kerrighed.rpc.SerializationException;

/**
 * Resolves wire type ids to registered classes only. Unlike Kryo's default, it refuses classes named by
 * their name on the wire (which would make the reader load arbitrary classes) and names the unknown id
 * in its error. Nothing is loaded or instantiated for a refused id.
 */
final class StrictClassResolver extends DefaultClassResolver {
    private static final int NAME_MARKER = 1;   // Kryo writes NAME + 2 == 1 before a class name

    @Override
    public Registration readClass(Input input) {
        int classId = input.readVarInt(true);
        if (classId == Kryo.NULL) {
            return null;
        }
        if (classId == NAME_MARKER) {
            throw new SerializationException("frame names a class by name; only registered type ids are accepted");
        }
        Registration r = idToRegistration.get(classId - 2);
        if (r == null) {
            throw new SerializationException("unknown type id " + (classId - 2));
        }
        return r;
    }
}
