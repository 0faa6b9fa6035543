package org.kerrighed.epm;

import org.kerrighed.kddm.access.PermissionDeniedException;

/** An action needs a capability the process does not have effective (Unix {@code EPERM}). */
public class CapabilityException extends PermissionDeniedException {
    public CapabilityException(String message) {
        super(message);
    }
}
