package org.kerrighed.ipc.internal;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.linkers.ObjectLinker;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The KDDM static sets that hold the java.util.concurrent-style primitives (ids 1100-1106, replication
 * {@value SetSpec#SYSTEM_REPLICATION}), and the per-node state shared by every instance of one object on this node.
 */
public final class SyncSets {
    public static final long LOCKS = 1100;
    public static final long RW_LOCKS = 1101;
    public static final long SEMAPHORES = 1102;
    public static final long LATCHES = 1103;
    public static final long BARRIERS = 1104;
    public static final long ATOMIC_LONGS = 1105;
    public static final long ATOMIC_REFS = 1106;

    private final Kddm kddm;
    private final ConcurrentHashMap<String, Object> cores = new ConcurrentHashMap<>();

    public SyncSets(Kddm kddm) {
        this.kddm = kddm;
        create(LOCKS, SyncState.Lock.class);
        // not LOCAL_EXCLUSIVE: a read-write lock's node takes a read copy under its own write pin to downgrade;
        // its pins are serialized by the lock's per-node core instead
        kddm.createStaticSet(RW_LOCKS, kddm.objectSpec(SyncState.RwLock.class)
                .withReplication(SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(SyncState.RwLock.class));
        create(SEMAPHORES, SyncState.Semaphore.class);
        create(LATCHES, SyncState.Latch.class);
        create(BARRIERS, SyncState.Barrier.class);
        create(ATOMIC_LONGS, SyncState.AtomicLong.class);
        create(ATOMIC_REFS, SyncState.AtomicRef.class);
    }

    private <S> void create(long id, Class<S> type) {
        // LOCAL_EXCLUSIVE: a write handle excludes this node's other threads too, so an update is atomic
        kddm.createStaticSet(id, kddm.objectSpec(type).withReplication(SetSpec.SYSTEM_REPLICATION)
                .withFlags(SetFlag.LOCAL_EXCLUSIVE), new ObjectLinker<>(type));
    }

    public <S> KddmSet<S> set(long id, Class<S> type) {
        return kddm.set(id, type);
    }

    /** The per-node cores of kind {@code kind} made so far on this node. */
    public <C> java.util.List<C> cores(String kind, Class<C> type) {
        java.util.List<C> out = new java.util.ArrayList<>();
        cores.forEach((k, v) -> {
            if (k.startsWith(kind + "/") && type.isInstance(v)) {
                out.add(type.cast(v));
            }
        });
        return out;
    }

    /** The one per-node core of object {@code name} of kind {@code kind}, made by {@code make} on first use. */
    @SuppressWarnings("unchecked")
    public <C> C core(String kind, String name, Function<String, C> make) {
        return (C) cores.computeIfAbsent(kind + "/" + name, k -> make.apply(name));
    }

    /**
     * Makes object {@code id} exist with {@code initial}'s value if it does not yet (one grab), checks that it is
     * {@code name}'s (hash collisions) and returns its current state.
     */
    public static <S extends SyncState> S ensure(KddmSet<S> set, long id, String name, String kind, Supplier<S> initial) {
        return set.update(id, s -> {
            if (s == null) {
                return initial.get();
            }
            Names.checkSame(name, s.name(), kind);
            return s;
        });
    }

    /**
     * {@code s} checked for the current caller: present (else {@link IllegalStateException}: {@code what} was
     * removed) and allowing {@code access} (else {@link org.kerrighed.kddm.access.PermissionDeniedException}).
     */
    public static <S extends SyncState> S checked(S s, CallerContext callers, Access access, String what) {
        if (s == null) {
            throw new IllegalStateException(what + " was removed");
        }
        s.perm().check(callers.credentials(), access, what);
        return s;
    }

    /** Object {@code id}'s state from a read copy (cached here until the next change), checked for reading. */
    public static <S extends SyncState> S read(KddmSet<S> set, long id, CallerContext callers, String what) {
        return read(set, id, callers, Access.READ, what);
    }

    /** Object {@code id}'s state from a read copy (cached here until the next change), checked for {@code access}. */
    public static <S extends SyncState> S read(KddmSet<S> set, long id, CallerContext callers, Access access,
                                               String what) {
        try (Handle<S> h = set.get(id)) {
            return checked(h.value(), callers, access, what);
        }
    }
}
