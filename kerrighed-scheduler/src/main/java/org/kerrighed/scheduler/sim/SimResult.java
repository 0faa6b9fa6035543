package org.kerrighed.scheduler.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link Simulator} run gave, from its start until {@link #seconds}.
 *
 * @param settings          the simulator's settings
 * @param seconds           simulated time run
 * @param series            the cluster at every whole simulated second, from 0
 * @param migrations        migrations completed
 * @param failedMigrations  migrations the virtual nodes refused (a process gone, not migratable, already moving)
 * @param convergedSeconds  when the cluster converged within 10 % of balance: the start of the last stretch of
 *                          balanced ticks, if that stretch lasts to the end of the run; NaN when the last tick was
 *                          not balanced ({@link Simulator} defines balance)
 * @param processesLeft     live processes at the end
 * @param lastExitSeconds   when the last process to finish finished; NaN when none finished
 * @param cpuSeconds        the CPU time all processes used
 * @param decisions         decisions the schedulers' policies made, on every node
 * @param placements        new processes the schedulers placed
 * @param policyErrors      policy exceptions and invalid answers, on every node
 * @param disabled          the schedulers and probes disabled on some node, each as {@code node N: NAME: reason}
 */
public record SimResult(SimSettings settings, double seconds, List<SimPoint> series, long migrations,
                        long failedMigrations, double convergedSeconds, int processesLeft, double lastExitSeconds,
                        double cpuSeconds, long decisions, long placements, long policyErrors, List<String> disabled) {
    public SimResult {
        series = List.copyOf(series);
        disabled = List.copyOf(disabled);
    }

    /** Whether the run ended balanced (see {@link #convergedSeconds}). */
    public boolean converged() {
        return !Double.isNaN(convergedSeconds);
    }

    /** The points of {@link #series} every {@code step} seconds (0, step, 2 step, ...), and the last one. */
    public List<SimPoint> every(int step) {
        if (step < 1) {
            throw new IllegalArgumentException("step must be at least 1 second, not " + step);
        }
        List<SimPoint> out = new ArrayList<>();
        for (int i = 0; i < series.size(); i += step) {
            out.add(series.get(i));
        }
        if (!series.isEmpty() && (series.size() - 1) % step != 0) {
            out.add(series.getLast());
        }
        return out;
    }

    /** The point at {@code second} (clamped to the run). */
    public SimPoint at(int second) {
        if (series.isEmpty()) {
            throw new IllegalStateException("the simulator has not run");
        }
        return series.get(Math.max(0, Math.min(series.size() - 1, second)));
    }
}
