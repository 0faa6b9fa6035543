package org.kerrighed.rpc;

/** A call's deadline passed before its reply arrived. The request may or may not have been processed. */
public class RpcTimeoutException extends KerrighedException {
    public RpcTimeoutException(String message) {
        super(message);
    }
}
