package org.kerrighed.rpc;

import org.kerrighed.rpc.internal.Endpoint;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * A cluster node's RPC endpoint: a server socket that authenticated peers and tools connect to, and one
 * outbound link to each peer it talks to.
 *
 * <h2>Links and order</h2>
 * There is one connection per ordered pair of nodes: everything this node sends to node {@code B}
 * (requests, replies, one-ways, conversation messages) travels on this node's own connection to
 * {@code B}, so messages to one peer are delivered in the order they were sent, whichever thread sent
 * them. Links are opened on first use, after the peer's address is known ({@link #addPeer}, or learned
 * from the peer's own handshake), and authenticated both ways with the cluster secret before any service
 * runs.
 *
 * <h2>Threads</h2>
 * All methods are thread-safe. Non-blocking handlers run on I/O threads; blocking ones on virtual threads.
 * Futures returned to callers never run dependent stages on an I/O thread: stages attached before
 * completion run on an internal executor (those attached after run on the attaching thread, as usual),
 * unless the caller asks for the I/O thread explicitly with {@link #ON_IO_THREAD}.
 *
 * <h2>Failure</h2>
 * When a link closes, every call and conversation pending on it fails at once with
 * {@link LinkClosedException} (or {@link NodeFailedException} when membership declared the node failed).
 * Every call has a deadline (the config's default unless given), so no call waits forever.
 */
public final class RpcNode implements AutoCloseable {
    /**
     * Runs a stage on the thread that completed the future: for a reply, the I/O thread that read it.
     * Use it ({@code future.whenCompleteAsync(action, RpcNode.ON_IO_THREAD)}) only for short, non-blocking
     * continuations, under the same rules as {@link HandlerKind#NON_BLOCKING} handlers: no locks held for
     * long, no I/O, no waiting. It saves the hand-off to another thread, which dominates the latency of an
     * asynchronous caller that issues its next call from the previous reply (Kerrighed's own protocol
     * code works this way). Stages attached without an executor never run on an I/O thread.
     */
    public static final Executor ON_IO_THREAD = Runnable::run;

    private final Endpoint endpoint;

    private RpcNode(Endpoint endpoint) {
        this.endpoint = endpoint;
    }

    /**
     * Binds the server socket and starts the I/O threads.
     *
     * @throws KerrighedException when the address cannot be bound
     */
    public static RpcNode start(RpcConfig config) {
        Checks.notNull(config, "config");
        if (config.nodeId() < 0) {
            throw new IllegalArgumentException("config.nodeId: a node needs an id in 0-255, got " + config.nodeId());
        }
        return new RpcNode(Endpoint.startNode(config));
    }

    /** This node's id. */
    public int nodeId() {
        return endpoint.nodeId();
    }

    public RpcConfig config() {
        return endpoint.config();
    }

    /** The address peers dial: the advertised address if configured, else the bound one. */
    public HostAndPort address() {
        return endpoint.advertisedAddress();
    }

    /** Tells this node where {@code nodeId} listens. Replaces an older address; an open link stays open. */
    public void addPeer(int nodeId, HostAndPort address) {
        endpoint.addPeer(nodeId, address);
    }

    /**
     * Dials {@code address} without knowing which node listens there (a seed), authenticates the link and
     * completes with that node's id; its address is recorded as if given to {@link #addPeer}. Fails with
     * {@link LinkClosedException} or {@link HandshakeException}.
     */
    public CompletableFuture<Integer> dial(HostAndPort address) {
        return endpoint.dialAddress(Checks.notNull(address, "address"));
    }

    /** A random number drawn when this node started; peers see a restarted node as a new incarnation. */
    public long incarnation() {
        return endpoint.incarnation();
    }

    /**
     * Installs the check that decides which nodes may open or accept links (membership uses it to fence
     * failed nodes). Applies to handshakes from now on; existing links are not re-checked.
     */
    public void setAdmission(Admission admission) {
        endpoint.setAdmission(admission);
    }

    /** Adds a listener told of links going up and down (on I/O threads; it must not block). */
    public void addLinkListener(LinkListener listener) {
        endpoint.addLinkListener(listener);
    }

    /**
     * Milliseconds since the last frame from each connected node. Every link carries a heartbeat each
     * second, so a value well above 1000 means the peer (or the network) is silent.
     */
    public Map<Integer, Long> silenceMillis() {
        return endpoint.silenceMillis();
    }

    /** Handshakes this node refused since it started (wrong secret, cluster, version or types). */
    public long refusedHandshakes() {
        return endpoint.refusedHandshakes();
    }

    /** Forgets a peer's address and closes its link, failing what is pending with {@code cause}. */
    public void removePeer(int nodeId, LinkClosedException cause) {
        endpoint.removePeer(nodeId, cause);
    }

    /**
     * Closes the link to {@code peer} now (both connections); pending calls and conversations fail with
     * {@link LinkClosedException}. The next call reconnects.
     */
    public void disconnect(int peer) {
        endpoint.disconnect(peer, "disconnected by node " + nodeId());
    }

    /** Node ids whose addresses are known. */
    public Set<Integer> peers() {
        return endpoint.knownPeers();
    }

    /** Registers a synchronous handler. Throws {@link IllegalStateException} if the id is taken. */
    public <Q, R> void register(ServiceKey<Q, R> key, HandlerKind kind, RequestHandler<Q, R> handler) {
        endpoint.register(key, kind, handler, null);
    }

    /** Registers a handler whose reply is sent when the returned stage completes. */
    public <Q, R> void registerAsync(ServiceKey<Q, R> key, HandlerKind kind, AsyncRequestHandler<Q, R> handler) {
        endpoint.registerAsync(key, kind, handler, null);
    }

    /**
     * Registers a blocking handler whose requests are serialised per (calling peer, {@code orderKey}):
     * requests with equal keys from one peer run one at a time, in arrival order (each on a virtual
     * thread); different keys or peers run concurrently.
     */
    public <Q, R> void registerOrdered(ServiceKey<Q, R> key, Function<? super Q, ?> orderKey,
                                       RequestHandler<Q, R> handler) {
        endpoint.register(key, HandlerKind.BLOCKING, handler, Checks.notNull(orderKey, "orderKey"));
    }

    /** Registers the accepting side of a conversation service. */
    public <O> void registerConversation(ConversationKey<O> key, ConversationHandler<O> handler) {
        endpoint.registerConversation(key, handler);
    }

    /** Removes a service or conversation handler; later requests for it get a "no such service" error. */
    public void unregister(int serviceId) {
        endpoint.unregister(serviceId);
    }

    /**
     * Calls {@code key} on {@code node} with the default deadline.
     *
     * @throws SerializationException at once, sending nothing, when the request's type is not registered
     * @throws FrameTooLargeException at once when the encoded request exceeds the frame limit
     */
    public <Q, R> CompletableFuture<R> call(int node, ServiceKey<Q, R> key, Q request) {
        return endpoint.call(node, key, request, null);
    }

    /** Calls {@code key} on {@code node}; the future fails with {@link RpcTimeoutException} after {@code timeout}. */
    public <Q, R> CompletableFuture<R> call(int node, ServiceKey<Q, R> key, Q request, Duration timeout) {
        return endpoint.call(node, key, request, Checks.positive(timeout, "timeout"));
    }

    /**
     * Sends a one-way message. Delivery is at most once: it is lost if the link closes before the peer
     * reads it. Messages to one peer arrive in send order.
     */
    public <Q> void send(int node, ServiceKey<Q, ?> key, Q message) {
        endpoint.send(node, key, message);
    }

    /**
     * Calls {@code key} on every node of {@code nodes} (the request is encoded once). The future completes
     * when every node has replied or failed, with each node's outcome; it never completes exceptionally
     * because of one node.
     */
    public <Q, R> CompletableFuture<MulticastResult<R>> multicast(Collection<Integer> nodes, ServiceKey<Q, R> key,
                                                                 Q request, Duration timeout) {
        return endpoint.multicast(nodes, key, request, timeout);
    }

    /**
     * Opens a conversation with {@code node}. The returned conversation can be used at once; messages sent
     * before the peer accepted are delivered after the opening message.
     */
    public <O> Conversation openConversation(int node, ConversationKey<O> key, O opening) {
        return endpoint.openConversation(node, key, opening);
    }

    /** A snapshot of the counters. */
    public RpcStats stats() {
        return endpoint.stats();
    }

    /** Round-trip time of the last heartbeat on each connected link, in microseconds (for tools). */
    public Map<Integer, Long> lastRttMicros() {
        return endpoint.lastRttMicros();
    }

    /** Closes every link (failing what is pending), the server socket and the I/O threads. Idempotent. */
    @Override
    public void close() {
        endpoint.close();
    }

    @Override
    public String toString() {
        return "RpcNode[" + nodeId() + "@" + address() + "]";
    }
}
