package org.kerrighed.ipc.internal;

import org.kerrighed.kddm.Kddm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads of this node that sleep on a cluster object until another node (or this one) tells them to wake
 * up: nothing polls. A thread takes a {@link Sleeper}, puts its {@link Sleeper#ref()} in the object's waiter list
 * (inside KDDM), releases the object and {@linkplain Sleeper#await sleeps}; whoever changes the object in a way
 * that concerns it sends {@link #wake}. For objects kept in KDDM a wake-up is a hint: the object's state is the
 * truth, and a sleeper re-reads it after waking. A barrier's coordinator, which keeps its rounds in memory, tells
 * a party its outcome in the wake-up's code instead ({@link Sleeper#code()}). Every local sleeper is woken when a
 * node fails ({@link #wakeAll}), so a wake-up lost with a dead node cannot leave anyone asleep. Thread-safe.
 */
public final class Sleepers {
    private static final Logger log = LoggerFactory.getLogger(Sleepers.class);

    /** A wake-up message: {@code code} and {@code value} mean what the object's kind says (0 = just re-check). */
    public record Wake(long sleeper, int code, long value) {
    }

    /** Wake-ups of several sleepers of one node, with one code: sleeper {@code sleepers[i]} gets {@code values[i]}. */
    public record Wakes(long[] sleepers, int code, long[] values) {
    }

    public static final ServiceKey<Wake, Void> WAKE = ServiceKey.oneWay(130, "ipc.wake", Wake.class);
    public static final ServiceKey<Wakes, Void> WAKES = ServiceKey.oneWay(137, "ipc.wakes", Wakes.class);

    /** Code of a wake-up sent to every sleeper when a node failed: re-check the object. */
    public static final int RECHECK = 0;

    private final Kddm kddm;
    private final ConcurrentHashMap<Long, Sleeper> sleepers = new ConcurrentHashMap<>();
    private final AtomicLong count = new AtomicLong();
    // A sleeper's id: a count tagged with the view epoch its node had installed when it was made (EpochTagged): the
    // refs a node's earlier incarnation left in waiter lists are told from its current sleepers (isLive).

    public Sleepers(Kddm kddm) {
        this.kddm = kddm;
        kddm.rpc().register(WAKE, HandlerKind.NON_BLOCKING, (ctx, w) -> {
            deliver(w);
            return null;
        });
        kddm.rpc().register(WAKES, HandlerKind.NON_BLOCKING, (ctx, w) -> {
            deliver(w);
            return null;
        });
    }

    /** A new sleeper for the calling thread; close it when done (try-with-resources). */
    public Sleeper sleeper() {
        long id = EpochTagged.of(kddm.epoch(), count.incrementAndGet());
        Sleeper s = new Sleeper(id, Thread.currentThread());
        sleepers.put(s.id, s);
        return s;
    }

    /**
     * True when {@code ref} may name a sleeper that still exists: its node is a member, and the same incarnation as
     * when the sleeper was made ({@link Kddm#sameIncarnation}). A ref left in a waiter list by a node that died,
     * and that node's new incarnation once it is back, are not live: a signal, a grant or a wake-up given to it
     * would be lost.
     */
    public boolean isLive(WaiterRef ref) {
        long epoch = EpochTagged.epoch(ref.id());
        if (epoch == 0) {
            return ref.node() == kddm.nodeId() || kddm.isMember(ref.node());
        }
        return kddm.sameIncarnation(ref.node(), epoch);
    }

    /** Wakes {@code ref} (here or on its node) with {@code code}; a dead node's sleeper is silently skipped. */
    public void wake(WaiterRef ref, int code, long value) {
        Wake w = new Wake(ref.id(), code, value);
        if (ref.node() == kddm.nodeId()) {
            deliver(w);
        } else if (isLive(ref)) {
            try {
                kddm.rpc().send(ref.node(), WAKE, w);
            } catch (RuntimeException e) {
                log.debug("wake-up of sleeper {} on node {} not sent: {}", ref.id(), ref.node(), e.toString());
            }
        }
    }

    /**
     * Wakes sleepers {@code ids} of node {@code node} (here or there) with {@code code}, sleeper {@code ids[i]}
     * with {@code values[i]}: one message for all of them. A dead node's sleepers are silently skipped.
     */
    public void wake(int node, long[] ids, int code, long[] values) {
        Wakes w = new Wakes(ids, code, values);
        if (node == kddm.nodeId()) {
            deliver(w);
        } else if (kddm.isMember(node)) {
            try {
                kddm.rpc().send(node, WAKES, w);
            } catch (RuntimeException e) {
                log.debug("wake-up of {} sleeper(s) on node {} not sent: {}", ids.length, node, e.toString());
            }
        }
    }

    /** Wakes every local sleeper with {@link #RECHECK} (after a node failed). */
    public void wakeAll() {
        for (Sleeper s : sleepers.values()) {
            s.wake(RECHECK, 0);
        }
    }

    private void deliver(Wake w) {
        Sleeper s = sleepers.get(w.sleeper());
        if (s != null) {
            s.wake(w.code(), w.value());
        }
    }

    private void deliver(Wakes w) {
        for (int i = 0; i < w.sleepers().length; i++) {
            Sleeper s = sleepers.get(w.sleepers()[i]);
            if (s != null) {
                s.wake(w.code(), w.values()[i]);
            }
        }
    }

    /** One sleeping thread. Its owner thread calls {@link #await}; anyone may wake it. */
    public final class Sleeper implements AutoCloseable {
        private final long id;
        private final Thread thread;
        private volatile boolean woken;
        private volatile int code = -1;
        private volatile long value;

        private Sleeper(long id, Thread thread) {
            this.id = id;
            this.thread = thread;
        }

        /** How other nodes name this sleeper. */
        public WaiterRef ref() {
            return new WaiterRef(kddm.nodeId(), id);
        }

        private void wake(int c, long v) {
            if (c != RECHECK) {
                value = v;
                code = c;              // a re-check leaves the last real wake-up's code
            }
            woken = true;
            LockSupport.unpark(thread);
        }

        /**
         * Sleeps (parked: WAITING, or TIMED_WAITING with a deadline) until woken, the deadline passes or the
         * thread is interrupted. Clears the woken flag before returning true, so the sleeper can sleep again.
         *
         * @param deadline a {@link System#nanoTime()} deadline, or {@code Long.MAX_VALUE} for none
         * @return true when woken, false when the deadline passed
         * @throws InterruptedException when interrupted (the interrupt status is cleared)
         */
        public boolean await(long deadline) throws InterruptedException {
            while (!woken) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (deadline == Long.MAX_VALUE) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    LockSupport.parkNanos(this, left);
                }
            }
            woken = false;
            return true;
        }

        /** The code of the last real wake-up: -1 if none came yet (re-checks leave it as it is). */
        public int code() {
            return code;
        }

        /** The value of the last wake-up. */
        public long value() {
            return value;
        }

        @Override
        public void close() {
            sleepers.remove(id);
        }
    }
}
