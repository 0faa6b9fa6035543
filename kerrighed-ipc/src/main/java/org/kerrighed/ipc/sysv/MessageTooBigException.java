package org.kerrighed.ipc.sysv;

/** The message to receive is longer than the receiver's maximum and {@link Sysv#MSG_NOERROR} was not given (Linux {@code E2BIG}); the message stays in the queue. */
public class MessageTooBigException extends SysvException {
    public MessageTooBigException(String message) {
        super("E2BIG", message);
    }
}
