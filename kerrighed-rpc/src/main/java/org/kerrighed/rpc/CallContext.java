package org.kerrighed.rpc;

/**
 * What a handler knows about the call it serves. Valid while the handler runs; an asynchronous handler may also
 * use {@link #afterReply} until the stage it returned completes.
 */
public interface CallContext {
    /** The calling node's id, or a client id ({@code >= 256}) for a tool connected with {@link RpcClient}. */
    int caller();

    /** True when the caller is a tool (an {@link RpcClient}), not a cluster node. */
    default boolean callerIsClient() {
        return caller() >= RpcConfig.MAX_NODES;
    }

    /** Nanoseconds left before the caller gives up (as of arrival), or {@link Long#MAX_VALUE} for none. */
    long remainingNanos();

    /**
     * Runs {@code task} once this call's reply (or error) has been handed to the transport: work the caller need not
     * wait for, such as starting what the handler installed, so that the reply leaves first. On the I/O thread that
     * ran a {@link HandlerKind#NON_BLOCKING} handler, the task runs after the reply's flush; elsewhere, right after
     * the reply is queued (at once if it already was). Tasks run in the order they were given, whether or not the
     * reply could be sent (a link that closed), and must not block. A task's exception is logged.
     */
    void afterReply(Runnable task);
}
