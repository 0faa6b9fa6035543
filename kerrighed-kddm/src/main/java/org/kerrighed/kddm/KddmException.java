package org.kerrighed.kddm;

import org.kerrighed.rpc.KerrighedException;

/** A KDDM operation failed (the node is fenced or closed, a deadline passed, a set is unknown, ...). */
public class KddmException extends KerrighedException {
    public KddmException(String message) {
        super(message);
    }

    public KddmException(String message, Throwable cause) {
        super(message, cause);
    }
}
