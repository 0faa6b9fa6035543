package org.kerrighed.scheduler;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Kerrighed's {@code mosix} probe (a simplified MOSIX load). Each period it counts the node's runnable processes,
 * divides by the JVM's processors, and publishes:
 * <ul>
 *   <li>{@code mean_load}: a mean that rises slowly (5 parts old, 3 new) and falls at once;</li>
 *   <li>{@code upper_load}: a mean that rises at once and falls slowly (7 parts old, 1 new);</li>
 *   <li>{@code current_load}: the count now (what other nodes poll for the default balancer);</li>
 *   <li>{@code single_process_load}: one process's share, {@code 1 / cpus};</li>
 *   <li>{@code process_load} (per process): the share of one processor the process used over the period, as a
 *       mean of 1 part old and 1 new, divided by the processors.</li>
 * </ul>
 * All loads are in the same unit: 1.0 is every processor of the node busy.
 */
final class MosixProbe implements Probe {
    private static final Set<String> SOURCES = Set.of("mean_load", "upper_load", "current_load",
            "single_process_load", "process_load");

    private double mean;
    private double upper;
    private long lastTime = Long.MIN_VALUE;
    private Map<Integer, Long> lastCpu = new HashMap<>();
    private final Map<Integer, Double> processLoad = new HashMap<>();

    @Override
    public Set<String> sources() {
        return SOURCES;
    }

    @Override
    public void sample(NodeSample node, ProbeOutput out) {
        int cpus = Math.max(1, node.cpus());
        double load = (double) node.runnable() / cpus;
        mean = load < mean ? load : (5 * mean + 3 * load) / 8;
        upper = load > upper ? load : (7 * upper + load) / 8;
        Map<Integer, Long> cpu = new HashMap<>();
        double dt = lastTime == Long.MIN_VALUE ? 0 : node.nanoTime() - lastTime;
        for (ProcessSample p : node.processes()) {
            cpu.put(p.pid(), p.cpuNanos());
            Long before = lastCpu.get(p.pid());
            double share = before == null || dt <= 0 ? (p.runnable() ? 1.0 : 0.0)
                    : Math.min(1.0, Math.max(0, p.cpuNanos() - before) / dt);
            double old = processLoad.getOrDefault(p.pid(), share / cpus);
            processLoad.put(p.pid(), (old + share / cpus) / 2);
        }
        processLoad.keySet().retainAll(cpu.keySet());
        lastCpu = cpu;
        lastTime = node.nanoTime();
        out.publish("single_process_load", 1.0 / cpus);
        out.publish("current_load", load);
        out.publish("upper_load", upper);
        out.publishPerProcess("process_load", processLoad);
        out.publish("mean_load", mean);
    }
}
