package org.kerrighed.rpc;

/**
 * Told when links to other nodes come up and go down (membership uses it to suspect failed nodes within
 * milliseconds of a closed connection). Called on I/O threads: must not block.
 */
public interface LinkListener {
    /** An authenticated link with {@code nodeId}, incarnation {@code incarnation}, is up. */
    default void linkUp(int nodeId, long incarnation) {
    }

    /** The link with {@code nodeId} closed; pending work on it has already failed. */
    default void linkDown(int nodeId, String reason) {
    }
}
