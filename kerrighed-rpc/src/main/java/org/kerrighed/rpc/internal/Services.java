package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import org.kerrighed.rpc.AsyncRequestHandler;
import org.kerrighed.rpc.CallContext;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.ConversationHandler;
import org.kerrighed.rpc.ConversationKey;
import org.kerrighed.rpc.FrameTooLargeException;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RequestHandler;
import org.kerrighed.rpc.SerializationException;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.internal.codec.KryoCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Function;

/**
 * The serving side of an {@link Endpoint}: the services registered on it, and what happens to a request,
 * a one-way message or a conversation opening that arrives for one. Non-blocking handlers run on the I/O
 * thread that read the frame; blocking ones on a new virtual thread, or in order per key on a
 * {@link SerialExecutor}; a reply goes back on the caller's link. Registration is thread-safe; the
 * {@code on...} methods run on I/O threads and never block.
 */
final class Services {
    private static final Logger log = LoggerFactory.getLogger(Services.class);

    private final Endpoint endpoint;
    private final int nodeId;
    private final KryoCodec codec;
    private final ExecutorService handlers;
    private final SerialExecutor ordered;
    private final ConcurrentHashMap<Integer, Service> services = new ConcurrentHashMap<>();

    Services(Endpoint endpoint, int nodeId, KryoCodec codec, ExecutorService handlers, SerialExecutor ordered) {
        this.endpoint = endpoint;
        this.nodeId = nodeId;
        this.codec = codec;
        this.handlers = handlers;
        this.ordered = ordered;
    }

    /** A registered handler: exactly one of sync, async and conversation is set. */
    record Service(int id, String name, Class<?> requestType, HandlerKind kind,
                           RequestHandler<Object, Object> sync, AsyncRequestHandler<Object, Object> async,
                           Function<Object, ?> orderKey, ConversationHandler<Object> conversation,
                           Counters counters) {
    }

    private void putService(Service s) {
        if (services.putIfAbsent(s.id(), s) != null) {
            throw new IllegalStateException("service id " + s.id() + " (" + s.name() + ") is already registered on node "
                    + nodeId + " as " + services.get(s.id()).name());
        }
    }

    @SuppressWarnings("unchecked")
    <Q, R> void register(ServiceKey<Q, R> key, HandlerKind kind, RequestHandler<Q, R> h,
                         Function<? super Q, ?> orderKey) {
        Checks.notNull(key, "key");
        Checks.notNull(kind, "kind");
        Checks.notNull(h, "handler");
        putService(new Service(key.id(), key.name(), key.requestType(), kind, (RequestHandler<Object, Object>) h,
                null, (Function<Object, ?>) orderKey, null, endpoint.countersOf(key.id(), key.name()).counters()));
    }

    @SuppressWarnings("unchecked")
    <Q, R> void registerAsync(ServiceKey<Q, R> key, HandlerKind kind, AsyncRequestHandler<Q, R> h,
                              Function<? super Q, ?> orderKey) {
        Checks.notNull(key, "key");
        Checks.notNull(kind, "kind");
        Checks.notNull(h, "handler");
        putService(new Service(key.id(), key.name(), key.requestType(), kind, null,
                (AsyncRequestHandler<Object, Object>) h, (Function<Object, ?>) orderKey, null,
                endpoint.countersOf(key.id(), key.name()).counters()));
    }

    @SuppressWarnings("unchecked")
    <O> void registerConversation(ConversationKey<O> key, ConversationHandler<O> h) {
        Checks.notNull(key, "key");
        Checks.notNull(h, "handler");
        putService(new Service(key.id(), key.name(), key.openingType(), HandlerKind.BLOCKING, null, null, null,
                (ConversationHandler<Object>) h, endpoint.countersOf(key.id(), key.name()).counters()));
    }

    void unregister(int id) {
        services.remove(id);
    }

    void onRequest(Peer p, ByteBuf f, boolean oneWay) {
        Wire.need(f, oneWay ? 4 : 20, "request header");
        int sid = f.readInt();
        long callId = oneWay ? 0 : f.readLong();
        long timeoutNanos = oneWay ? 0 : f.readLong();
        Service s = services.get(sid);
        if (s == null || s.conversation() != null) {
            if (!oneWay) {
                sendError(p, callId, "org.kerrighed.rpc.NoSuchService", "node " + nodeId + " has no service " + sid);
            }
            throw new SerializationException("no service " + sid + " on node " + nodeId);
        }
        int bytes = f.readableBytes();
        Object request;
        try {
            request = codec.decode(f);
            if (request != null && !s.requestType().isInstance(request)) {
                throw new SerializationException("service " + s.name() + " expects " + s.requestType().getName()
                        + ", got " + request.getClass().getName());
            }
        } catch (SerializationException e) {
            s.counters().errors.increment();
            if (!oneWay) {
                sendError(p, callId, SerializationException.class.getName(), e.getMessage());
            }
            throw e;
        }
        s.counters().callsIn.increment();
        s.counters().bytesIn.add(bytes);
        long deadline = timeoutNanos <= 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutNanos;
        Runnable task = () -> invoke(p, s, callId, oneWay, deadline, request);
        if (s.kind() == HandlerKind.NON_BLOCKING) {
            task.run();
        } else if (s.orderKey() != null) {
            Object k;
            try {
                k = s.orderKey().apply(request);
            } catch (RuntimeException e) {
                reply(p, s, callId, oneWay, null, e, null);
                return;
            }
            ordered.execute(List.of(p.id, s.id(), k == null ? Endpoint.NULL_MESSAGE : k), task);
        } else {
            handlers.execute(task);
        }
    }

    private void invoke(Peer p, Service s, long callId, boolean oneWay, long deadline, Object request) {
        Context ctx = new Context(p.id, deadline);
        try {
            if (s.async() != null) {
                s.async().handle(ctx, request).whenComplete((r, t) -> reply(p, s, callId, oneWay, r, t, ctx));
            } else {
                reply(p, s, callId, oneWay, s.sync().handle(ctx, request), null, ctx);
            }
        } catch (Throwable t) {
            reply(p, s, callId, oneWay, null, t, ctx);
        }
    }

    private static final class Context implements CallContext {
        private final int caller;
        private final long deadline;
        private List<Runnable> after;                   // guarded by this: tasks not run yet
        private boolean ran;                            // guarded by this: the tasks given so far ran

        Context(int caller, long deadline) {
            this.caller = caller;
            this.deadline = deadline;
        }

        @Override
        public int caller() {
            return caller;
        }

        @Override
        public long remainingNanos() {
            return deadline == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, deadline - System.nanoTime());
        }

        @Override
        public void afterReply(Runnable task) {
            java.util.Objects.requireNonNull(task, "task");
            synchronized (this) {
                if (!ran) {
                    if (after == null) {
                        after = new java.util.ArrayList<>(2);
                    }
                    after.add(task);                    // before the reply, or while its tasks wait their turn
                    return;
                }
            }
            ReadBatch.runAll(List.of(task));
        }

        /** Runs the tasks given, in order, including those given meanwhile: once the reply left (or was lost). */
        void runTasks() {
            while (true) {
                List<Runnable> tasks;
                synchronized (this) {
                    tasks = after;
                    after = null;
                    if (tasks == null) {
                        ran = true;
                        return;
                    }
                }
                ReadBatch.runAll(tasks);
            }
        }
    }

    /** Sends the reply (or error) of a call, then runs the tasks its handler left for after it ({@code ctx}). */
    private void reply(Peer p, Service s, long callId, boolean oneWay, Object result, Throwable failure,
                       Context ctx) {
        Runnable[] then = {ctx == null ? null : ctx::runTasks};
        try {
            send(p, s, callId, oneWay, result, failure, then);
        } finally {
            if (then[0] != null) {
                then[0].run();                          // not handed to the link
            }
        }
    }

    /**
     * Sends the reply. {@code then[0]}, if the reply goes out, is handed to the link, which runs it once the reply is
     * written ({@link Peer#send(ByteBuf, Runnable)}), and cleared; else it is left for the caller to run.
     */
    private void send(Peer p, Service s, long callId, boolean oneWay, Object result, Throwable failure,
                      Runnable[] then) {
        if (failure != null) {
            s.counters().errors.increment();
            if (failure instanceof VirtualMachineError vme && !(failure instanceof StackOverflowError)) {
                throw vme;
            }
        }
        if (oneWay) {
            if (failure != null) {
                log.warn("node {}: one-way handler {} failed for a message from {}", nodeId, s.name(), p.describe(),
                        failure);
            }
            return;
        }
        try {
            ByteBuf f;
            if (failure == null) {
                f = endpoint.frame(FrameKind.RESPONSE);
                f.writeLong(callId);
                try {
                    endpoint.payload(f, result);
                } catch (SerializationException | FrameTooLargeException e) {
                    sendError(p, callId, e.getClass().getName(), "reply of " + s.name() + " on node " + nodeId
                            + " could not be sent: " + e.getMessage());
                    return;
                }
            } else {
                f = endpoint.frame(FrameKind.ERROR);
                f.writeLong(callId);
                Wire.writeError(f, failure);
            }
            Runnable t = then[0];
            then[0] = null;                             // the link runs it, whatever happens to the frame
            p.send(f, t);
        } catch (LinkClosedException e) {
            log.debug("node {}: reply to {} lost: {}", nodeId, p.describe(), e.getMessage());
        }
    }

    private void sendError(Peer p, long callId, String type, String message) {
        ByteBuf f = endpoint.frame(FrameKind.ERROR);
        f.writeLong(callId);
        Wire.writeUtf(f, type);
        Wire.writeUtf(f, message);
        p.send(f);
    }

    void onConvOpen(Peer p, ByteBuf f) {
        Wire.need(f, 16, "conversation open");
        int sid = f.readInt();
        long convId = f.readLong();
        int window = f.readInt();
        Service s = services.get(sid);
        if (s == null || s.conversation() == null) {
            endpoint.sendConvAbort(p, ConversationImpl.FROM_ACCEPTOR, convId, "org.kerrighed.rpc.NoSuchService",
                    "node " + nodeId + " has no conversation service " + sid);
            throw new SerializationException("no conversation service " + sid + " on node " + nodeId);
        }
        if (window < 1 || window > 65_536) {
            endpoint.sendConvAbort(p, ConversationImpl.FROM_ACCEPTOR, convId, SerializationException.class.getName(),
                    "bad window " + window);
            throw new SerializationException("conversation window " + window + " out of range");
        }
        Object opening;
        try {
            opening = codec.decode(f);
        } catch (SerializationException e) {
            endpoint.sendConvAbort(p, ConversationImpl.FROM_ACCEPTOR, convId, SerializationException.class.getName(),
                    e.getMessage());
            throw e;
        }
        ConversationImpl c = new ConversationImpl(endpoint, p, convId, false, window);
        if (p.accepted.putIfAbsent(convId, c) != null) {
            throw new SerializationException("duplicate conversation id " + convId);
        }
        s.counters().callsIn.increment();
        handlers.execute(() -> {
            try {
                s.conversation().onOpen(c, opening);
                c.close();
            } catch (Throwable t) {
                s.counters().errors.increment();
                log.debug("node {}: conversation {} handler failed", nodeId, s.name(), t);
                c.fail(new KerrighedException("handler failed: " + t, t));
                try {
                    Throwable root = t;
                    endpoint.sendConvAbort(p, ConversationImpl.FROM_ACCEPTOR, convId, root.getClass().getName(),
                            String.valueOf(root.getMessage()));
                } catch (LinkClosedException ignored) {
                    // The initiator fails the conversation on its own when the link closes.
                }
            }
        });
    }
}
