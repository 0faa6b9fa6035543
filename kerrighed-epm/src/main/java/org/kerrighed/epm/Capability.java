package org.kerrighed.epm;

import java.util.Locale;

/**
 * What a process may do beyond running where it was started: Kerrighed's capabilities. A process may use one
 * when it is in its effective set ({@link Capabilities}).
 */
public enum Capability {
    /** Change capabilities: its own, and those of processes its credentials allow. */
    CHANGE_KERRIGHED_CAP,
    /** Be migrated to another node (by a user, the load balancer or a node leaving). */
    CAN_MIGRATE,
    /** Start children on other nodes (distant fork). */
    DISTANT_FORK,
    /** Be checkpointed with its application. */
    CHECKPOINTABLE,
    /** Attach cluster shared-memory segments, whose pages live on any node. */
    USE_REMOTE_MEMORY,
    /** See this node's own load and memory figures instead of the cluster's aggregates. */
    SEE_LOCAL_PROC_STAT;

    int bit() {
        return 1 << ordinal();
    }

    /** The capability named {@code s} (case-insensitive, with or without a {@code CAP_} prefix). */
    public static Capability parse(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.startsWith("CAP_")) {
            t = t.substring(4);
        }
        for (Capability c : values()) {
            if (c.name().equals(t)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown capability '" + s + "' (known: CHANGE_KERRIGHED_CAP CAN_MIGRATE"
                + " DISTANT_FORK CHECKPOINTABLE USE_REMOTE_MEMORY SEE_LOCAL_PROC_STAT)");
    }
}
