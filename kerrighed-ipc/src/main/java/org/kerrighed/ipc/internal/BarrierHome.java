package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.BarrierService.Reply;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;

import static org.kerrighed.ipc.internal.BarrierService.BROKEN;
import static org.kerrighed.ipc.internal.BarrierService.ENDED;
import static org.kerrighed.ipc.internal.BarrierService.LAST;
import static org.kerrighed.ipc.internal.BarrierService.OK;
import static org.kerrighed.ipc.internal.BarrierService.TRIPPED;
import static org.kerrighed.ipc.internal.BarrierService.WAIT;
import static org.kerrighed.ipc.internal.BarrierService.YOU_BROKE;

/**
 * One barrier's rounds at its coordinator node, in memory: the parties waiting in the current round (in arrival
 * order: the first one's index is {@code parties - 1}), the last party while it runs its action, the arrivals that
 * came meanwhile (the next round's), the nodes whose parties passed the previous round, and whether it is broken.
 * Parties are named by their {@link WaiterRef} (one per {@code await}), and learn how their round ended from a
 * wake-up: {@link BarrierService#TRIPPED} with their index, {@link BarrierService#BROKEN}, or
 * {@link BarrierService#LAST} (run the action) for an arrival that waited for the action of the round before.
 *
 * <p>Every method is short and never blocks (they run on I/O threads). Wake-ups are sent under the monitor, so a
 * party's wake-up leaves this node before any later reply to that party's node: a party told {@link
 * BarrierService#ENDED} has already been told its outcome. Thread-safe.
 */
final class BarrierHome {
    private record Arrival(WaiterRef party, boolean action) {
    }

    private final int parties;
    private final Sleepers sleepers;
    private final IntPredicate live;
    private final List<WaiterRef> waiters = new ArrayList<>();
    private final ArrayDeque<Arrival> early = new ArrayDeque<>();
    private WaiterRef tripper;
    private boolean breakNext;
    private boolean broken;
    private Set<Integer> lastRound = Set.of();

    /**
     * @param broken true for a barrier taken over from a dead coordinator (its round was lost)
     * @param live   whether a node is alive (a member, or this node)
     */
    BarrierHome(int parties, boolean broken, Sleepers sleepers, IntPredicate live) {
        this.parties = parties;
        this.broken = broken;
        this.sleepers = sleepers;
        this.live = live;
    }

    /** Party {@code party} arrives; {@code action}: its node has a barrier action to run if it is the last. */
    synchronized Reply arrive(WaiterRef party, boolean action) {
        if (tripper != null) {
            early.add(new Arrival(party, action));
            return BarrierService.reply(WAIT);
        }
        return admit(party, action);
    }

    /** An arrival in a round whose last party is not running its action. */
    private Reply admit(WaiterRef party, boolean action) {
        if (broken) {
            return BarrierService.reply(BROKEN);
        }
        if (deadParty() || !live.test(party.node())) {
            breakRound(null);
            return BarrierService.reply(BROKEN);
        }
        if (waiters.size() < parties - 1) {
            waiters.add(party);
            return BarrierService.reply(WAIT);
        }
        if (action) {
            tripper = party;
            return BarrierService.reply(LAST);
        }
        trip(party);
        return new Reply(TRIPPED, 0);
    }

    /** The last party {@code party} ran its action ({@code ok}) or the action threw: the round trips or breaks. */
    synchronized Reply actionDone(WaiterRef party, boolean ok) {
        if (!party.equals(tripper)) {
            return BarrierService.reply(BROKEN);            // reset, or broken by a death, while the action ran
        }
        Reply r;
        if (ok) {
            trip(party);
            r = new Reply(TRIPPED, 0);
        } else {
            breakRound(null);
            r = BarrierService.reply(BROKEN);
        }
        admitEarly();
        return r;
    }

    /**
     * Waiting party {@code party} timed out or was interrupted: it breaks its round ({@link BarrierService#YOU_BROKE}),
     * unless the round ended ({@link BarrierService#ENDED}: its wake-up was sent) or its last party runs the action
     * ({@link BarrierService#WAIT}: the round will trip, as the JDK's would).
     */
    synchronized Reply giveUp(WaiterRef party) {
        if (early.removeIf(a -> a.party().equals(party))) {
            breakNext = true;
            return BarrierService.reply(YOU_BROKE);
        }
        if (!waiters.contains(party)) {
            return BarrierService.reply(ENDED);
        }
        if (tripper != null) {
            return BarrierService.reply(WAIT);
        }
        breakRound(party);
        return BarrierService.reply(YOU_BROKE);
    }

    /** A thread interrupted before it arrived breaks the barrier, unless it is broken already. */
    synchronized Reply interrupt() {
        if (broken) {
            return BarrierService.reply(BROKEN);
        }
        if (tripper != null) {
            breakNext = true;                               // the JDK's would break the round after this one
        } else {
            breakRound(null);
        }
        return BarrierService.reply(YOU_BROKE);
    }

    /** Breaks the current round (its parties get {@link BarrierService#BROKEN}) and starts afresh. */
    synchronized Reply reset() {
        breakRound(null);
        broken = false;
        breakNext = false;
        lastRound = Set.of();
        admitEarly();
        return BarrierService.reply(OK);
    }

    /** {@link BarrierService#BROKEN} or {@link BarrierService#OK}, with the number of waiting parties. */
    synchronized Reply status() {
        return new Reply(broken ? BROKEN : OK, waiters.size());
    }

    /** After a view change: a party of a node that is gone breaks the round. */
    synchronized void membersChanged() {
        if (!broken && deadParty()) {
            breakRound(null);
            admitEarly();
        }
    }

    /** Its node stops: the round breaks. */
    synchronized void close() {
        breakRound(null);
        admitEarly();
    }

    private boolean deadParty() {
        for (int n : lastRound) {
            if (!live.test(n)) {
                return true;
            }
        }
        for (WaiterRef w : waiters) {
            if (!live.test(w.node())) {
                return true;
            }
        }
        return tripper != null && !live.test(tripper.node());
    }

    /**
     * Releases the round's waiters, each with its index, in one wake-up message per node; {@code last} (index 0)
     * is told by the caller.
     */
    private void trip(WaiterRef last) {
        Map<Integer, List<Integer>> byNode = new HashMap<>();
        for (int i = 0; i < waiters.size(); i++) {
            byNode.computeIfAbsent(waiters.get(i).node(), n -> new ArrayList<>()).add(i);
        }
        byNode.forEach((node, positions) -> {
            long[] ids = new long[positions.size()];
            long[] indexes = new long[positions.size()];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = waiters.get(positions.get(k)).id();
                indexes[k] = parties - 1 - positions.get(k);
            }
            sleepers.wake(node, ids, TRIPPED, indexes);
        });
        Set<Integer> round = new HashSet<>(byNode.keySet());
        round.add(last.node());
        lastRound = Set.copyOf(round);
        waiters.clear();
        tripper = null;
    }

    /** Marks the barrier broken and tells the round's waiters, except {@code except} (who broke it). */
    private void breakRound(WaiterRef except) {
        broken = true;
        for (WaiterRef w : waiters) {
            if (!w.equals(except)) {
                sleepers.wake(w, BROKEN, 0);
            }
        }
        waiters.clear();
        tripper = null;                                     // its actionDone gets BROKEN
    }

    /** Once no action runs: a pending break, then the arrivals that waited, each told its outcome by a wake-up. */
    private void admitEarly() {
        if (breakNext) {
            breakNext = false;
            breakRound(null);
        }
        while (tripper == null && !early.isEmpty()) {
            Arrival a = early.poll();
            Reply r = admit(a.party(), a.action());
            if (r.status() != WAIT) {
                sleepers.wake(a.party(), r.status(), r.value());
            }
        }
    }
}
