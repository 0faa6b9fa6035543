package org.kerrighed.scheduler.sim;

import org.kerrighed.scheduler.Components;
import org.kerrighed.scheduler.SchedulerConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A cluster whose work all starts on a few nodes: {@code nodes × procsPerNode} processes started at time 0 on
 * {@code ceil(loadedFraction × nodes)} nodes (at least one, drawn at random with the settings' seed), spread evenly
 * over them without asking placement (as spawns with a chosen node). Each process needs a CPU time drawn uniformly
 * in {@code [minCpuSeconds, maxCpuSeconds]}, or runs until the end when both are infinite.
 */
public record Scenario(SimSettings settings, double loadedFraction, int procsPerNode, double minCpuSeconds,
                       double maxCpuSeconds) {
    public Scenario {
        if (!(loadedFraction > 0 && loadedFraction <= 1)) {
            throw new IllegalArgumentException("loadedFraction must be in (0, 1], not " + loadedFraction);
        }
        if (procsPerNode < 1) {
            throw new IllegalArgumentException("procsPerNode must be at least 1, not " + procsPerNode);
        }
        if (!(minCpuSeconds > 0 && minCpuSeconds <= maxCpuSeconds)) {
            throw new IllegalArgumentException("CPU seconds must satisfy 0 < min <= max, not " + minCpuSeconds + " and "
                    + maxCpuSeconds);
        }
    }

    /** Endless processes. */
    public static Scenario loaded(SimSettings settings, double loadedFraction, int procsPerNode) {
        return new Scenario(settings, loadedFraction, procsPerNode, Double.POSITIVE_INFINITY,
                Double.POSITIVE_INFINITY);
    }

    /** This scenario with processes that need between {@code min} and {@code max} CPU seconds. */
    public Scenario withCpuSeconds(double min, double max) {
        return new Scenario(settings, loadedFraction, procsPerNode, min, max);
    }

    /** The nodes the processes start on, sorted. */
    public List<Integer> loadedNodes() {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < settings.nodes(); i++) {
            all.add(i);
        }
        Collections.shuffle(all, new Random(settings.seed()));
        int n = Math.max(1, (int) Math.ceil(loadedFraction * settings.nodes() - 1e-9));
        List<Integer> out = new ArrayList<>(all.subList(0, n));
        Collections.sort(out);
        return out;
    }

    /** A simulator running {@code config} with this scenario's processes started, at time 0. */
    public Simulator start(Components components, SchedulerConfig config) {
        Simulator sim = new Simulator(settings, components, config);
        List<Integer> loaded = loadedNodes();
        Random work = new Random(settings.seed() * 31 + 7);
        int total = settings.nodes() * procsPerNode;
        for (int i = 0; i < total; i++) {
            double cpu = minCpuSeconds == maxCpuSeconds ? minCpuSeconds
                    : minCpuSeconds + work.nextDouble() * (maxCpuSeconds - minCpuSeconds);
            sim.start(loaded.get(i % loaded.size()), SimProcess.cpuBound("work-" + i, cpu));
        }
        return sim;
    }

    /**
     * Runs the scenario under {@code config} for {@code length} of simulated time, or until every process exited
     * when they all need finite CPU time (and {@code length} is enough).
     */
    public SimResult run(Components components, SchedulerConfig config, Duration length) {
        Simulator sim = start(components, config);
        if (maxCpuSeconds == Double.POSITIVE_INFINITY) {
            sim.run(length);
        } else {
            sim.runUntilDone(length);
        }
        return sim.result();
    }
}
