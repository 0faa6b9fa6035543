package org.kerrighed.rpc;

/** What a handler knows about the call it serves. Valid only while the handler runs. */
public interface CallContext {
    /** The calling node's id, or a client id ({@code >= 256}) for a tool connected with {@link RpcClient}. */
    int caller();

    /** True when the caller is a tool (an {@link RpcClient}), not a cluster node. */
    default boolean callerIsClient() {
        return caller() >= RpcConfig.MAX_NODES;
    }

    /** Nanoseconds left before the caller gives up (as of arrival), or {@link Long#MAX_VALUE} for none. */
    long remainingNanos();
}
