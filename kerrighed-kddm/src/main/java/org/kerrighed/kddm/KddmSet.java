package org.kerrighed.kddm;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * A cluster-wide table of objects keyed by long id, kept coherent by KDDM's write-invalidate protocol: at any
 * time an object has one writer or many readers; ownership moves to the writer; the view is sequentially
 * consistent (every node sees the writes to an object in one order, and a node never reads a value older than
 * one it read before).
 *
 * <p><b>Blocking.</b> {@code get}, {@code grab}, {@code remove}, {@code flush} and {@code sync} block the
 * calling thread (fine on virtual threads) until done, bounded by the node's call timeout: they then throw
 * {@link KddmException}. The {@code Async} variants return at once. {@code find} never sends a message.
 *
 * <p><b>Thread safety.</b> All methods are thread-safe. Handles are not (see {@link Handle}).
 *
 * <p><b>Failure.</b> A fenced or closed node throws {@link KddmException} from every method. With a
 * replication factor of 2 or more, a node's death loses no acknowledged write; with 1, objects whose only
 * copy died throw {@link ObjectLostException}. A request that a node's departure may have lost (outstanding when
 * the view without that node came, or sent while this node was reconciling that view) is sent again as soon as the
 * view is reconciled here: it ends with the object, recovered on a new owner, or with {@link ObjectLostException},
 * without waiting out the call timeout.
 *
 * @param <T> the type of the objects
 */
public interface KddmSet<T> {
    /** The set's id (static ids are below 2^32; dynamic ones carry their manager node). */
    long id();

    SetSpec spec();

    /** A readable copy, first-touching the object if it exists nowhere. */
    Handle<T> get(long id);

    /** The exclusive writable copy (every other copy is invalidated first), first-touching it if needed. */
    Handle<T> grab(long id);

    /**
     * Read copies of objects with consecutive ids in one call, for readers that scan many (bulk copies of shared
     * memory pages): object {@code first} as {@link #get} takes it (a local hit, or fetched from its owner), then
     * the objects after it, up to {@code max} in all, for as long as this node can read them without waiting: it
     * holds a readable copy and no local caller or other node waits for it. It stops at the first one that would
     * need a message or a wait; the caller takes that one with the next call. Only the first object can block (as
     * {@code get} does), and then the call holds no other pin: a run never waits while it keeps other nodes out.
     * Costs, per object after the first, one map lookup and the entry's lock twice (to pin, to release), and no
     * allocation.
     *
     * @param max the most objects to pin, at least 1 ({@code first + max - 1} must not overflow)
     * @throws IllegalArgumentException on a bad {@code max}
     */
    RunHandle<T> getRun(long first, int max);

    /** A readable copy if the object exists somewhere; no first touch. */
    Optional<Handle<T>> getIfExists(long id);

    /** The writable copy if the object exists somewhere; no first touch. */
    Optional<Handle<T>> grabIfExists(long id);

    /** Like {@link #get}, but empty instead of waiting for a pin held here or at the owner. */
    Optional<Handle<T>> tryGet(long id);

    /** Like {@link #grab}, but empty instead of waiting for a pin held here or at the owner. */
    Optional<Handle<T>> tryGrab(long id);

    /**
     * Like {@link #get}, but waits at most {@code timeout} (no bound with {@code Long.MAX_VALUE} nanoseconds or
     * more) instead of the node's call timeout, and answers an interrupt with {@link InterruptedException}. Made
     * for callers that sleep on an object held elsewhere for as long as its holder keeps it (cluster locks).
     *
     * @return the handle, or empty when the timeout elapsed first
     */
    Optional<Handle<T>> get(long id, long timeout, TimeUnit unit) throws InterruptedException;

    /** Like {@link #grab}, with {@link #get(long, long, TimeUnit)}'s timeout and interrupt rules. */
    Optional<Handle<T>> grab(long id, long timeout, TimeUnit unit) throws InterruptedException;

    /**
     * Grabs the object, replaces its value by {@code change}'s result and releases it: published (and replicated)
     * when the result is another instance, released without a new version or any message when it is the same
     * one. {@code change} runs with the object pinned: keep it short, and it must not block; when it throws, the
     * object is released unchanged and the exception propagates. Bounded by the node's call timeout like
     * {@link #grab}, but not cut short by an interrupt: one that comes meanwhile is kept (the interrupt status is
     * set on return), so an update is done whole or not at all.
     *
     * @return the value after the change
     * @throws KddmException when the object could not be had in time, or this node stopped
     */
    T update(long id, UnaryOperator<T> change);

    CompletableFuture<Handle<T>> getAsync(long id);

    CompletableFuture<Handle<T>> grabAsync(long id);

    /** The local copy if this node holds a readable one; never sends a message. */
    Optional<Handle<T>> find(long id);

    /** Removes the object everywhere (its linker's {@code remove} runs on every node). Absent objects: no-op. */
    void remove(long id);

    /**
     * Drops the local copy but keeps the object in the cluster: a read copy is dropped, an owner hands
     * ownership to a reader or, holding the sole copy, pushes it to another node. Returns false when this node
     * is the only member (nowhere to push). Waits for local pins to be released.
     */
    boolean flush(long id);

    /**
     * Writes the object through its linker ({@link IoLinker#sync}), from a readable copy taken for the purpose.
     * An object that exists nowhere is left absent.
     */
    void sync(long id);

    /** Calls {@code action} for every object with local data (a snapshot; values must not be mutated). */
    void forEachLocal(BiConsumer<Long, T> action);

    /** The state of {@code id} on this node (for tools and tests). */
    ObjState stateOf(long id);

    SetStats stats();
}
