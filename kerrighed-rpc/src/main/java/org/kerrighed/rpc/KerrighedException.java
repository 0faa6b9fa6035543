package org.kerrighed.rpc;

/**
 * Root of every exception Kerrighed throws. Unchecked; the subclasses name the failures a caller can act
 * on ({@link LinkClosedException}, {@link RpcTimeoutException}, {@link RemoteException}, ...).
 */
public class KerrighedException extends RuntimeException {
    public KerrighedException(String message) {
        super(message);
    }

    public KerrighedException(String message, Throwable cause) {
        super(message, cause);
    }
}
