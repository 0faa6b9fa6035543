package org.kerrighed.ipc.sysv;

/**
 * A message of a SysV-style queue: a type ({@code > 0}) and a body. The body array is the caller's: do not
 * change it after sending it or receiving it if you share it.
 */
public record Message(long type, byte[] body) {
    public Message {
        if (type <= 0) {
            throw new IllegalArgumentException("a message's type must be > 0, got " + type);
        }
        if (body == null) {
            throw new IllegalArgumentException("a message's body must not be null (use an empty array)");
        }
    }

    @Override
    public String toString() {
        return "message of type " + type + " (" + body.length + " bytes)";
    }
}
