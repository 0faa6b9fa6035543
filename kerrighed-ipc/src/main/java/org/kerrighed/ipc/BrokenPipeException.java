package org.kerrighed.ipc;

import java.io.IOException;

/** A write to a pipe or FIFO whose every reader is gone (closed, or on a node that died): EPIPE. */
public class BrokenPipeException extends IOException {
    public BrokenPipeException(String message) {
        super(message);
    }
}
