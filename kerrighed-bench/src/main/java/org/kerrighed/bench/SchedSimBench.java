package org.kerrighed.bench;

import org.kerrighed.node.cli.Output;
import org.kerrighed.scheduler.Components;
import org.kerrighed.scheduler.SchedulerConfig;
import org.kerrighed.scheduler.sim.Scenario;
import org.kerrighed.scheduler.sim.SimPoint;
import org.kerrighed.scheduler.sim.SimResult;
import org.kerrighed.scheduler.sim.SimSettings;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * {@code krg bench sched-sim}: the default scheduler ({@link SchedulerConfig#withDefaults()}: round-robin placement
 * and the MOSIX-style balancer) on a simulated cluster ({@link org.kerrighed.scheduler.sim.Simulator}), starting
 * with all the work on a fraction of the nodes. The figures are simulated time and counts, the same on every
 * machine for the same options; only the time the run takes depends on the machine.
 *
 * <p>Parts: {@code even} ({@code nodes × procs-per-node} endless processes, for {@code seconds}, one round per
 * seed), {@code uneven} (processes that need 1/8 to 1 × {@code seconds / procs-per-node} CPU seconds, so that the
 * work would end at about 0.56 × {@code seconds} if it were spread from the start; run until every process
 * exited), and {@code 2cpu} (as {@code even} on nodes of 2 processors, with twice the processes per node). No
 * peer: every row is reported.
 */
final class SchedSimBench implements Benchmark.Parted {
    private static final int[] AT = {10, 30, 60, 120};

    /** The command line's choices; null fields take the scale's defaults. */
    static final class Options {
        @Option(names = "--nodes", paramLabel = "N", description = "simulated nodes, 1-256 (default 256)")
        Integer nodes;

        @Option(names = "--loaded-fraction", paramLabel = "F",
                description = "the fraction of nodes all processes start on (default 0.1)")
        Double loadedFraction;

        @Option(names = "--procs-per-node", paramLabel = "P",
                description = "processes per node of the whole cluster (default 4)")
        Integer procsPerNode;

        @Option(names = "--seconds", paramLabel = "S", description = "simulated seconds (default 300)")
        Integer seconds;

        @Option(names = "--seed", paramLabel = "SEED",
                description = "the first seed; part even runs one round per seed from it (default 1)")
        Long seed;
    }

    /** What one run of the benchmark simulates. */
    record Plan(int nodes, double loadedFraction, int procsPerNode, int seconds, long seed, int seeds) {
        static Plan of(Scale s, Options o) {
            Plan d = switch (s) {
                case FULL -> new Plan(256, 0.1, 4, 300, 1, 3);
                case QUICK -> new Plan(256, 0.1, 4, 120, 1, 1);
                case SMOKE -> new Plan(16, 0.1, 4, 20, 1, 1);
            };
            if (o == null) {
                return d;
            }
            return new Plan(o.nodes != null ? o.nodes : d.nodes, o.loadedFraction != null ? o.loadedFraction
                    : d.loadedFraction, o.procsPerNode != null ? o.procsPerNode : d.procsPerNode,
                    o.seconds != null ? o.seconds : d.seconds, o.seed != null ? o.seed : d.seed, d.seeds);
        }

        SimSettings settings(long s) {
            return SimSettings.of(nodes).withSeed(s);
        }
    }

    private final Options options;

    SchedSimBench() {
        this(null);
    }

    SchedSimBench(Options options) {
        this.options = options;
    }

    @Override
    public String name() {
        return "sched-sim";
    }

    @Override
    public String description() {
        return "the default scheduler on 256 simulated nodes with all work starting on 10 % of them: balance over"
                + " time, migrations, time to converge within 10 % of balance";
    }

    @Override
    public List<String> parts() {
        return List.of("even", "uneven", "2cpu");
    }

    @Override
    public List<Row> run(Scale scale, Set<String> parts, Progress progress) {
        checkParts(parts);
        Plan p = Plan.of(scale, options);
        if (p.seconds < 1) {
            throw new IllegalArgumentException("--seconds must be at least 1, not " + p.seconds);
        }
        progress.say("sched-sim: %d simulated nodes, %d processes per node all started on %s of them, the default"
                + " scheduler (%d s simulated)", p.nodes, p.procsPerNode, Row.number(p.loadedFraction), p.seconds);
        List<Row> rows = new ArrayList<>();
        if (parts.contains("even")) {
            List<SimResult> rs = new ArrayList<>();
            for (long s = p.seed; s < p.seed + p.seeds; s++) {
                Scenario sc = Scenario.loaded(p.settings(s), p.loadedFraction, p.procsPerNode);
                rs.add(simulate("even, seed " + s, sc, Duration.ofSeconds(p.seconds), progress));
            }
            rows.addAll(rows("", rs, false));
        }
        if (parts.contains("uneven")) {
            double most = (double) p.seconds / p.procsPerNode;
            Scenario sc = Scenario.loaded(p.settings(p.seed), p.loadedFraction, p.procsPerNode)
                    .withCpuSeconds(most / 8, most);
            rows.addAll(rows("@uneven", List.of(simulate("uneven, seed " + p.seed, sc,
                    Duration.ofSeconds(3L * p.seconds), progress)), true));
        }
        if (parts.contains("2cpu")) {
            Scenario sc = Scenario.loaded(p.settings(p.seed).withCpus(2), p.loadedFraction, 2 * p.procsPerNode);
            rows.addAll(rows("@2cpu", List.of(simulate("2cpu, seed " + p.seed, sc, Duration.ofSeconds(p.seconds),
                    progress)), false));
        }
        return rows;
    }

    private static SimResult simulate(String label, Scenario sc, Duration length, Progress progress) {
        long t0 = System.nanoTime();
        SimResult r;
        try (Components components = new Components()) {
            r = sc.run(components, SchedulerConfig.EMPTY.withDefaults(), length);
        }
        progress.say("%s: loaded nodes %s; simulated %.0f s in %.1f s%n%s", label, sc.loadedNodes(), r.seconds(),
                (System.nanoTime() - t0) / 1e9, series(r));
        progress.say("%s: %d migrations (%d failed), %s; %d decisions, %d policy errors%s", label, r.migrations(),
                r.failedMigrations(), r.converged() ? "converged within 10 % of balance at "
                        + Row.number(r.convergedSeconds()) + " s" : "not within 10 % of balance at the end",
                r.decisions(), r.policyErrors(), r.disabled().isEmpty() ? "" : "; disabled: " + r.disabled());
        return r;
    }

    /** The run's balance every 5 s, as a table. */
    static String series(SimResult r) {
        List<List<String>> cells = new ArrayList<>();
        for (SimPoint pt : r.every(5)) {
            cells.add(List.of(Row.number(pt.seconds()), Integer.toString(pt.processes()), Row.number(pt.maxLoad()),
                    Row.number(pt.meanLoad()), Row.number(pt.maxOverMean()), Integer.toString(pt.minRunnable()),
                    Integer.toString(pt.overloaded()), Long.toString(pt.migrations())));
        }
        return Output.table(List.of("T_S", "PROCS", "MAX_LOAD", "MEAN_LOAD", "MAX/MEAN", "MIN_RUNNABLE",
                "OVERLOADED", "MIGRATIONS"), cells);
    }

    /**
     * The rows of one part over its rounds (seeds): medians, where a run that did not converge counts as later
     * than any that did (the row has no figure when most did not).
     */
    private static List<Row> rows(String suffix, List<SimResult> rs, boolean finite) {
        List<Row> out = new ArrayList<>();
        out.add(row("converge_s" + suffix, "s", rs, SimResult::convergedSeconds));
        out.add(row("migrations" + suffix, "count", rs, r -> r.migrations()));
        out.add(row("migrations_per_process" + suffix, "count", rs,
                r -> (double) r.migrations() / r.series().getFirst().processes()));
        for (int t : AT) {
            out.add(row("max_over_mean@" + t + "s" + suffix, "ratio", rs, r -> t < r.series().size()
                    ? r.at(t).maxOverMean() : Double.NaN));
        }
        if (finite) {
            out.add(row("makespan_ratio" + suffix, "ratio", rs, r -> r.processesLeft() > 0 ? Double.NaN
                    : r.lastExitSeconds() / (r.cpuSeconds() / (r.settings().nodes() * r.settings().cpus()))));
        } else {
            out.add(row("max_over_mean@end" + suffix, "ratio", rs, r -> r.series().getLast().maxOverMean()));
        }
        return out;
    }

    private static Row row(String name, String unit, List<SimResult> rs, ToDoubleFunction<SimResult> f) {
        double[] v = rs.stream().mapToDouble(f).map(x -> Double.isNaN(x) ? Double.POSITIVE_INFINITY : x).toArray();
        Arrays.sort(v);
        double m = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return new Row(name, unit, Double.isInfinite(m) ? Double.NaN : m, null, Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, rs.size(), null);
    }
}
