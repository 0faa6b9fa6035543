package org.kerrighed.examples.sched;

import org.kerrighed.scheduler.Move;
import org.kerrighed.scheduler.NewProcess;
import org.kerrighed.scheduler.Policy;
import org.kerrighed.scheduler.PolicyContext;
import org.kerrighed.scheduler.ProcessSample;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Packs processes onto as few nodes as possible, so that the other nodes empty. It reads two ports, both linked
 * through a {@code remote_cache} filter so that it sees every node's value: {@code load}, how many processes a
 * node runs, and {@code capacity}, how many it takes (parameter {@code capacity} stands in for a node without a
 * value; a node with neither is left alone).
 * <ul>
 *   <li>A new process starts on the lowest node of the node set that has room. When none has, the policy has no
 *       opinion (the next scheduler, or round robin, places it).</li>
 *   <li>Each time this node's {@code load} is published: when the node runs more than its capacity, it moves the
 *       excess to the lowest nodes that have room; otherwise it moves its processes to nodes that have room and
 *       run more processes than it does (or as many, with a lower id), the fullest first.</li>
 * </ul>
 * A process sent to a node shows in that node's load only after it started there, the node's probe measured it
 * and this node polled it. Until then, for {@code settle} milliseconds after its last placement or move there
 * (default 3000), a node counts at least the load this node expects of it, so that a burst of spawns does not
 * overfill it.
 */
public final class PackPolicy implements Policy {
    private record Expected(long until, double load) {
    }

    private final Map<Integer, Expected> expected = new HashMap<>();

    @Override
    public Set<String> ports() {
        return Set.of("load", "capacity");
    }

    @Override
    public Set<String> triggers() {
        return Set.of("load");
    }

    @Override
    public int place(NewProcess process, PolicyContext ctx) {
        int to = lowestWithRoom(ctx);
        if (to != NO_CHOICE) {
            sent(ctx, to);
        }
        return to;
    }

    @Override
    public List<Move> decide(String port, PolicyContext ctx) {
        double local = ctx.value("load");
        double excess = local - capacity(ctx, ctx.node());
        List<ProcessSample> movable = new ArrayList<>(ctx.movable());
        movable.sort(Comparator.comparingInt(ProcessSample::pid));
        List<Move> moves = new ArrayList<>();
        for (ProcessSample p : movable) {
            int to = excess > 0 ? lowestWithRoom(ctx) : fullerWithRoom(ctx, local);
            if (to == NO_CHOICE) {
                break;
            }
            moves.add(new Move(p.pid(), to));
            sent(ctx, to);
            local--;
            excess--;
        }
        return moves;
    }

    /** The lowest node of the set that has room (NaN compares false: unknown nodes have none), or NO_CHOICE. */
    private int lowestWithRoom(PolicyContext ctx) {
        for (int n : ctx.nodes()) {
            if (load(ctx, n) < capacity(ctx, n)) {
                return n;
            }
        }
        return NO_CHOICE;
    }

    /** The fullest other node that has room and runs more than {@code local} (or as many, with a lower id). */
    private int fullerWithRoom(PolicyContext ctx, double local) {
        int best = NO_CHOICE;
        double bestLoad = 0;
        for (int n : ctx.nodes()) {
            double l = load(ctx, n);
            boolean fuller = l > local || l == local && n < ctx.node();
            if (n != ctx.node() && fuller && l < capacity(ctx, n) && (best == NO_CHOICE || l > bestLoad)) {
                best = n;
                bestLoad = l;
            }
        }
        return best;
    }

    /** Node {@code n}'s last known load, or more if this node sent it processes lately; NaN when unknown. */
    private double load(PolicyContext ctx, int n) {
        double read = ctx.remote("load", n);
        Expected e = expected.get(n);
        return e == null || ctx.nanoTime() > e.until() ? read : Math.max(read, e.load());
    }

    /** Records that this node sent a process to node {@code n}. */
    private void sent(PolicyContext ctx, int n) {
        long settle = (long) (ctx.param("settle", 3000) * 1_000_000);
        expected.put(n, new Expected(ctx.nanoTime() + settle, load(ctx, n) + 1));
    }

    private static double capacity(PolicyContext ctx, int n) {
        double c = ctx.remote("capacity", n);
        return Double.isNaN(c) ? ctx.param("capacity", Double.NaN) : c;
    }
}
