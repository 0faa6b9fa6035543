package org.kerrighed.kddm;

/**
 * How a set's objects are made, copied and stored: the plug-in between KDDM's coherence protocol and real
 * objects (Kerrighed's IO linker). One instance per set per node.
 *
 * <p>Threads: {@link #firstTouch}, {@link #importObject} and {@link #export} may run on an RPC I/O thread and
 * must not block for long; the others run on the thread that caused them. Objects of a set are only touched
 * by KDDM while it holds their entry, so a linker needs no locking of its own for a given id.
 *
 * @param <T> the objects' type
 */
public interface IoLinker<T> {
    /** The type objects of this set have; {@code grab}'s {@code set} and imports are checked against it. */
    Class<?> type();

    /**
     * Creates the object the first time it is touched anywhere in the cluster (or loads it from storage).
     * Returning {@code null} makes the object exist with a null value.
     */
    T firstTouch(long id);

    /**
     * The wire form of {@code object}, encoded with the cluster's type registry when the message is sent (on
     * the calling thread, so later changes to {@code object} do not leak into the copy). Returning the object
     * itself ships it with Kryo; a {@code byte[]} ships raw bytes.
     */
    Object export(long id, T object);

    /** Rebuilds an object from its wire form. */
    T importObject(long id, Object wire);

    /**
     * {@code object} is no longer the local copy: invalidated by a writer, flushed, taken away, replaced by a
     * newer copy or by {@link Handle#set}, or made by {@link #firstTouch} only to be shipped to another node.
     * Called only when no handle can read it any more (an object dropped while pinned is reported when its
     * entry's last pin is released), so the linker may reuse its storage. Runs under the object's entry lock,
     * possibly on an RPC I/O thread: it must not block.
     */
    default void invalidate(long id, T object) {
    }

    /** The object is removed cluster-wide; called on every node ({@code object} is null where no copy was held). */
    default void remove(long id, T object) {
    }

    /** Writes the object through to its storage ({@code KddmSet.sync}). */
    default void sync(long id, T object) {
    }

    /** The local copy's access changed (for instance write to read when another node reads). */
    default void changeState(long id, T object, ObjState from, ObjState to) {
    }

    /** The home of {@code id} for {@link DefaultOwner.Kind#CUSTOM}; {@code live} is sorted. */
    default int defaultOwner(long id, int[] live) {
        return -1;
    }
}
