package org.kerrighed.rpc.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.kerrighed.rpc.Admission;
import org.kerrighed.rpc.AsyncRequestHandler;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.ConversationHandler;
import org.kerrighed.rpc.ConversationKey;
import org.kerrighed.rpc.FrameTooLargeException;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.LinkListener;
import org.kerrighed.rpc.MulticastResult;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RequestHandler;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcStats;
import org.kerrighed.rpc.SerializationException;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.internal.codec.KryoCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * The machinery behind {@link org.kerrighed.rpc.RpcNode} and {@link org.kerrighed.rpc.RpcClient}.
 *
 * <p>Overview: an endpoint owns a Netty transport, a server channel (nodes only), one {@link Peer} per
 * remote node or client, the registered services, and the executors for blocking handlers and for
 * completing user futures. Frames are read on I/O threads and handed to {@link #dispatch}, which decodes
 * them and either runs a non-blocking handler in place or hands a blocking one to a virtual thread.
 * Replies to requests travel on this endpoint's own outbound link to the caller (a client's single
 * channel for tools), so every frame between two nodes in one direction shares one connection and one
 * order. A link is torn down as a unit: when either of a peer's connections closes, both are closed and
 * everything pending with that peer fails at once (see {@link Peer#fail}).
 */
public final class Endpoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Endpoint.class);
    /** Stands for a null message in a conversation inbox (ArrayDeque refuses nulls). */
    static final Object NULL_MESSAGE = new Object();
    private static final long HEARTBEAT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final RpcConfig config;
    private final int nodeId;
    private final boolean node;
    private final byte[] secret;
    private final KryoCodec codec;
    private final Transport transport;
    private final SslContext serverSsl;
    private final SslContext clientSsl;
    private final Bootstrap bootstrap;
    private final HashedWheelTimer timer;
    private final ExecutorService handlers;        // virtual threads: blocking handlers, conversations
    private final ExecutorService completions;     // virtual threads: user futures' dependent stages
    private final SerialExecutor ordered;
    private final ConcurrentHashMap<Integer, Peer> peers = new ConcurrentHashMap<>();
    private final Services services;
    private final ConcurrentHashMap<Integer, NamedCounters> serviceCounters = new ConcurrentHashMap<>();
    private final AtomicLong callIds = new AtomicLong();
    private final AtomicLong convIds = new AtomicLong();
    private final AtomicInteger clientIds = new AtomicInteger(RpcConfig.MAX_NODES);
    private final LongAdder refused = new LongAdder();
    private final Peer self;
    private final JmxRegistration jmx;
    private final long incarnation = new java.security.SecureRandom().nextLong() & Long.MAX_VALUE;
    private final List<LinkListener> linkListeners = new CopyOnWriteArrayList<>();
    private volatile Admission admission = Admission.ALL;
    private volatile Channel server;
    private volatile HostAndPort advertised;
    private volatile boolean closed;

    record NamedCounters(String name, Counters counters) {
    }

    private Endpoint(RpcConfig config, boolean node) {
        this.config = config;
        this.node = node;
        this.nodeId = config.nodeId();
        this.secret = config.secret();
        this.codec = new KryoCodec(config.types());
        String name = node ? "krg-" + nodeId : "krg-client";
        this.serverSsl = config.tls().map(Tls::server).orElse(null);   // a bad key store fails before any thread starts
        this.clientSsl = config.tls().map(Tls::client).orElse(null);
        this.transport = Transport.create(config.transport(), config.ioThreads(), name + "-io");
        this.timer = new HashedWheelTimer(new DefaultThreadFactory(name + "-timer", true), 10,
                TimeUnit.MILLISECONDS);
        // Started here: a timer starts on its first timeout otherwise, and the caller waiting for its worker
        // thread there swallows an interrupt (Netty ignores InterruptedException in HashedWheelTimer.start),
        // so a thread interrupted during its first call would sleep through the interrupt afterwards.
        this.timer.start();
        this.handlers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(name + "-handler-", 0).factory());
        this.completions = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(name + "-done-", 0).factory());
        this.ordered = new SerialExecutor(handlers);
        this.services = new Services(this, nodeId, codec, handlers, ordered);
        this.bootstrap = new Bootstrap()
                .group(transport.group())
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        config.handshakeTimeout().toMillis()));
        EventLoop selfLoop = transport.group().next() instanceof EventLoop l ? l : null;
        this.self = node ? new Peer(this, nodeId, false, null, selfLoop) : null;
        if (self != null) {
            peers.put(nodeId, self);
        }
        this.jmx = node && config.jmx() ? JmxRegistration.register(this) : JmxRegistration.NONE;
    }

    /** Starts a node endpoint: binds the server socket. */
    public static Endpoint startNode(RpcConfig config) {
        Endpoint e = new Endpoint(config, true);
        try {
            e.bind();
            e.startHeartbeats();
            return e;
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
    }

    /** Starts a client endpoint (no server socket); connect it with {@link #connectClient}. */
    public static Endpoint startClient(RpcConfig config) {
        if (config.nodeId() != -1) {
            throw new IllegalArgumentException("config.nodeId: a client's node id must be -1, got " + config.nodeId());
        }
        return new Endpoint(config, false);
    }

    private void bind() {
        ServerBootstrap sb = new ServerBootstrap()
                .group(transport.group())
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        framing(ch.pipeline(), serverSsl, ch);
                        ch.pipeline().addLast("handshake", new Handshake.Server(Endpoint.this));
                    }
                });
        InetSocketAddress bindAddr = config.bind().toSocketAddress();
        ChannelFuture f = sb.bind(bindAddr).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new KerrighedException("node " + nodeId + ": cannot bind " + config.bind() + ": "
                    + f.cause().getMessage(), f.cause());
        }
        server = f.channel();
        InetSocketAddress local = (InetSocketAddress) server.localAddress();
        advertised = config.advertised().orElseGet(() -> {
            String host = config.bind().host();
            if (local.getAddress() != null && local.getAddress().isAnyLocalAddress()) {
                host = "127.0.0.1";
                log.warn("node {}: bound to a wildcard address without an advertised address; peers will dial {}",
                        nodeId, host);
            }
            return new HostAndPort(host, local.getPort());
        });
        log.info("node {} listening on {} (advertised {}, transport {}, types {})", nodeId, HostAndPort.of(local),
                advertised, transport.kind(), config.types().shortFingerprint());
    }

    private void framing(ChannelPipeline p, SslContext ssl, Channel ch) {
        if (ssl != null) {
            p.addLast("tls", ssl.newHandler(ch.alloc()));
        }
        p.addLast("frames", new FrameDecoder(config.maxFrameBytes()));
        p.addLast("length", FramePrefixer.INSTANCE);
    }

    private void startHeartbeats() {
        transport.group().next().scheduleAtFixedRate(this::heartbeat, HEARTBEAT_NANOS, HEARTBEAT_NANOS,
                TimeUnit.NANOSECONDS);
    }

    private void heartbeat() {
        if (closed) {
            return;
        }
        for (Peer p : peers.values()) {
            if (p != self && !p.client && p.connected()) {
                try {
                    ByteBuf f = frame(FrameKind.PING);
                    f.writeLong(System.nanoTime());
                    p.send(f);
                } catch (LinkClosedException ignored) {
                    // Raced with a teardown; the next round sees the new state.
                }
            }
        }
    }

    // ------------------------------------------------------------------ identity and peers

    public int nodeId() {
        return nodeId;
    }

    /** A random number drawn when this endpoint started; a restarted node has a new one. */
    public long incarnation() {
        return incarnation;
    }

    Admission admission() {
        return admission;
    }

    public void setAdmission(Admission a) {
        this.admission = Checks.notNull(a, "admission");
    }

    public void addLinkListener(LinkListener l) {
        linkListeners.add(Checks.notNull(l, "listener"));
    }

    /** Milliseconds since the last frame from each connected node (heartbeats arrive every second). */
    public Map<Integer, Long> silenceMillis() {
        long now = System.nanoTime();
        Map<Integer, Long> m = new TreeMap<>();
        for (Peer p : peers.values()) {
            if (p != self && !p.client && p.connected()) {
                m.put(p.id, TimeUnit.NANOSECONDS.toMillis(now - p.lastHeardNanos));
            }
        }
        return m;
    }

    private void linkUp(Peer p) {
        if (p.client || p == self) {
            return;
        }
        for (LinkListener l : linkListeners) {
            try {
                l.linkUp(p.id, p.incarnation);
            } catch (RuntimeException e) {
                log.error("node {}: link listener failed", nodeId, e);
            }
        }
    }

    public RpcConfig config() {
        return config;
    }

    boolean isNode() {
        return node;
    }

    boolean isClosed() {
        return closed;
    }

    byte[] secret() {
        return secret;
    }

    public HostAndPort advertisedAddress() {
        return advertised;
    }

    void countRefused() {
        refused.increment();
    }

    public void addPeer(int id, HostAndPort address) {
        Checks.inRange(id, 0, RpcConfig.MAX_NODES - 1, "nodeId");
        Checks.notNull(address, "address");
        if (id == nodeId) {
            return;
        }
        peers.compute(id, (k, p) -> {
            if (p == null) {
                return new Peer(this, id, false, address, null);
            }
            p.address = address;
            return p;
        });
    }

    public void removePeer(int id, LinkClosedException cause) {
        Peer p = peers.get(id);
        if (p == null || p == self) {
            return;
        }
        teardown(p, null, cause);
        peers.remove(id, p);
    }

    public void disconnect(int id, String why) {
        Peer p = peers.get(id);
        if (p != null && p != self) {
            teardown(p, null, new LinkClosedException(id, "link to " + p.describe() + " closed: " + why));
        }
    }

    public Set<Integer> knownPeers() {
        Set<Integer> s = new TreeSet<>();
        for (Peer p : peers.values()) {
            if (!p.client && p != self) {
                s.add(p.id);
            }
        }
        return s;
    }

    private Peer peerOrFail(int id) {
        Peer p = peers.get(id);
        if (p == null) {
            throw new LinkClosedException(id, "node " + id + " is unknown to node " + nodeId
                    + " (no address; add it with addPeer)");
        }
        return p;
    }

    /** Opens the outbound link to {@code p} (its address is known). */
    void dial(Peer p) {
        CompletableFuture<Handshake.Dialed> result = new CompletableFuture<>();
        connect(p.address, p.id, result);
        result.whenComplete((d, t) -> {
            if (t != null) {
                LinkClosedException cause = t instanceof LinkClosedException l ? l
                        : new LinkClosedException(p.id, "cannot reach " + p.describe() + ": " + t.getMessage(), t);
                if (p.dialFailed()) {
                    log.debug("node {}: dial of {} failed: {}", nodeId, p.describe(), cause.getMessage());
                    teardown(p, null, cause);
                }
            }
        });
    }

    private void connect(HostAndPort address, int expected, CompletableFuture<Handshake.Dialed> result) {
        Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                framing(ch.pipeline(), clientSsl, ch);
                ch.pipeline().addLast("handshake", new Handshake.Client(Endpoint.this, expected, result));
            }
        });
        b.connect(address.toSocketAddress()).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                result.completeExceptionally(new LinkClosedException(expected, "cannot connect to "
                        + (expected >= 0 ? "node " + expected + " at " : "") + address + ": "
                        + f.cause().getMessage(), f.cause()));
            }
        });
    }

    /**
     * Dials {@code address} without knowing which node listens there and returns its node id once the
     * link is authenticated. The peer's address is recorded.
     */
    public CompletableFuture<Integer> dialAddress(HostAndPort address) {
        CompletableFuture<Handshake.Dialed> result = new CompletableFuture<>();
        connect(address, -1, result);
        CompletableFuture<Integer> out = newFuture();
        result.whenComplete((d, t) -> {
            if (t != null) {
                out.completeExceptionally(t);
            } else {
                out.complete(d.serverId());
            }
        });
        return out;
    }

    /** Called by the client handshake, on the I/O thread, once welcomed; installs the link handler. */
    void dialed(Channel ch, Handshake.Dialed d) {
        Peer p;
        if (!node) {
            p = new Peer(this, d.serverId(), false, HostAndPort.of((InetSocketAddress) ch.remoteAddress()), null);
            peers.put(d.serverId(), p);
        } else {
            HostAndPort remote = HostAndPort.of((InetSocketAddress) ch.remoteAddress());
            p = peers.computeIfAbsent(d.serverId(), k -> new Peer(this, k, false, remote, null));
        }
        p.incarnation = d.incarnation();
        p.lastHeardNanos = System.nanoTime();
        installLink(ch, p);
        p.outboundReady(ch);
        if (!node) {
            p.inboundReady(ch);
        }
        linkUp(p);
    }

    /**
     * Called by the server handshake once the peer proved the secret.
     *
     * @return the id to announce in WELCOME, or {@code Integer.MIN_VALUE} to refuse (closing)
     */
    int accepted(Channel ch, int peerId, long peerIncarnation, HostAndPort peerAddress) {
        if (closed) {
            return Integer.MIN_VALUE;
        }
        Peer p;
        if (peerId < 0) {
            int id = clientIds.getAndIncrement();
            if (id < RpcConfig.MAX_NODES) {            // wrapped around: restart the client id space
                clientIds.set(RpcConfig.MAX_NODES + 1);
                id = RpcConfig.MAX_NODES;
            }
            p = new Peer(this, id, true, HostAndPort.of((InetSocketAddress) ch.remoteAddress()), null);
            peers.put(id, p);
        } else {
            p = peers.compute(peerId, (k, old) -> {
                if (old == null) {
                    return new Peer(this, k, false, peerAddress, null);
                }
                if (old.address == null && peerAddress != null) {
                    old.address = peerAddress;
                }
                return old;
            });
        }
        p.incarnation = peerIncarnation;
        p.lastHeardNanos = System.nanoTime();
        installLink(ch, p);
        p.inboundReady(ch);
        log.debug("node {}: {} authenticated", nodeId, p.describe());
        linkUp(p);
        return p.client ? p.id : nodeId;
    }

    private void installLink(Channel ch, Peer p) {
        if (ch.pipeline().get("frames") instanceof FrameDecoder d) {
            d.authenticated();
        }
        if (config.faults().isPresent()) {
            ch.pipeline().addLast("faults", new FaultHandler(config.faults().get(), nodeId, p.id));
        }
        ch.pipeline().addLast("link", new LinkHandler(this, p));
    }

    /** Connects this client endpoint to a node; returns the node's id. */
    public int connectClient(HostAndPort address) {
        CompletableFuture<Handshake.Dialed> result = new CompletableFuture<>();
        connect(address, -1, result);
        try {
            return result.get(config.handshakeTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS).serverId();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new LinkClosedException(-1, "cannot connect to " + address + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new LinkClosedException(-1, "no handshake from " + address + " within "
                    + config.handshakeTimeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LinkClosedException(-1, "interrupted while connecting to " + address);
        }
    }

    void linkClosed(Peer p, Channel ch, String why) {
        teardown(p, ch, new LinkClosedException(p.id, "link between node " + nodeId + " and " + p.describe()
                + " closed: " + why));
    }

    private void teardown(Peer p, Channel closedChannel, LinkClosedException cause) {
        List<Channel> channels = p.detach(closedChannel);
        if (channels == null) {
            return;                                    // a stale channel of an older link
        }
        for (Channel c : channels) {
            c.close();
        }
        p.fail(cause);
        if (p.client) {
            peers.remove(p.id, p);
        } else if (!channels.isEmpty() && !closed) {
            for (LinkListener l : linkListeners) {
                try {
                    l.linkDown(p.id, cause.getMessage());
                } catch (RuntimeException e) {
                    log.error("node {}: link listener failed", nodeId, e);
                }
            }
        }
    }

    // ------------------------------------------------------------------ services

    NamedCounters countersOf(int id, String name) {
        NamedCounters c = serviceCounters.get(id);     // once registered, no capturing lambda per call
        return c != null ? c : serviceCounters.computeIfAbsent(id, k -> new NamedCounters(name, new Counters()));
    }

    public <Q, R> void register(ServiceKey<Q, R> key, HandlerKind kind, RequestHandler<Q, R> h,
                                Function<? super Q, ?> orderKey) {
        services.register(key, kind, h, orderKey);
    }

    public <Q, R> void registerAsync(ServiceKey<Q, R> key, HandlerKind kind, AsyncRequestHandler<Q, R> h,
                                     Function<? super Q, ?> orderKey) {
        services.registerAsync(key, kind, h, orderKey);
    }

    public <O> void registerConversation(ConversationKey<O> key, ConversationHandler<O> h) {
        services.registerConversation(key, h);
    }

    public void unregister(int id) {
        services.unregister(id);
    }

    // ------------------------------------------------------------------ sending

    private void checkOpen() {
        if (closed) {
            throw new LinkClosedException(-1, "endpoint of node " + nodeId + " is closed");
        }
    }

    /** A request frame's bytes before its value: kind, service id, call id, timeout. */
    private static final int REQUEST_HEADER = 1 + 4 + 8 + 8;

    /**
     * A new frame of {@code kind}, with room for its length prefix before its reader index (see {@link FramePrefixer}).
     * It cannot grow past the frame limit: a value too large for it fails as soon as it outgrows it, with nothing more
     * allocated.
     */
    ByteBuf frame(byte kind) {
        ByteBuf b = FramePrefixer.reserve(PooledByteBufAllocator.DEFAULT.buffer(128,
                Math.max(128, FramePrefixer.HEADROOM + config.maxFrameBytes())));
        b.writeByte(kind);
        return b;
    }

    /**
     * Appends {@code value} to {@code f}; on failure releases {@code f} and throws at the caller: a
     * {@link FrameTooLargeException} when the value outgrew the frame, else a {@link SerializationException}.
     */
    ByteBuf payload(ByteBuf f, Object value) {
        try {
            codec.encode(value, f);
        } catch (RuntimeException | Error e) {
            f.release();
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof FrameTooLargeException tooLarge) {
                    throw tooLarge;
                }
            }
            if (e instanceof Error error) {
                throw error;
            }
            throw e instanceof SerializationException se ? se
                    : new SerializationException("cannot encode " + value.getClass().getName() + ": " + e, e);
        }
        if (f.readableBytes() > config.maxFrameBytes()) {
            int size = f.readableBytes();
            f.release();
            throw new FrameTooLargeException("message of " + size + " bytes exceeds the frame limit of "
                    + config.maxFrameBytes() + " bytes (limits.max-frame-bytes)");
        }
        return f;
    }

    <T> RpcFuture<T> newFuture() {
        return new RpcFuture<>(completions);
    }

    public <Q, R> CompletableFuture<R> call(int node, ServiceKey<Q, R> key, Q request, Duration timeout) {
        Checks.notNull(key, "key");
        checkOpen();
        long timeoutNanos = (timeout == null ? config.defaultCallTimeout() : timeout).toNanos();
        long callId = callIds.incrementAndGet();
        ByteBuf f = frame(FrameKind.REQUEST);
        f.writeInt(key.id()).writeLong(callId).writeLong(timeoutNanos);
        payload(f, request);
        Counters sc = countersOf(key.id(), key.name()).counters();
        RpcFuture<Object> future = newFuture();
        Peer p;
        try {
            p = peerOrFail(node);
        } catch (LinkClosedException e) {
            f.release();
            sc.errors.increment();
            future.completeExceptionally(e);
            return cast(future);
        }
        startCall(p, callId, f, future, sc, timeoutNanos, key);
        return cast(future);
    }

    private void startCall(Peer p, long callId, ByteBuf f, RpcFuture<Object> future, Counters sc,
                           long timeoutNanos, Object what) {
        int bytes = f.readableBytes();
        PendingCall pc = new PendingCall(callId, future, sc, System.nanoTime(), p, what, timeoutNanos);
        p.calls.put(callId, pc);
        pc.timeout = timer.newTimeout(pc, timeoutNanos, TimeUnit.NANOSECONDS);   // fails it at its deadline
        sc.callsOut.increment();
        sc.bytesOut.add(bytes);
        try {
            p.send(f);
        } catch (LinkClosedException e) {
            if (p.calls.remove(callId, pc)) {
                pc.cancelTimer();
                sc.errors.increment();
                future.completeExceptionally(e);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <R> CompletableFuture<R> cast(CompletableFuture<Object> f) {
        return (CompletableFuture<R>) (CompletableFuture<?>) f;
    }

    public <Q> void send(int node, ServiceKey<Q, ?> key, Q message) {
        Checks.notNull(key, "key");
        checkOpen();
        ByteBuf f = frame(FrameKind.ONEWAY);
        f.writeInt(key.id());
        payload(f, message);
        Counters sc = countersOf(key.id(), key.name()).counters();
        sc.callsOut.increment();
        sc.bytesOut.add(f.readableBytes());
        Peer p;
        try {
            p = peerOrFail(node);
        } catch (LinkClosedException e) {
            f.release();
            throw e;
        }
        p.send(f);
    }

    public <Q, R> CompletableFuture<MulticastResult<R>> multicast(Collection<Integer> nodes, ServiceKey<Q, R> key,
                                                                 Q request, Duration timeout) {
        Checks.notNull(nodes, "nodes");
        Checks.notNull(key, "key");
        checkOpen();
        long timeoutNanos = (timeout == null ? config.defaultCallTimeout() : timeout).toNanos();
        // encoded once, with room left in the frame limit for each request's header
        ByteBuf body = payload(PooledByteBufAllocator.DEFAULT.buffer(128, Math.max(128, config.maxFrameBytes()
                - REQUEST_HEADER)), request);
        Counters sc = countersOf(key.id(), key.name()).counters();
        Map<Integer, CompletableFuture<Object>> futures = new TreeMap<>();
        try {
            for (int n : new LinkedHashSet<>(nodes)) {
                RpcFuture<Object> fut = newFuture();
                futures.put(n, fut);
                long callId = callIds.incrementAndGet();
                Peer p = peers.get(n);
                if (p == null) {
                    sc.errors.increment();
                    fut.completeExceptionally(new LinkClosedException(n, "node " + n + " is unknown to node " + nodeId));
                    continue;
                }
                ByteBuf f = frame(FrameKind.REQUEST);
                f.writeInt(key.id()).writeLong(callId).writeLong(timeoutNanos);
                f.writeBytes(body, body.readerIndex(), body.readableBytes());
                startCall(p, callId, f, fut, sc, timeoutNanos, key);
            }
        } finally {
            body.release();
        }
        RpcFuture<MulticastResult<R>> all = newFuture();
        CompletableFuture.allOf(futures.values().toArray(CompletableFuture[]::new)).whenComplete((v, t) -> {
            Map<Integer, R> replies = new HashMap<>();
            Map<Integer, Throwable> failures = new HashMap<>();
            futures.forEach((n, f) -> {
                try {
                    @SuppressWarnings("unchecked") R r = (R) f.join();
                    replies.put(n, r);
                } catch (RuntimeException e) {
                    failures.put(n, e.getCause() != null ? e.getCause() : e);
                }
            });
            all.complete(new MulticastResult<>(replies, failures));
        });
        return all;
    }

    // ------------------------------------------------------------------ conversations

    public <O> Conversation openConversation(int node, ConversationKey<O> key, O opening) {
        Checks.notNull(key, "key");
        checkOpen();
        Peer p = peerOrFail(node);
        long convId = convIds.incrementAndGet();
        ByteBuf f = frame(FrameKind.CONV_OPEN);
        f.writeInt(key.id()).writeLong(convId).writeInt(config.conversationWindow());
        payload(f, opening);
        ConversationImpl c = new ConversationImpl(this, p, convId, true, config.conversationWindow());
        p.initiated.put(convId, c);
        Counters sc = countersOf(key.id(), key.name()).counters();
        sc.callsOut.increment();
        try {
            p.send(f);
        } catch (LinkClosedException e) {
            c.fail(e);
        }
        return c;
    }

    ByteBuf encodeConvData(byte dir, long convId, Object message) {
        ByteBuf f = frame(FrameKind.CONV_DATA);
        f.writeByte(dir).writeLong(convId);
        return payload(f, message);
    }

    void sendConvControl(Peer p, byte kind, byte dir, long convId, int credits) {
        ByteBuf f = frame(kind);
        f.writeByte(dir).writeLong(convId);
        if (kind == FrameKind.CONV_CREDIT) {
            f.writeInt(credits);
        }
        p.send(f);
    }

    void sendConvAbort(Peer p, byte dir, long convId, String type, String message) {
        ByteBuf f = frame(FrameKind.CONV_ABORT);
        f.writeByte(dir).writeLong(convId);
        Wire.writeUtf(f, type);
        Wire.writeUtf(f, message);
        p.send(f);
    }

    void forget(Peer p, ConversationImpl c, boolean initiator) {
        (initiator ? p.initiated : p.accepted).remove(c.id, c);
    }

    // ------------------------------------------------------------------ receiving (I/O thread)

    /** Handles one frame from {@code p}; takes ownership of it. Never throws, never blocks. */
    void dispatch(Peer p, ByteBuf f) {
        try {
            p.lastHeardNanos = System.nanoTime();
            p.counters.framesIn.increment();
            p.counters.bytesIn.add(f.readableBytes() + 4L);
            if (!f.isReadable()) {
                throw new SerializationException("empty frame");
            }
            byte kind = f.readByte();
            switch (kind) {
                case FrameKind.REQUEST -> services.onRequest(p, f, false);
                case FrameKind.ONEWAY -> services.onRequest(p, f, true);
                case FrameKind.RESPONSE -> onResponse(p, f);
                case FrameKind.ERROR -> onError(p, f);
                case FrameKind.CONV_OPEN -> services.onConvOpen(p, f);
                case FrameKind.CONV_DATA, FrameKind.CONV_CREDIT, FrameKind.CONV_CLOSE, FrameKind.CONV_ABORT ->
                        onConvFrame(p, f, kind);
                case FrameKind.PING -> {
                    Wire.need(f, 8, "ping");
                    ByteBuf pong = frame(FrameKind.PONG);
                    pong.writeLong(f.readLong());
                    p.send(pong);
                }
                case FrameKind.PONG -> {
                    Wire.need(f, 8, "pong");
                    p.rttNanos = System.nanoTime() - f.readLong();
                }
                default -> throw new SerializationException("unknown frame kind " + kind);
            }
        } catch (SerializationException | IndexOutOfBoundsException e) {
            rejected(p, e);
        } catch (LinkClosedException e) {
            log.debug("node {}: cannot answer {}: {}", nodeId, p.describe(), e.getMessage());
        } catch (RuntimeException e) {
            log.error("node {}: frame from {} failed", nodeId, p.describe(), e);
            p.counters.errors.increment();
        } finally {
            f.release();
        }
    }

    private void rejected(Peer p, Exception e) {
        p.counters.rejected.increment();
        long n = p.counters.rejected.sum();
        if (n <= 10 || Long.bitCount(n) == 1) {          // log the first ten, then at powers of two
            log.warn("node {}: rejected frame #{} from {}: {}", nodeId, n, p.describe(), e.getMessage());
        }
    }

    private void onResponse(Peer p, ByteBuf f) {
        Wire.need(f, 8, "response");
        long callId = f.readLong();
        PendingCall pc = p.calls.remove(callId);
        if (pc == null) {
            return;                                    // timed out or link failed earlier
        }
        pc.cancelTimer();
        long rtt = System.nanoTime() - pc.startNanos;
        pc.service.latency.record(rtt);
        p.counters.latency.record(rtt);
        pc.service.bytesIn.add(f.readableBytes());
        Object value;
        try {
            value = codec.decode(f);
        } catch (SerializationException e) {
            pc.service.errors.increment();
            pc.future.completeExceptionally(e);
            throw e;
        }
        pc.future.complete(value);
    }

    private void onError(Peer p, ByteBuf f) {
        Wire.need(f, 8, "error");
        long callId = f.readLong();
        String type = Wire.readUtf(f);
        String message = Wire.readUtf(f);
        PendingCall pc = p.calls.remove(callId);
        if (pc == null) {
            return;
        }
        pc.cancelTimer();
        pc.service.errors.increment();
        p.counters.errors.increment();
        pc.future.completeExceptionally(new RemoteException(p.id, type, message));
    }

    private void onConvFrame(Peer p, ByteBuf f, byte kind) {
        Wire.need(f, 9, "conversation frame");
        byte dir = f.readByte();
        long convId = f.readLong();
        // A frame from the initiator concerns a conversation we accepted, and vice versa.
        ConversationImpl c = dir == ConversationImpl.FROM_INITIATOR ? p.accepted.get(convId)
                : dir == ConversationImpl.FROM_ACCEPTOR ? p.initiated.get(convId) : null;
        if (c == null) {
            return;                                    // already ended here (abort raced with data)
        }
        switch (kind) {
            case FrameKind.CONV_DATA -> {
                Object m = codec.decode(f);
                if (!c.onData(m)) {
                    byte back = dir == ConversationImpl.FROM_INITIATOR ? ConversationImpl.FROM_ACCEPTOR
                            : ConversationImpl.FROM_INITIATOR;
                    c.fail(new KerrighedException("conversation " + convId + ": " + p.describe()
                            + " sent beyond its credit"));
                    sendConvAbort(p, back, convId, "org.kerrighed.rpc.ProtocolError", "credit exceeded");
                }
            }
            case FrameKind.CONV_CREDIT -> {
                Wire.need(f, 4, "credit");
                int n = f.readInt();
                if (n < 1 || n > 65_536) {
                    throw new SerializationException("bad credit " + n);
                }
                c.onCredit(n);
            }
            case FrameKind.CONV_CLOSE -> c.onRemoteClose();
            default -> {
                String type = Wire.readUtf(f);
                String message = Wire.readUtf(f);
                c.fail(new RemoteException(p.id, type, message));
            }
        }
    }

    // ------------------------------------------------------------------ stats and lifecycle

    public RpcStats stats() {
        List<RpcStats.ServiceStats> s = new ArrayList<>();
        serviceCounters.forEach((id, nc) -> {
            Counters c = nc.counters();
            s.add(new RpcStats.ServiceStats(id, nc.name(), c.callsOut.sum(), c.callsIn.sum(), c.errors.sum(),
                    c.bytesOut.sum(), c.bytesIn.sum(), c.latency.summary()));
        });
        s.sort(Comparator.comparingInt(RpcStats.ServiceStats::serviceId));
        List<RpcStats.PeerStats> ps = new ArrayList<>();
        for (Peer p : peers.values()) {
            Counters c = p.counters;
            ps.add(new RpcStats.PeerStats(p.id, p.connected(), c.framesOut.sum(), c.framesIn.sum(), c.bytesOut.sum(),
                    c.bytesIn.sum(), c.errors.sum(), c.rejected.sum(), c.latency.summary()));
        }
        ps.sort(Comparator.comparingInt(RpcStats.PeerStats::peer));
        return new RpcStats(nodeId, s, ps);
    }

    /** Handshakes refused by this endpoint since start. */
    public long refusedHandshakes() {
        return refused.sum();
    }

    public Map<Integer, Long> lastRttMicros() {
        Map<Integer, Long> m = new TreeMap<>();
        for (Peer p : peers.values()) {
            if (p != self && !p.client && p.rttNanos >= 0) {
                m.put(p.id, p.rttNanos / 1000);
            }
        }
        return m;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<Throwable> failures = new ArrayList<>();
        Runnable[] steps = {
            () -> {
                if (server != null) {
                    server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
                }
            },
            () -> {
                for (Peer p : peers.values()) {
                    if (p != self) {
                        teardown(p, null, new LinkClosedException(p.id, "node " + nodeId + " is shutting down"));
                    }
                }
                if (self != null) {
                    self.fail(new LinkClosedException(nodeId, "node " + nodeId + " is shutting down"));
                }
            },
            jmx::close,
            transport::close,
            () -> peers.values().forEach(p -> p.detach(null)),   // frames queued behind dials that never ended
            timer::stop,
            handlers::shutdownNow,
            completions::shutdown,
        };
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (Throwable t) {
                failures.add(t);
            }
        }
        if (!failures.isEmpty()) {
            log.warn("node {}: {} failure(s) while closing; first: {}", nodeId, failures.size(), failures.getFirst().toString());
        }
        log.debug("node {} closed", nodeId);
    }
}
