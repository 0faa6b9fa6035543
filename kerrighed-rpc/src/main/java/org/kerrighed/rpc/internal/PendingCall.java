package org.kerrighed.rpc.internal;

import io.netty.util.Timeout;
import io.netty.util.TimerTask;
import org.kerrighed.rpc.RpcTimeoutException;

import java.util.concurrent.TimeUnit;

/**
 * A request waiting for its reply: the future, its service's counters, when it left, its deadline timer.
 * It is its own deadline task (one object per call instead of two): when the timer fires and the call is
 * still pending, it fails with {@link RpcTimeoutException}.
 */
final class PendingCall implements TimerTask {
    final long id;
    final RpcFuture<Object> future;
    final Counters service;
    final long startNanos;
    private final Peer peer;
    private final Object what;
    private final long timeoutNanos;
    volatile Timeout timeout;

    PendingCall(long id, RpcFuture<Object> future, Counters service, long startNanos, Peer peer, Object what,
                long timeoutNanos) {
        this.id = id;
        this.future = future;
        this.service = service;
        this.startNanos = startNanos;
        this.peer = peer;
        this.what = what;
        this.timeoutNanos = timeoutNanos;
    }

    void cancelTimer() {
        Timeout t = timeout;
        if (t != null) {
            t.cancel();
        }
    }

    /** The deadline passed: fails the call unless its reply (or a link failure) removed it first. */
    @Override
    public void run(Timeout t) {
        if (peer.calls.remove(id, this)) {
            service.errors.increment();
            peer.counters.errors.increment();
            future.completeExceptionally(new RpcTimeoutException("call " + what + " to " + peer.describe()
                    + " got no reply within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"));
        }
    }
}
