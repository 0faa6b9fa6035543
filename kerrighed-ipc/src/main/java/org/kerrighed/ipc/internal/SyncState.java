package org.kerrighed.ipc.internal;

import org.kerrighed.kddm.access.IpcPerm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The cluster-wide state of the java.util.concurrent-style primitives: immutable records kept as KDDM objects
 * (a change makes a new record). Waiter lists name sleepers by {@link WaiterRef}.
 */
public sealed interface SyncState {
    String name();

    IpcPerm perm();

    /**
     * A cluster lock: whether a holder died since it was last marked consistent, its condition queues, and the
     * process it is reserved for while that process moves between nodes ({@code reservedFor} 0: none). The
     * reservation, named by a random id, lasts {@code reserveMillis}, each node counting from when it first saw it
     * on its own clock ({@link ReservationClock}): no wall-clock time is compared across nodes.
     */
    record Lock(String name, IpcPerm perm, boolean inconsistent, Map<String, List<WaiterRef>> conditions,
                int reservedFor, long reservation, long reserveMillis) implements SyncState {
        public Lock withInconsistent(boolean now) {
            return new Lock(name, perm, now, conditions, reservedFor, reservation, reserveMillis);
        }

        public Lock withConditions(Map<String, List<WaiterRef>> c) {
            return new Lock(name, perm, inconsistent, Map.copyOf(c), reservedFor, reservation, reserveMillis);
        }

        /** Reserved for process {@code pid} (0: not reserved) as reservation {@code id}, for {@code millis}. */
        public Lock reservedFor(int pid, long id, long millis) {
            return new Lock(name, perm, inconsistent, conditions, pid, id, millis);
        }

        /** True when the lock is reserved for a process other than {@code pid} (whether it still holds aside). */
        public boolean reservedForOther(int pid) {
            return reservedFor != 0 && reservedFor != pid;
        }
    }

    /** A cluster read-write lock (its state is only its identity: the lock is the KDDM pin itself). */
    record RwLock(String name, IpcPerm perm) implements SyncState {
    }

    /** One waiter of a semaphore: who, and how many permits it wants. */
    record SemWaiter(WaiterRef ref, long permits) {
    }

    record Semaphore(String name, IpcPerm perm, boolean fair, long permits, List<SemWaiter> queue)
            implements SyncState {
        public Semaphore with(long newPermits, List<SemWaiter> newQueue) {
            return new Semaphore(name, perm, fair, newPermits, List.copyOf(newQueue));
        }
    }

    record Latch(String name, IpcPerm perm, long count, List<WaiterRef> waiters) implements SyncState {
        public Latch with(long newCount, List<WaiterRef> newWaiters) {
            return new Latch(name, perm, newCount, List.copyOf(newWaiters));
        }
    }

    /**
     * A cyclic barrier's identity: its parties and the node that coordinates its rounds (which keeps them in
     * memory, {@link BarrierService}); written when made and when a node takes over from a dead coordinator.
     */
    record Barrier(String name, IpcPerm perm, int parties, int coordinator) implements SyncState {
        public Barrier withCoordinator(int node) {
            return new Barrier(name, perm, parties, node);
        }
    }

    record AtomicLong(String name, IpcPerm perm, long value) implements SyncState {
        public AtomicLong with(long v) {
            return new AtomicLong(name, perm, v);
        }
    }

    record AtomicRef(String name, IpcPerm perm, Object value) implements SyncState {
        public AtomicRef with(Object v) {
            return new AtomicRef(name, perm, v);
        }
    }

    /** {@code list} without the elements matching {@code drop} (the same instance when none match). */
    static <E> List<E> without(List<E> list, Predicate<E> drop) {
        if (list.stream().noneMatch(drop)) {
            return list;
        }
        List<E> l = new ArrayList<>(list);
        l.removeIf(drop);
        return l;
    }

    /** {@code list} plus {@code e}. */
    static <E> List<E> plus(List<E> list, E e) {
        List<E> l = new ArrayList<>(list);
        l.add(e);
        return l;
    }
}
