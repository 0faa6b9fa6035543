package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.LinkClosedException;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Everything this endpoint knows about one remote node or client: its address, the link (the outbound
 * connection this side sends on, and the inbound one the peer sends on), the calls and conversations
 * pending with it, and its counters.
 *
 * <p>Overview: all frames to the peer go through {@link #send}, under this object's lock, onto the single
 * outbound channel. The channel's I/O thread writes directly; other threads hand their frames to it through a
 * queue it drains before any direct write, so frames reach the peer in the order {@code send} was called
 * whichever thread called it. Until the outbound link is authenticated, frames wait in {@link #backlog},
 * and are written in order when it is ready. A client has one channel, used both ways. The loopback peer
 * (this node itself) has no channel: its frames are dispatched on one fixed event loop, which keeps their
 * order too.
 */
final class Peer {
    final int id;
    final boolean client;
    final Counters counters = new Counters();
    final ConcurrentHashMap<Long, PendingCall> calls = new ConcurrentHashMap<>();
    final ConcurrentHashMap<Long, ConversationImpl> initiated = new ConcurrentHashMap<>();
    final ConcurrentHashMap<Long, ConversationImpl> accepted = new ConcurrentHashMap<>();
    private final Endpoint endpoint;
    private final EventLoop loopback;                   // non-null for the peer that is this node
    volatile HostAndPort address;
    volatile long rttNanos = -1;
    volatile long incarnation;                          // of the peer's current run, from its handshake
    volatile long lastHeardNanos = System.nanoTime();   // arrival of its last frame

    // Guarded by this.
    private Channel out;
    private Channel in;
    private boolean connecting;
    private final ArrayDeque<ByteBuf> backlog = new ArrayDeque<>();
    private final ArrayDeque<ByteBuf> handOff = new ArrayDeque<>();   // sent by other threads, for the I/O thread
    private final ArrayList<Runnable> backlogThen = new ArrayList<>();   // to run once the backlog is flushed
    private final ArrayList<Runnable> handOffThen = new ArrayList<>();   // to run once the hand-off is flushed
    private boolean drainScheduled;

    Peer(Endpoint endpoint, int id, boolean client, HostAndPort address, EventLoop loopback) {
        this.endpoint = endpoint;
        this.id = id;
        this.client = client;
        this.address = address;
        this.loopback = loopback;
    }

    /**
     * Queues {@code frame} for the peer; takes ownership of it.
     *
     * @throws LinkClosedException when the peer cannot be reached (no address known, endpoint closed)
     */
    void send(ByteBuf frame) {
        send(frame, null);
    }

    /**
     * {@link #send(ByteBuf)}, then runs {@code then} (if not null) once the frame has been written and flushed to the
     * link (on its I/O thread: after the read batch's flush, or after the drain of frames other threads handed off,
     * or once a link that was connecting is ready), or lost (the link closed, a call to this node itself: at once).
     * Once, never under this peer's lock; never if the node's I/O threads stop before they get to it.
     */
    void send(ByteBuf frame, Runnable then) {
        Runnable[] left = {then};                       // run at the end unless handed over
        try {
            send0(frame, left);
        } finally {
            if (left[0] != null) {
                left[0].run();
            }
        }
    }

    private void send0(ByteBuf frame, Runnable[] then) {
        counters.framesOut.increment();
        counters.bytesOut.add(frame.readableBytes() + 4L);
        if (loopback != null) {
            try {
                loopback.execute(() -> endpoint.dispatch(this, frame));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                frame.release();
                throw new LinkClosedException(id, "endpoint of node " + endpoint.nodeId() + " is closing");
            }
            return;
        }
        boolean dial = false;
        synchronized (this) {
            if (endpoint.isClosed()) {
                frame.release();
                throw new LinkClosedException(id, "endpoint of node " + endpoint.nodeId() + " is closed");
            }
            if (out != null && backlog.isEmpty()) {
                Channel ch = out;
                if (!ch.eventLoop().inEventLoop()) {
                    // Another thread: queue the frame and let the channel's I/O thread write it. Netty would
                    // run a write from here as a task, which a later write made directly on the I/O thread
                    // overtakes; the queue keeps every frame in send order whichever thread sent it.
                    handOff.add(frame);
                    if (then[0] != null) {
                        handOffThen.add(then[0]);                 // run by the drain, after its flush
                        then[0] = null;
                    }
                    if (!drainScheduled) {
                        drainScheduled = true;
                        try {
                            ch.eventLoop().execute(this::drainHandOff);
                        } catch (java.util.concurrent.RejectedExecutionException stopping) {
                            drainScheduled = false;               // the I/O threads stopped: the frames are lost
                            then[0] = dropHandOff();
                            throw new LinkClosedException(id, "endpoint of node " + endpoint.nodeId() + " is closing");
                        }
                    }
                    return;
                }
                // Frames other threads sent before this one go first; their tasks go with them (after the flush).
                Runnable earlier = writeHandOff(ch);
                ReadBatch batch;
                if ((batch = ReadBatch.current()).reading) {
                    // Sent while this I/O thread handles a batch of frames read from a link (a reply, or a
                    // call made from a completion run there): write now, flush when the batch completes
                    // (channelReadComplete), so the frames of one batch leave in one syscall. A lone frame
                    // is flushed as soon as its read ends, so one call in flight is not delayed.
                    ch.write(frame, ch.voidPromise());
                    batch.deferFlush(ch);
                    if (earlier != null) {
                        batch.afterFlush(earlier);
                    }
                    if (then[0] != null) {
                        batch.afterFlush(then[0]);
                        then[0] = null;
                    }
                } else {
                    ch.writeAndFlush(frame, ch.voidPromise());
                    then[0] = inOrder(earlier, then[0]);  // run by send, once out of this lock
                }
                return;
            }
            if (out == null && !connecting) {
                if (client || address == null || endpoint.isClosed()) {
                    frame.release();
                    throw new LinkClosedException(id, endpoint.isClosed() ? "endpoint of node "
                            + endpoint.nodeId() + " is closed" : "no link to " + describe()
                            + " and no address to dial it");
                }
                connecting = true;
                dial = true;
            }
            backlog.add(frame);
            if (then[0] != null) {
                backlogThen.add(then[0]);               // run once the link is ready and the backlog flushed
                then[0] = null;
            }
        }
        if (dial) {
            endpoint.dial(this);
        }
    }

    /** Releases the handed-off frames (lost); returns their tasks as one, to run outside this lock. Holds it. */
    private Runnable dropHandOff() {
        ByteBuf f;
        while ((f = handOff.poll()) != null) {
            f.release();
        }
        return ReadBatch.takeAll(handOffThen);
    }

    /**
     * Writes (without flushing) the frames other threads handed off; returns their tasks as one, for the caller to
     * run once it flushed them, outside this lock (null if none). Caller holds this lock, on {@code ch}'s loop.
     */
    private Runnable writeHandOff(Channel ch) {
        ByteBuf f;
        while ((f = handOff.poll()) != null) {
            ch.write(f, ch.voidPromise());
        }
        return ReadBatch.takeAll(handOffThen);
    }

    /** {@code first}, then {@code second} (either may be null). */
    private static Runnable inOrder(Runnable first, Runnable second) {
        if (first == null || second == null) {
            return first == null ? second : first;
        }
        return () -> {
            first.run();
            second.run();
        };
    }

    /** On the I/O thread: writes and flushes what other threads handed off, then runs their tasks. */
    private void drainHandOff() {
        Runnable then;
        synchronized (this) {
            drainScheduled = false;
            if (handOff.isEmpty()) {
                return;
            }
            Channel ch = out;
            if (ch == null) {
                then = dropHandOff();                    // the link closed: lost, like frames in flight
            } else if (!ch.eventLoop().inEventLoop()) {
                // Scheduled for a link that closed since; the frames go to the new link, from its own thread.
                try {
                    ch.eventLoop().execute(this::drainHandOff);
                    drainScheduled = true;
                    return;
                } catch (java.util.concurrent.RejectedExecutionException stopping) {
                    then = dropHandOff();
                }
            } else {
                then = writeHandOff(ch);
                ch.flush();
            }
        }
        if (then != null) {
            then.run();
        }
    }

    /** The outbound link is authenticated: write the backlog in order, then send directly. */
    void outboundReady(Channel ch) {
        Channel stale = null;
        Runnable then = null;
        synchronized (this) {
            connecting = false;
            if (out != null && out != ch) {
                stale = ch;                              // lost a race with another dial; keep the first
            } else {
                out = ch;
                ByteBuf f;
                while ((f = backlog.poll()) != null) {
                    ch.write(f, ch.voidPromise());
                }
                ch.flush();
                then = ReadBatch.takeAll(backlogThen);   // called on the link's I/O thread: written now
            }
        }
        if (stale != null) {
            stale.close();
        }
        if (then != null) {
            then.run();
        }
    }

    /** The peer's own connection to us is authenticated (for a client, it is also our send channel). */
    void inboundReady(Channel ch) {
        synchronized (this) {
            in = ch;
            if (client) {
                out = ch;
            }
        }
    }

    /** The dial failed before the link was ready. */
    synchronized boolean dialFailed() {
        connecting = false;
        return out == null;
    }

    /**
     * Detaches the link if {@code closed} is one of its channels (or always, when {@code closed} is null).
     *
     * @return the channels to close, or null when {@code closed} was a stale channel
     */
    List<Channel> detach(Channel closed) {
        List<Channel> toClose = new ArrayList<>(2);
        Runnable lost = null;                           // the tasks of the frames lost, run outside the lock
        synchronized (this) {
            if (closed != null && closed != out && closed != in) {
                return null;
            }
            if (out != null) {
                toClose.add(out);
            }
            if (in != null && in != out) {
                toClose.add(in);
            }
            out = null;
            in = null;
            ByteBuf f;
            while ((f = backlog.poll()) != null) {
                f.release();
            }
            lost = inOrder(ReadBatch.takeAll(backlogThen), dropHandOff());
            drainScheduled = false;                      // a drain still queued for this link finds nothing
        }
        if (lost != null) {
            lost.run();
        }
        return toClose;
    }

    synchronized boolean connected() {
        return loopback != null || out != null;
    }

    synchronized Channel outbound() {
        return out;
    }

    String describe() {
        return (client ? "client " : "node ") + id + (address == null ? "" : " (" + address + ")");
    }

    @Override
    public String toString() {
        return describe();
    }

    void fail(LinkClosedException cause) {
        for (Long callId : calls.keySet()) {
            PendingCall pc = calls.remove(callId);
            if (pc != null) {
                pc.cancelTimer();
                pc.service.errors.increment();
                counters.errors.increment();
                pc.future.completeExceptionally(cause);
            }
        }
        for (ConversationImpl c : initiated.values()) {
            c.fail(cause);
        }
        for (ConversationImpl c : accepted.values()) {
            c.fail(cause);
        }
        initiated.clear();
        accepted.clear();
    }
}
