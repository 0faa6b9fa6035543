package org.kerrighed.rpc;

/**
 * Serves a request and returns its reply. A thrown exception is sent to the caller as data (its class name
 * and message) and surfaces there as a {@link RemoteException}.
 */
@FunctionalInterface
public interface RequestHandler<Q, R> {
    R handle(CallContext context, Q request) throws Exception;
}
