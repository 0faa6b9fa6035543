package org.kerrighed.epm;

import org.kerrighed.rpc.KerrighedException;

/**
 * A migration that did not happen: the process is not migratable (no {@code CAN_MIGRATE}, stopped, state that
 * cannot travel), did not reach a safe point in time, or the target refused or failed. The process goes on where
 * it was, unchanged.
 */
public class MigrationException extends KerrighedException {
    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
