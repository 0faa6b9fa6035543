package org.kerrighed.scheduler.sim;

import org.kerrighed.scheduler.Components;
import org.kerrighed.scheduler.NodeSample;
import org.kerrighed.scheduler.ProcessSample;
import org.kerrighed.scheduler.SchedulerConfig;
import org.kerrighed.scheduler.SchedulerEngine;
import org.kerrighed.scheduler.SchedulerHost;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One virtual node: its processors, its processes, and the real {@link SchedulerEngine} that schedules it, over this
 * node as its {@link SchedulerHost}. Used by the simulator's thread only.
 */
final class VirtualNode implements SchedulerHost {
    private static final double DONE = 1e-9;

    final int id;
    final int cpus;
    final SchedulerEngine engine;
    /** When its scheduler starts being ticked, on the simulator's clock. */
    final long startAt;
    /** Its processes in the order they came, those leaving included. */
    final List<Proc> procs = new ArrayList<>();
    private final Simulator sim;
    int runnable;
    long lastMigration = Long.MIN_VALUE;
    int nextRoundRobin;
    private Set<String> answeredKeys;
    private Map<String, Double> answer;

    VirtualNode(Simulator sim, int id, int cpus, long startAt, Components components) {
        this.sim = sim;
        this.id = id;
        this.cpus = cpus;
        this.startAt = startAt;
        this.engine = new SchedulerEngine(this, components);
    }

    void add(Proc p) {
        procs.add(p);
        if (p.runnable()) {
            runnable++;
        }
    }

    void remove(Proc p) {
        procs.remove(p);
        if (p.runnable()) {
            runnable--;
        }
    }

    /**
     * Runs the node's runnable processes for {@code dt} seconds from {@code now}, sharing its processors equally
     * (processor sharing: each gets {@code min(1, cpus / runnable)} of a processor; when one finishes, the others
     * share its part for the rest of the tick). A process that finishes leaves the node and is reported to the
     * simulator with the time it finished. Returns the CPU seconds the processes used.
     */
    double run(long now, double dt) {
        List<Proc> r = new ArrayList<>(runnable);
        boolean finite = false;
        for (Proc p : procs) {
            if (p.runnable()) {
                r.add(p);
                finite |= p.remaining != Double.POSITIVE_INFINITY;
            }
        }
        if (r.isEmpty()) {
            return 0;
        }
        if (finite) {
            r.sort(Comparator.comparingDouble((Proc p) -> p.remaining).thenComparingInt(p -> p.pid));
        }
        double used = 0;
        double left = dt;
        int first = 0;
        while (left > 0 && first < r.size()) {
            double rate = Math.min(1.0, (double) cpus / (r.size() - first));
            double step = Math.min(left, r.get(first).remaining / rate);
            for (int i = first; i < r.size(); i++) {
                Proc p = r.get(i);
                p.cpu += step * rate;
                p.remaining -= step * rate;
                used += step * rate;
            }
            left -= step;
            while (first < r.size() && r.get(first).remaining <= DONE) {
                Proc p = r.get(first++);
                remove(p);
                sim.exited(p, now + Math.round((dt - left) * 1e9));
            }
        }
        return used;
    }

    /** Ticks the engine. */
    void tick() {
        answer = null;
        engine.tick();
    }

    /** Applies {@code config} to the engine. */
    void configure(SchedulerConfig config) {
        answer = null;
        engine.configure(config);
    }

    /**
     * The engine's {@link SchedulerEngine#values} of {@code keys}: the same map for every poll of the same keys
     * between two of its ticks, when the values cannot change (a 256-node cluster polls each node 255 times a
     * second).
     */
    Map<String, Double> values(Set<String> keys) {
        if (answer == null || !keys.equals(answeredKeys)) {
            answeredKeys = Set.copyOf(keys);
            answer = Map.copyOf(engine.values(keys));
        }
        return answer;
    }

    // ---------------------------------------------------------------- SchedulerHost

    @Override
    public int self() {
        return id;
    }

    @Override
    public int[] liveNodes() {
        return sim.liveNodes();
    }

    @Override
    public long nanoTime() {
        return sim.nanoTime();
    }

    @Override
    public NodeSample sample() {
        List<ProcessSample> ps = new ArrayList<>(procs.size());
        long heap = 0;
        for (Proc p : procs) {
            ps.add(p.sample());
            heap += p.spec.heapBytes();
        }
        long max = sim.settings().heapMaxBytes();
        return new NodeSample(id, sim.nanoTime(), cpus, (double) Math.min(runnable, cpus) / cpus, Math.min(heap, max),
                max, ps, lastMigration);
    }

    /** Answered from the polled node's engine ({@link SchedulerEngine#values}), after the configured latency. */
    @Override
    public CompletableFuture<Map<String, Double>> poll(int node, Set<String> keys) {
        return sim.poll(node, keys);
    }

    /** Starts the move; fails at once when the process is not a runnable, migratable process of this node. */
    @Override
    public CompletableFuture<?> migrate(int pid, int node) {
        return sim.migrate(this, pid, node);
    }
}
