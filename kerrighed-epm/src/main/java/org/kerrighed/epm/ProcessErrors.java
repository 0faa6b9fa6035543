package org.kerrighed.epm;

import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;

/**
 * Turns the failure of a call to another node's process layer (or to a node's tool services) back into the
 * exception its handler threw: {@link NoSuchProcessException}, {@link CapabilityException},
 * {@link CapabilityInUseException}, {@link PermissionDeniedException}, {@link MigrationException},
 * {@link GhostException}, {@link IllegalArgumentException}; other
 * remote errors stay {@link RemoteException}s.
 */
public final class ProcessErrors {
    private ProcessErrors() {
    }

    /**
     * The exception to throw for {@code t}, the cause of a failed call made to {@code what} (for the message of a
     * failure that is not an exception).
     */
    public static RuntimeException fromRemote(Throwable t, String what) {
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
            if (type.equals(MigrationException.class.getName())) {
                return new MigrationException(m);
            }
            if (type.equals(GhostException.class.getName())) {
                return new GhostException(m);
            }
            if (type.equals(IllegalArgumentException.class.getName())) {
                return new IllegalArgumentException(m);
            }
            return re;
        }
        if (t instanceof RuntimeException r) {
            return r;
        }
        return new KerrighedException("failed to " + what + ": " + t, t);
    }
}
