package org.kerrighed.rpc;

import org.kerrighed.rpc.internal.Endpoint;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A tool's authenticated connection to one node (what {@code krg nodes}, {@code krg ps} and friends use).
 * A client proves it knows the cluster secret like a node does, but it is not a member: it owns nothing,
 * runs no handlers for the cluster, and nodes reply to it on the connection it opened. Thread-safe.
 */
public final class RpcClient implements AutoCloseable {
    private final Endpoint endpoint;
    private final int server;

    private RpcClient(Endpoint endpoint, int server) {
        this.endpoint = endpoint;
        this.server = server;
    }

    /**
     * Connects to {@code node} and completes the handshake, waiting at most the handshake timeout.
     * {@code config}'s node id must be -1 and its bind address is ignored.
     *
     * @throws HandshakeException when the node refuses (wrong secret, cluster, version or types)
     * @throws LinkClosedException when it cannot be reached
     */
    public static RpcClient connect(RpcConfig config, HostAndPort node) {
        Checks.notNull(config, "config");
        Checks.notNull(node, "node");
        Endpoint e = Endpoint.startClient(config);
        try {
            int id = e.connectClient(node);
            return new RpcClient(e, id);
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
    }

    /** The node id of the node this client is connected to. */
    public int server() {
        return server;
    }

    public <Q, R> CompletableFuture<R> call(ServiceKey<Q, R> key, Q request) {
        return endpoint.call(server, key, request, null);
    }

    public <Q, R> CompletableFuture<R> call(ServiceKey<Q, R> key, Q request, Duration timeout) {
        return endpoint.call(server, key, request, Checks.positive(timeout, "timeout"));
    }

    public <O> Conversation openConversation(ConversationKey<O> key, O opening) {
        return endpoint.openConversation(server, key, opening);
    }

    @Override
    public void close() {
        endpoint.close();
    }
}
