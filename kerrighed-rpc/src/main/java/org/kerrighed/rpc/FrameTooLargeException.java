package org.kerrighed.rpc;

/** An encoded message exceeds the configured frame size limit; it was not sent. */
public class FrameTooLargeException extends KerrighedException {
    public FrameTooLargeException(String message) {
        super(message);
    }
}
