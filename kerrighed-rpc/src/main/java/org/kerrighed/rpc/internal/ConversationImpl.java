package org.kerrighed.rpc.internal;

import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.LinkClosedException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One side of a conversation.
 *
 * <p>Overview: each side may have at most {@code window} messages in flight towards the other; a sender
 * spends one credit per message and waits when it has none; a receiver returns credits in batches of half
 * the window as the application consumes messages, so the receiver's inbox never holds more than
 * {@code window} messages. A peer that sends beyond its credit is aborted with a protocol error. Frames of
 * one conversation travel on the link like any other frame, so they keep their order. All state is
 * guarded by {@link #lock}; handlers running on the I/O thread only take it briefly and never wait.
 */
final class ConversationImpl implements Conversation {
    static final byte FROM_INITIATOR = 0;
    static final byte FROM_ACCEPTOR = 1;

    private final Endpoint endpoint;
    private final Peer peer;
    final long id;
    private final byte outDir;                      // direction byte of the frames this side sends
    private final int window;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ReentrantLock sendLock = new ReentrantLock(); // keeps credit order == frame order
    private final ArrayDeque<Object> inbox = new ArrayDeque<>();
    private int credits;                            // messages this side may still send
    private int consumedUngranted;                  // consumed messages not yet returned as credit
    private boolean localClosed;
    private boolean remoteClosed;
    private RuntimeException failure;
    private final CompletableFuture<Void> done;

    ConversationImpl(Endpoint endpoint, Peer peer, long id, boolean initiator, int window) {
        this.endpoint = endpoint;
        this.peer = peer;
        this.id = id;
        this.outDir = initiator ? FROM_INITIATOR : FROM_ACCEPTOR;
        this.window = window;
        this.credits = window;
        this.done = endpoint.newFuture();
    }

    @Override
    public int peer() {
        return peer.id;
    }

    @Override
    public void send(Object message, Duration timeout) throws InterruptedException, TimeoutException {
        java.util.Objects.requireNonNull(message, "message: a conversation carries no null (receive's empty means closed)");
        long waitNanos = (timeout == null ? endpoint.config().defaultCallTimeout() : timeout).toNanos();
        var frame = endpoint.encodeConvData(outDir, id, message); // fails at the caller, before any wait
        boolean sent = false;
        sendLock.lockInterruptibly();
        try {
            lock.lockInterruptibly();
            try {
                while (true) {
                    throwIfFailed();
                    if (localClosed) {
                        throw new IllegalStateException("conversation " + id + " with " + peer.describe()
                                + " is closed for sending");
                    }
                    if (credits > 0) {
                        credits--;
                        break;
                    }
                    if (waitNanos <= 0) {
                        throw new TimeoutException("no credit from " + peer.describe() + " within " + timeout
                                + " (the receiver is not consuming)");
                    }
                    waitNanos = changed.awaitNanos(waitNanos);
                }
            } finally {
                lock.unlock();
            }
            peer.send(frame);
            sent = true;
        } finally {
            sendLock.unlock();
            if (!sent) {
                frame.release();
            }
        }
    }

    @Override
    public Optional<Object> receive(Duration timeout) throws InterruptedException, TimeoutException {
        long waitNanos = (timeout == null ? endpoint.config().defaultCallTimeout() : timeout).toNanos();
        int grant = 0;
        Object message;
        lock.lockInterruptibly();
        try {
            while (inbox.isEmpty()) {
                throwIfFailed();
                if (remoteClosed) {
                    return Optional.empty();
                }
                if (waitNanos <= 0) {
                    throw new TimeoutException("nothing from " + peer.describe() + " within " + timeout);
                }
                waitNanos = changed.awaitNanos(waitNanos);
            }
            message = inbox.poll();
            consumedUngranted++;
            if (consumedUngranted >= Math.max(1, window / 2) && !remoteClosed && failure == null) {
                grant = consumedUngranted;
                consumedUngranted = 0;
            }
        } finally {
            lock.unlock();
        }
        if (grant > 0) {
            try {
                endpoint.sendConvControl(peer, FrameKind.CONV_CREDIT, outDir, id, grant);
            } catch (LinkClosedException e) {
                fail(e);
            }
        }
        return Optional.of(message == Endpoint.NULL_MESSAGE ? null : message);
    }

    private void throwIfFailed() {
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() {
        boolean send;
        lock.lock();
        try {
            send = !localClosed && failure == null;
            localClosed = true;
            if (remoteClosed || failure != null) {
                finish();
            }
        } finally {
            lock.unlock();
        }
        if (send) {
            try {
                endpoint.sendConvControl(peer, FrameKind.CONV_CLOSE, outDir, id, 0);
            } catch (LinkClosedException e) {
                fail(e);
            }
        }
    }

    @Override
    public void abort(String reason) {
        boolean send;
        lock.lock();
        try {
            send = failure == null && !(localClosed && remoteClosed);
            if (failure == null) {
                failure = new KerrighedException("conversation " + id + " with " + peer.describe()
                        + " aborted locally: " + reason);
            }
            changed.signalAll();
            finish();
        } finally {
            lock.unlock();
        }
        if (send) {
            try {
                endpoint.sendConvAbort(peer, outDir, id, "org.kerrighed.rpc.ConversationAborted", reason);
            } catch (LinkClosedException ignored) {
                // The link is gone: the peer fails this conversation on its own.
            }
        }
    }

    @Override
    public CompletableFuture<Void> done() {
        return done;
    }

    // ---- Called from the I/O thread (never blocks).

    /** @return false when the peer overran its credit (the caller aborts the conversation). */
    boolean onData(Object message) {
        lock.lock();
        try {
            if (failure != null) {
                return true;
            }
            if (inbox.size() >= window) {
                return false;
            }
            inbox.add(message == null ? Endpoint.NULL_MESSAGE : message);
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    void onCredit(int n) {
        lock.lock();
        try {
            credits += n;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void onRemoteClose() {
        lock.lock();
        try {
            remoteClosed = true;
            changed.signalAll();
            if (localClosed) {
                finish();
            }
        } finally {
            lock.unlock();
        }
    }

    void fail(RuntimeException cause) {
        lock.lock();
        try {
            if (failure == null && !(localClosed && remoteClosed)) {
                failure = cause;
                inbox.clear();
            }
            changed.signalAll();
            finish();
        } finally {
            lock.unlock();
        }
    }

    /** Called with the lock held. */
    private void finish() {
        endpoint.forget(peer, this, outDir == FROM_INITIATOR);
        if (failure != null) {
            done.completeExceptionally(failure);
        } else {
            done.complete(null);
        }
    }

    int bufferedForTest() {
        lock.lock();
        try {
            return inbox.size();
        } finally {
            lock.unlock();
        }
    }
}
