package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;

/**
 * A {@code long} shared by the nodes, with the methods of {@link java.util.concurrent.atomic.AtomicLong}. Every
 * update is atomic cluster-wide (the value's KDDM object is grabbed: it moves to the updating node, other copies
 * are invalidated); reads take a read copy that stays cached until the next update, so a value read often and
 * changed rarely is read locally. The value is replicated: it survives a node's death.
 *
 * <p>Differences from the JDK class: the update functions ({@code updateAndGet}...) run exactly once, with the
 * value pinned on this node (keep them short and free of side effects); {@code lazySet}, {@code setPlain},
 * {@code setRelease} and their read counterparts are not offered (every access here is sequentially consistent).
 * Blocking: each method may wait for a KDDM round trip, bounded by the node's call timeout. Thread-safe.
 */
public final class ClusterAtomicLong extends Number {
    private final transient Ipc ipc;
    private final String name;
    private final long id;
    private final transient KddmSet<SyncState.AtomicLong> set;

    ClusterAtomicLong(Ipc ipc, String name, long initial, int mode) {
        this.ipc = ipc;
        this.name = name;
        this.id = Names.id(name);
        this.set = ipc.syncSets().set(SyncSets.ATOMIC_LONGS, SyncState.AtomicLong.class);
        IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
        SyncSets.ensure(set, id, name, "atomic long", () -> new SyncState.AtomicLong(name, perm, initial));
    }

    public String name() {
        return name;
    }

    public long get() {
        SyncState.AtomicLong s = SyncSets.read(set, id, ipc.callers(), what());
        return s.value();
    }

    public void set(long newValue) {
        update(v -> newValue);
    }

    public long getAndSet(long newValue) {
        return update(v -> newValue)[0];
    }

    public boolean compareAndSet(long expected, long newValue) {
        long[] r = update(v -> v == expected ? newValue : v);
        return r[0] == expected;
    }

    public long getAndIncrement() {
        return getAndAdd(1);
    }

    public long getAndDecrement() {
        return getAndAdd(-1);
    }

    public long getAndAdd(long delta) {
        return update(v -> v + delta)[0];
    }

    public long incrementAndGet() {
        return addAndGet(1);
    }

    public long decrementAndGet() {
        return addAndGet(-1);
    }

    public long addAndGet(long delta) {
        return update(v -> v + delta)[1];
    }

    public long getAndUpdate(LongUnaryOperator f) {
        return update(f)[0];
    }

    public long updateAndGet(LongUnaryOperator f) {
        return update(f)[1];
    }

    public long getAndAccumulate(long x, LongBinaryOperator f) {
        return update(v -> f.applyAsLong(v, x))[0];
    }

    public long accumulateAndGet(long x, LongBinaryOperator f) {
        return update(v -> f.applyAsLong(v, x))[1];
    }

    /** Applies {@code f} atomically; returns {before, after}. An unchanged value sends no backup. */
    private long[] update(LongUnaryOperator f) {
        long[] r = new long[2];
        set.update(id, s -> {
            SyncState.AtomicLong cur = SyncSets.checked(s, ipc.callers(), Access.WRITE, what());
            r[0] = cur.value();
            r[1] = f.applyAsLong(r[0]);
            return r[1] == r[0] ? cur : cur.with(r[1]);
        });
        return r;
    }

    private String what() {
        return "atomic long '" + name + "'";
    }

    @Override
    public int intValue() {
        return (int) get();
    }

    @Override
    public long longValue() {
        return get();
    }

    @Override
    public float floatValue() {
        return (float) get();
    }

    @Override
    public double doubleValue() {
        return (double) get();
    }

    @Override
    public String toString() {
        return Long.toString(get());
    }
}
