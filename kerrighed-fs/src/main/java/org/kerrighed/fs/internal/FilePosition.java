package org.kerrighed.fs.internal;

import java.io.IOException;
import java.util.function.LongConsumer;

/**
 * The position of a channel, which may be shared: by the channels of one handle passed between nodes, or carried
 * by a migrating process, as Kerrighed's DVFS shared file positions. Thread-safe.
 */
public interface FilePosition {
    /** The current position. */
    default long get() throws IOException {
        return locked((p, moveTo) -> p);
    }

    /** Moves the position to {@code position} (not negative). */
    default void set(long position) throws IOException {
        locked((p, moveTo) -> {
            moveTo.accept(position);
            return null;
        });
    }

    /**
     * Runs {@code op} with the position held: from the moment {@code op} is given the current position until it
     * returns, no other {@link #get}, {@link #set} or {@code locked} on this position (on any node) sees or moves it.
     * A read or write at the position is one such step: read it, transfer, store the new one.
     *
     * @return what {@code op} returns
     */
    <T> T locked(PositionOp<T> op) throws IOException;

    /** An operation at the position. */
    @FunctionalInterface
    interface PositionOp<T> {
        /**
         * Does the operation at {@code position}; calls {@code moveTo} with the new position if it moves it (the
         * last call wins, stored when {@code apply} returns normally).
         */
        T apply(long position, LongConsumer moveTo) throws IOException;
    }
}
