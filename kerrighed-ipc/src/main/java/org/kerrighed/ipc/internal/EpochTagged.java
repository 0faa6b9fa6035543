package org.kerrighed.ipc.internal;

/**
 * A {@code long} that carries a view epoch above a 40-bit value: the epoch in bits 40-62, the value in bits 0-39.
 * Sleeper ids carry the epoch their node had installed, SysV undo holders their node's incarnation, so that what a
 * node's earlier incarnation left in shared state is told from what its current one made under the same node id.
 * Epoch 0 means unknown (made before the node's first view, or past 2^23 views): judged by membership alone.
 */
final class EpochTagged {
    private static final int VALUE_BITS = 40;
    private static final long VALUE_MASK = (1L << VALUE_BITS) - 1;
    private static final long MAX_EPOCH = (1L << (63 - VALUE_BITS)) - 1;

    private EpochTagged() {
    }

    /** {@code value}'s low 40 bits tagged with {@code epoch} (0 when it does not fit). */
    static long of(long epoch, long value) {
        return (epoch > 0 && epoch <= MAX_EPOCH ? epoch : 0) << VALUE_BITS | value & VALUE_MASK;
    }

    /** The epoch of {@code tagged}; 0: unknown. */
    static long epoch(long tagged) {
        return tagged >>> VALUE_BITS;
    }

    /** The value of {@code tagged}, without its epoch. */
    static long value(long tagged) {
        return tagged & VALUE_MASK;
    }
}
