package org.kerrighed.scheduler;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kerrighed's {@code mosix_load_balancer}, extended to move several processes at once when the gap is wide. It
 * decides when its {@code local_load} port publishes (wired through a threshold and a frequency limit):
 * <ol>
 *   <li>each other node of the node set is estimated at its {@code remote_load} plus one
 *       {@code single_process_load} for every process this node sent it since that value was polled;</li>
 *   <li>when the local load exceeds the lowest estimate by more than {@code spread_above} processes (default 2),
 *       it moves several processes, one at a time to the node with the lowest estimate, as long as the local load
 *       (less what it moved) stays above that estimate (plus what it moved) plus {@code stab_factor} percent
 *       (default 130) of one process, and at most {@code max_moves} (default 8);</li>
 *   <li>otherwise it moves one process, as Kerrighed does: the one with the second-highest
 *       {@code process_load} (the highest when it is alone), to the node with the lowest estimate plus
 *       {@code stab_factor} percent of one process, if that is below the local load.</li>
 * </ol>
 * Processes are taken in Kerrighed's order: second-highest load first, then the highest, then down.
 */
final class MosixBalancer implements Policy {
    private static final long FORGET_NANOS = 30_000_000_000L;

    private final Deque<long[]> sent = new ArrayDeque<>();     // {time, node}, oldest first

    @Override
    public Set<String> ports() {
        return Set.of("local_load", "remote_load", "single_process_load", "process_load");
    }

    @Override
    public Set<String> triggers() {
        return Set.of("local_load");
    }

    @Override
    public List<Move> decide(String port, PolicyContext ctx) {
        if (!port.equals("local_load")) {
            return List.of();
        }
        double local = ctx.value("local_load");
        double single = ctx.value("single_process_load");
        List<ProcessSample> movable = new ArrayList<>(ctx.movable());
        if (Double.isNaN(local) || Double.isNaN(single) || movable.isEmpty()) {
            return List.of();
        }
        double stab = ctx.param("stab_factor", 130) / 100 * single;
        double spread = ctx.param("spread_above", 2) * single;
        int max = (int) ctx.param("max_moves", 8);
        long now = ctx.nanoTime();
        while (!sent.isEmpty() && now - sent.peekFirst()[0] > FORGET_NANOS) {
            sent.removeFirst();
        }
        Map<Integer, Double> estimate = new HashMap<>();
        for (int n : ctx.nodes()) {
            double r = ctx.remote("remote_load", n);
            if (n != ctx.node() && !Double.isNaN(r)) {
                long since = now - ctx.remoteAge("remote_load", n);
                for (long[] s : sent) {
                    if (s[1] == n && s[0] > since) {
                        r += single;
                    }
                }
                estimate.put(n, r);
            }
        }
        if (estimate.isEmpty()) {
            return List.of();
        }
        Map<Integer, Double> loads = ctx.perProcess("process_load");
        movable.sort(Comparator.comparingDouble((ProcessSample p) -> loads.getOrDefault(p.pid(), 0.0)).reversed()
                .thenComparingInt(ProcessSample::pid));
        if (movable.size() > 1) {
            movable.add(0, movable.remove(1));                 // Kerrighed takes the second-highest first
        }
        int lowest = lowest(estimate);
        List<Move> moves = new ArrayList<>();
        if (local - estimate.get(lowest) > spread) {
            for (ProcessSample p : movable) {
                int n = lowest(estimate);
                if (moves.size() >= max || estimate.get(n) + stab >= local) {
                    break;
                }
                moves.add(new Move(p.pid(), n));
                estimate.merge(n, single, Double::sum);
                local -= single;
            }
        } else if (estimate.get(lowest) + stab < local) {
            moves.add(new Move(movable.getFirst().pid(), lowest));
        }
        for (Move m : moves) {
            sent.addLast(new long[] {now, m.node()});
        }
        return moves;
    }

    private static int lowest(Map<Integer, Double> estimate) {
        int best = -1;
        for (Map.Entry<Integer, Double> e : estimate.entrySet()) {
            if (best < 0 || e.getValue() < estimate.get(best) || e.getValue().equals(estimate.get(best)) && e.getKey() < best) {
                best = e.getKey();
            }
        }
        return best;
    }
}
