package org.kerrighed.kddm;

/**
 * A pinned local copy of one object, from {@link KddmSet#get}, {@link KddmSet#grab} or {@link KddmSet#find}.
 * While it is open, no other node can take the object away (their requests wait and are replayed on
 * {@link #close}); under {@link SetFlag#LOCAL_EXCLUSIVE} local callers wait too. Use it in try-with-resources.
 *
 * <p><b>Read handles</b> ({@code get}, {@code find}) give an object that must not be mutated: other nodes may
 * hold copies that would silently diverge. KDDM enforces this for byte pages ({@code PageLinker.view} is
 * read-only) and cannot for arbitrary objects; prefer immutable values (records) and replace them with
 * {@link #set} on a write handle. <b>Write handles</b> ({@code grab}) give the only copy in the cluster: mutate
 * it in place or {@link #set} a new value; the write is published (and replicated) on {@code close()}.
 *
 * <p>Not thread-safe: one thread uses and closes a handle (other threads may use the object it returned).
 * Using a handle after close, or closing it twice, throws {@link IllegalStateException}.
 */
public interface Handle<T> extends AutoCloseable {
    /** The object's id. */
    long id();

    /** The object (null if its linker first-touched it as null). */
    T value();

    /** True for a handle from {@code grab}. */
    boolean writable();

    /**
     * Replaces the object (write handles only).
     *
     * @throws IllegalStateException on a read handle or after close
     * @throws ClassCastException when {@code value} is not of the set's type
     */
    void set(T value);

    /**
     * True for the first write handle taken after the object was recovered from a copy because the node that
     * owned it died: that node's work may have been cut short (a holder of a lock that is this object died
     * holding it, say). Exactly one write handle in the cluster is told per recovery; read handles never are.
     * The owner may also have died while it merely kept the object cached, unpinned: KDDM cannot tell these apart
     * without a message per pin.
     */
    boolean ownerDied();

    /**
     * True when another node's request waits for this pin to be released (a write handle delays every other
     * node's request; a read handle delays writers). Never sends a message.
     */
    boolean contended();

    /**
     * Publishes a write handle's object now and keeps the handle: makes a new version and, for a replicated set,
     * returns once it is on {@code replication} live nodes, as {@link #close} would. Other nodes' requests still
     * wait for the pin. For a holder that must record something durably before it goes on (a cluster lock, when
     * it is made).
     *
     * @throws IllegalStateException on a read handle or after close
     * @throws KddmException         when this node stopped before the value reached its backups
     */
    void publish();

    /**
     * Releases a write handle whose object was not changed: no new version is made and nothing is copied to
     * backups, so the release sends no message. Changing the object and then closing it this way loses the change
     * if this node dies before the object is written again. On a read handle, the same as {@link #close}.
     *
     * @throws IllegalStateException when already closed
     */
    void closeUnchanged();

    /**
     * Releases the pin: {@link #close} when {@code changed}, else {@link #closeUnchanged}. For code that decides
     * along the way whether it changed the object (in place or with {@link #set}).
     */
    default void release(boolean changed) {
        if (changed) {
            close();
        } else {
            closeUnchanged();
        }
    }

    /**
     * Releases the pin. For a write handle of a replicated set, returns once the new value is on
     * {@code replication} live nodes (or every live node when fewer remain; a warning is logged).
     *
     * @throws IllegalStateException when already closed
     * Waiting for the backups is not interruptible (bounded by the call timeout): an interrupt meanwhile is kept
     * (the interrupt status is set on return).
     *
     * @throws KddmException when this node stopped (fenced, closed) before a write reached its backups: the write
     *                       is not acknowledged (the pin is released anyway)
     */
    @Override
    void close();
}
