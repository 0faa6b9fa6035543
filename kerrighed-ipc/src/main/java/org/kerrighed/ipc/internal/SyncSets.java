package org.kerrighed.ipc.internal;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.KddmException;
import java.util.concurrent.TimeUnit;
import org.kerrighed.kddm.linkers.ObjectLinker;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

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
        return update(set, id, s -> {
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

    /**
     * Grabs object {@code id}, replaces its state by {@code change}'s result and releases it: published (and
     * replicated) when the result is a new state, released without a message when it is the same instance.
     * {@code change} runs with the object pinned: keep it short, and it must not block. An interrupt that comes
     * meanwhile does not cut the update short: it is kept (the thread's interrupt status is set on return) for the
     * caller's next wait to report, so an update is done whole or not at all.
     *
     * @return the state after the change
     * @throws KddmException when the object could not be had within the node's call timeout, or the node stopped
     */
    public static <S> S update(KddmSet<S> set, long id, UnaryOperator<S> change) {
        boolean interrupted = Thread.interrupted();
        Handle<S> h = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (h == null) {
            try {
                h = set.grab(id, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                        .orElseThrow(() -> new KddmException("object " + id + " of set " + set.id()
                                + " could not be had within 30 s"));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        boolean changed = false;
        try {
            S before = h.value();
            S after = change.apply(before);
            if (after != before) {
                h.set(after);
                changed = true;
            }
            return after;
        } finally {
            try {
                if (changed) {
                    h.close();
                } else {
                    h.closeUnchanged();
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
