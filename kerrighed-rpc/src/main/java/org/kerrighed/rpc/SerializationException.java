package org.kerrighed.rpc;

/**
 * A value could not be encoded or decoded: its type is not registered in the {@link TypeRegistry}, a
 * frame names an unknown type id, or a frame is malformed. On send it is thrown at the caller and nothing
 * is sent; on receive the frame is rejected and nothing is instantiated.
 */
public class SerializationException extends KerrighedException {
    public SerializationException(String message) {
        super(message);
    }

    public SerializationException(String message, Throwable cause) {
        super(message, cause);
    }
}
