package org.kerrighed.scheduler;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Kerrighed's {@code mosix_load_balancer}, extended to move several processes at once when the gap is wide, and to
 * spread its moves over the light nodes. It decides when its {@code local_load} port publishes (wired through a
 * threshold and a frequency limit):
 * <ol>
 *   <li>each other node of the node set is estimated at its {@code remote_load} plus one
 *       {@code single_process_load} for every process this node sent it (placed there, or moved) since that value
 *       was polled ({@link PolicyContext#sentSince});</li>
 *   <li>when the local load exceeds the lowest estimate by more than {@code spread_above} processes (default 2),
 *       it moves several processes, one at a time, each to a <em>target</em>, as long as the local load (less what
 *       it moved) stays above the target's estimate (plus what it moved there) plus {@code stab_factor} percent
 *       (default 130) of one process, and at most {@code max_moves} (default 8);</li>
 *   <li>otherwise it moves one process, as Kerrighed does: the one with the second-highest
 *       {@code process_load} (the highest when it is alone), to the target, if the target's estimate plus
 *       {@code stab_factor} percent of one process is below the local load.</li>
 * </ol>
 * A node whose value is older than {@code stale_after} milliseconds (default 5000: it stopped answering polls)
 * is left out. The target is the lightest of {@code choices} (default 2) nodes drawn at random, or the lightest
 * node when there are no more than that, or when {@code choices} is 0 (Kerrighed's rule). Every node sees the same
 * polled loads, so with Kerrighed's rule every loaded node sends to the same lightest nodes at once and the load
 * moves in herds (in the simulator, 256 nodes never settled); two random choices spread the moves. The draws come
 * from a generator seeded by the node's id, so a run is repeatable. Processes are taken in Kerrighed's order:
 * second-highest load first, then the highest, then down.
 */
final class MosixBalancer implements Policy {
    private Random random;

    /** Its parameters; each a number. */
    static final Set<String> PARAMS = Set.of("stab_factor", "spread_above", "max_moves", "choices", "stale_after");

    /** Refuses parameters it does not have, and values that are not numbers (an empty value removes one). */
    static void checkParams(Map<String, String> params) {
        params.forEach((k, v) -> {
            if (!PARAMS.contains(k)) {
                throw new IllegalArgumentException("policy mosix_balancer has no parameter '" + k + "' (it has "
                        + String.join(", ", new TreeSet<>(PARAMS)) + ")");
            }
            if (!v.isEmpty()) {
                try {
                    Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("parameter " + k + " of policy mosix_balancer is a number, not '"
                            + v + "'");
                }
            }
        });
    }

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
        long staleAfter = (long) (ctx.param("stale_after", 5000) * 1_000_000);   // a node that stopped answering
        Map<Integer, Double> estimate = new HashMap<>();
        for (int n : ctx.nodes()) {
            double r = ctx.remote("remote_load", n);
            long age = ctx.remoteAge("remote_load", n);
            if (n != ctx.node() && !Double.isNaN(r) && age <= staleAfter) {
                estimate.put(n, r + single * ctx.sentSince(n, now - age));
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
        int choices = (int) ctx.param("choices", 2);
        if (random == null) {
            random = new Random(0x9E3779B97F4A7C15L * (ctx.node() + 1));
        }
        int lowest = lowest(estimate, estimate.keySet());
        List<Move> moves = new ArrayList<>();
        if (local - estimate.get(lowest) > spread) {
            for (ProcessSample p : movable) {
                int n = target(estimate, choices);
                if (moves.size() >= max || estimate.get(n) + stab >= local) {
                    break;
                }
                moves.add(new Move(p.pid(), n));
                estimate.merge(n, single, Double::sum);
                local -= single;
            }
        } else {
            int n = target(estimate, choices);
            if (estimate.get(n) + stab < local) {
                moves.add(new Move(movable.getFirst().pid(), n));
            }
        }
        return moves;
    }

    /** The lightest of {@code choices} nodes drawn at random, or of all when there are no more (or 0 choices). */
    private int target(Map<Integer, Double> estimate, int choices) {
        if (choices <= 0 || estimate.size() <= choices) {
            return lowest(estimate, estimate.keySet());
        }
        List<Integer> nodes = new ArrayList<>(new TreeSet<>(estimate.keySet()));
        Set<Integer> drawn = new TreeSet<>();
        while (drawn.size() < choices) {
            drawn.add(nodes.get(random.nextInt(nodes.size())));
        }
        return lowest(estimate, drawn);
    }

    /** The node of {@code among} with the lowest estimate; the lowest id among equals. */
    private static int lowest(Map<Integer, Double> estimate, Set<Integer> among) {
        int best = -1;
        for (int n : among) {
            double v = estimate.get(n);
            if (best < 0 || v < estimate.get(best) || v == estimate.get(best) && n < best) {
                best = n;
            }
        }
        return best;
    }
}
