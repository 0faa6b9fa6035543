package org.kerrighed.ipc.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long this node has seen each lock reservation ({@link SyncState.Lock}): a reservation names a duration, not a
 * wall-clock deadline, and each node counts it from when it first saw it, on its own monotonic clock. Nodes whose
 * wall clocks disagree cannot then see a reservation lapse early (a caller taking a lock while the process it is
 * kept for moves) or hold it for the skew on top. A node that first looks late holds it longer (never shorter)
 * than the node that made it. An id is remembered until an hour after it lapsed (its lock is taken by then, as a
 * rule); one first asked about after that is counted afresh, once more. Thread-safe.
 */
public final class ReservationClock {
    private static final int PRUNE_ABOVE = 256;
    /** How long after it lapsed an id is remembered: asked about after that, it would be counted afresh. */
    private static final long FORGET_AFTER_NANOS = java.util.concurrent.TimeUnit.HOURS.toNanos(1);

    private final ConcurrentHashMap<Long, Long> lapses = new ConcurrentHashMap<>();   // id -> nanoTime it lapses

    /** A new reservation made here, lasting {@code millis} from now: its id (never 0). */
    public long start(long millis) {
        long id;
        do {
            id = ThreadLocalRandom.current().nextLong();
        } while (id == 0);
        if (millis > 0) {
            see(id, millis);                               // none: it never holds (a process that ended)
        }
        return id;
    }

    /** True while reservation {@code id} of {@code millis} holds, as this node counts it (from its first sight). */
    public boolean holds(long id, long millis) {
        return millis > 0 && System.nanoTime() - see(id, millis) < 0;
    }

    /** When reservation {@code id} lapses here (nanoTime), counted from the first time this node saw it. */
    private long see(long id, long millis) {
        long now = System.nanoTime();
        if (lapses.size() > PRUNE_ABOVE) {                // lapsed an hour ago: its lock was taken since, as a rule
            lapses.values().removeIf(at -> now - at > FORGET_AFTER_NANOS);
        }
        long nanos = Math.clamp(millis, 0, Long.MAX_VALUE / 4_000_000) * 1_000_000;   // 70 years at most
        return lapses.computeIfAbsent(id, k -> now + nanos);
    }
}
