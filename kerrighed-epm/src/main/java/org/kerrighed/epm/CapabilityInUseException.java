package org.kerrighed.epm;

import org.kerrighed.rpc.KerrighedException;

/** A change would drop an effective capability that an action of the process is using (Kerrighed's {@code EBUSY}). */
public class CapabilityInUseException extends KerrighedException {
    public CapabilityInUseException(String message) {
        super(message);
    }
}
