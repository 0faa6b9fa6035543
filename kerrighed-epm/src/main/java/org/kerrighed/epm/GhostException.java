package org.kerrighed.epm;

import org.kerrighed.rpc.KerrighedException;

/**
 * A ghost (a process image, in a migration or a checkpoint file) that this node refuses: not a ghost, written by
 * an incompatible format version or by a cluster with other registered types, truncated, or corrupted (its
 * checksum does not match). Nothing is started from it.
 */
public class GhostException extends KerrighedException {
    public GhostException(String message) {
        super(message);
    }

    public GhostException(String message, Throwable cause) {
        super(message, cause);
    }
}
