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
     * Runs {@code task} once this call's reply (or error) has been written and flushed to the link: work the caller
     * need not wait for, such as starting what the handler installed, so that the reply leaves first. It runs on the
     * link's I/O thread, so it must not block (a link still connecting: once it is ready and the reply written); for
     * a call from this node to itself, or a reply lost (a link that closed), at once on the thread that sent it.
     * Tasks run once each, in the order they were given, also for a one-way message (once its handler returned) and
     * when the reply could not be encoded (the caller then gets an error instead); a task given after they ran runs
     * at once. A task's exception is logged. Tasks left when the node's I/O threads stop may not run.
     */
    void afterReply(Runnable task);
}
