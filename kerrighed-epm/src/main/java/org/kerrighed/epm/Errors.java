package org.kerrighed.epm;

import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;

/** Turns the failure of a call to another node's process layer back into the exception its handler threw. */
final class Errors {
    private Errors() {
    }

    static RuntimeException local(Throwable t, String what) {
        if (t instanceof RemoteException re) {
            String prefix = "node " + re.peer() + ": " + re.remoteType() + ": ";
            String m = re.getMessage().startsWith(prefix) ? re.getMessage().substring(prefix.length()) : re.getMessage();
            String type = re.remoteType();
            if (type.equals(NoSuchProcessException.class.getName())) {
                return new NoSuchProcessException(m);
            }
            if (type.equals(CapabilityException.class.getName())) {
                return new CapabilityException(m);
            }
            if (type.equals(CapabilityInUseException.class.getName())) {
                return new CapabilityInUseException(m);
            }
            if (type.equals(PermissionDeniedException.class.getName())) {
                return new PermissionDeniedException(m);
            }
            if (type.equals(IllegalArgumentException.class.getName())) {
                return new IllegalArgumentException(m);
            }
            return re;
        }
        if (t instanceof KerrighedException ke) {
            return ke;
        }
        return new KerrighedException("failed to " + what + ": " + t, t);
    }
}
