package org.kerrighed.rpc;

/** Where a handler runs. */
public enum HandlerKind {
    /**
     * On the connection's I/O thread, in arrival order. The handler must not block (no locks held for long,
     * no I/O, no waiting on futures); Kerrighed's protocol state machines are written this way.
     */
    NON_BLOCKING,
    /** On a virtual thread of its own; it may block. Calls from one peer may run concurrently. */
    BLOCKING
}
