package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.Objects;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

/**
 * A reference shared by the nodes, with the methods of {@link java.util.concurrent.atomic.AtomicReference}.
 * Values are copied between nodes (their type must be registered in the cluster's type registry), so
 * {@link #compareAndSet} compares with {@link Object#equals} where the JDK compares identities: use immutable
 * values with a value-based {@code equals} (records). Reads take a cached read copy; updates are atomic
 * cluster-wide and replicated. Update functions run exactly once, with the value pinned on this node. Values
 * returned are copies: changing one changes nothing in the cluster. Thread-safe; each method may wait for a
 * KDDM round trip, bounded by the node's call timeout.
 *
 * @param <V> the type of the value
 */
public final class ClusterAtomicReference<V> {
    private final Ipc ipc;
    private final String name;
    private final long id;
    private final Class<V> type;
    private final KddmSet<SyncState.AtomicRef> set;

    ClusterAtomicReference(Ipc ipc, String name, Class<V> type, V initial, int mode) {
        this.ipc = ipc;
        this.name = name;
        this.type = Objects.requireNonNull(type, "type");
        this.id = Names.id(name);
        this.set = ipc.syncSets().set(SyncSets.ATOMIC_REFS, SyncState.AtomicRef.class);
        if (initial != null) {
            type.cast(initial);
        }
        IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
        SyncSets.ensure(set, id, name, "atomic reference", () -> new SyncState.AtomicRef(name, perm, initial));
    }

    /** The type of its values. */
    public Class<V> type() {
        return type;
    }

    public String name() {
        return name;
    }

    public V get() {
        SyncState.AtomicRef s = SyncSets.read(set, id, ipc.callers(), what());
        return type.cast(s.value());
    }

    public void set(V newValue) {
        update(v -> newValue);
    }

    public V getAndSet(V newValue) {
        return update(v -> newValue).before;
    }

    /** Sets {@code newValue} if the current value {@code equals} {@code expected} (both may be null). */
    public boolean compareAndSet(V expected, V newValue) {
        boolean[] done = new boolean[1];
        update(v -> {
            done[0] = Objects.equals(v, expected);
            return done[0] ? newValue : v;
        });
        return done[0];
    }

    public V getAndUpdate(UnaryOperator<V> f) {
        return update(f).before;
    }

    public V updateAndGet(UnaryOperator<V> f) {
        return update(f).after;
    }

    public V getAndAccumulate(V x, BinaryOperator<V> f) {
        return update(v -> f.apply(v, x)).before;
    }

    public V accumulateAndGet(V x, BinaryOperator<V> f) {
        return update(v -> f.apply(v, x)).after;
    }

    private record Change<V>(V before, V after) {
    }

    private Change<V> update(UnaryOperator<V> f) {
        @SuppressWarnings("unchecked") Change<V>[] r = new Change[1];
        set.update(id, s -> {
            SyncState.AtomicRef cur = SyncSets.checked(s, ipc.callers(), Access.WRITE, what());
            V before = type.cast(cur.value());
            V after = f.apply(before);
            if (after != null) {
                type.cast(after);
            }
            r[0] = new Change<>(before, after);
            return after == before ? cur : cur.with(after);
        });
        return r[0];
    }

    private String what() {
        return "atomic reference '" + name + "'";
    }

    @Override
    public String toString() {
        return String.valueOf(get());
    }
}
