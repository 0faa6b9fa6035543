package org.kerrighed.epm;

import org.kerrighed.rpc.KerrighedException;

/** No live process has this pid (or none is in this process group): Unix {@code ESRCH}. */
public class NoSuchProcessException extends KerrighedException {
    public NoSuchProcessException(String message) {
        super(message);
    }
}
