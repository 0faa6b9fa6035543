package org.kerrighed.rpc.internal;

import io.netty.util.Timeout;

/** A request waiting for its reply: the future, its service's counters, when it left, its deadline timer. */
final class PendingCall {
    final long id;
    final RpcFuture<Object> future;
    final Counters service;
    final long startNanos;
    volatile Timeout timeout;

    PendingCall(long id, RpcFuture<Object> future, Counters service, long startNanos) {
        this.id = id;
        this.future = future;
        this.service = service;
        this.startNanos = startNanos;
    }

    void cancelTimer() {
        Timeout t = timeout;
        if (t != null) {
            t.cancel();
        }
    }
}
