package org.kerrighed.epm;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A node's load averages, from its own processes: each second it counts the processes whose thread is running
 * or ready, and folds the count into exponentially weighted means over 1, 5 and 15 minutes, as Unix does.
 */
final class LoadSampler implements AutoCloseable {
    private static final double E1 = Math.exp(-1.0 / 60);
    private static final double E5 = Math.exp(-1.0 / 300);
    private static final double E15 = Math.exp(-1.0 / 900);

    private final int node;
    private final Supplier<Collection<LocalProcess>> processes;
    private final ScheduledExecutorService timer;
    private volatile double load1;
    private volatile double load5;
    private volatile double load15;

    LoadSampler(int node, Supplier<Collection<LocalProcess>> processes) {
        this.node = node;
        this.processes = processes;
        this.timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("krg-load-" + node).daemon().factory());
        timer.scheduleAtFixedRate(this::sample, 1, 1, TimeUnit.SECONDS);
    }

    private int runnable() {
        int n = 0;
        for (LocalProcess p : processes.get()) {
            if (p.state() == ProcessState.RUNNING) {
                n++;
            }
        }
        return n;
    }

    private void sample() {
        int n = runnable();
        load1 = load1 * E1 + n * (1 - E1);
        load5 = load5 * E5 + n * (1 - E5);
        load15 = load15 * E15 + n * (1 - E15);
    }

    /** The node's figures now. */
    NodeLoad current() {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return new NodeLoad(node, processes.get().size(), runnable(), load1, load5, load15, os.getProcessCpuLoad(),
                Runtime.getRuntime().availableProcessors(), heap.getUsed(), heap.getMax());
    }

    /** The cluster's aggregate of {@code loads}: sums, and the mean of the JVMs' CPU use. */
    static NodeLoad aggregate(Collection<NodeLoad> loads) {
        int processes = 0;
        int runnable = 0;
        int cpus = 0;
        double l1 = 0;
        double l5 = 0;
        double l15 = 0;
        double cpu = 0;
        int cpuKnown = 0;
        long used = 0;
        long max = 0;
        for (NodeLoad l : loads) {
            processes += l.processes();
            runnable += l.runnable();
            cpus += l.cpus();
            l1 += l.load1();
            l5 += l.load5();
            l15 += l.load15();
            if (l.jvmCpu() >= 0) {
                cpu += l.jvmCpu();
                cpuKnown++;
            }
            used += l.heapUsedBytes();
            max += l.heapMaxBytes();
        }
        return new NodeLoad(-1, processes, runnable, l1, l5, l15, cpuKnown == 0 ? -1 : cpu / cpuKnown, cpus, used, max);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
