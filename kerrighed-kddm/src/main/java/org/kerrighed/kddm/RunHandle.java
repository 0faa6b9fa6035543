package org.kerrighed.kddm;

/**
 * Read pins on a run of objects with consecutive ids, from {@link KddmSet#getRun}: objects {@link #first()} to
 * {@code first() + count() - 1}, each pinned as a read {@link Handle} pins it. While the run is open no other node
 * can take any of them for writing (their requests wait and are replayed on {@link #close}), so none is
 * invalidated under the reader. The values are read copies: they must not be mutated.
 *
 * <p>Not thread-safe: one thread uses and closes a run (other threads may use the objects it returned). Using a run
 * after close, or closing it twice, throws {@link IllegalStateException}.
 */
public interface RunHandle<T> extends AutoCloseable {
    /** The id of the run's first object. */
    long first();

    /** How many objects are pinned (at least 1): ids {@code first()} to {@code first() + count() - 1}. */
    int count();

    /**
     * The object {@code first() + i}, as it was when it was pinned.
     *
     * @throws IndexOutOfBoundsException unless {@code 0 <= i < count()}
     * @throws IllegalStateException     after close
     */
    T value(int i);

    /**
     * Releases every pin of the run.
     *
     * @throws IllegalStateException when already closed
     */
    @Override
    void close();
}
