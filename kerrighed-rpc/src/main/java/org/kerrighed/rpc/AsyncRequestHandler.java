package org.kerrighed.rpc;

import java.util.concurrent.CompletionStage;

/**
 * Serves a request whose reply is ready later (for example after a deferred protocol event). The reply
 * is sent when the returned stage completes; an exceptional completion is sent as an error.
 */
@FunctionalInterface
public interface AsyncRequestHandler<Q, R> {
    CompletionStage<R> handle(CallContext context, Q request);
}
