package org.kerrighed.scheduler;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster's scheduler configuration: probes, schedulers and plugins. One copy lives in a replicated KDDM
 * object, changed as a whole ({@link ClusterScheduler} makes every change) and applied by every node, including
 * nodes that join later. Immutable; {@code version} counts changes.
 */
public record SchedulerConfig(long version, long nextSeq, Map<String, ProbeSpec> probes,
                              Map<String, SchedulerSpec> schedulers, Map<String, PluginSpec> plugins) {
    /** No probe, no scheduler: nothing moves, placement is round robin. */
    public static final SchedulerConfig EMPTY = new SchedulerConfig(0, 1, Map.of(), Map.of(), Map.of());

    public SchedulerConfig {
        probes = Map.copyOf(probes);
        schedulers = Map.copyOf(schedulers);
        plugins = Map.copyOf(plugins);
    }

    /**
     * This configuration with Kerrighed's default schedulers (as its {@code krg_legacy_scheduler} made them), in
     * place of probes and schedulers of the same names: probes {@code mosix} and {@code migration}; scheduler
     * {@code rr} ({@code round_robin}, all processes, all nodes) for placement; and scheduler {@code mosix}
     * ({@code mosix_balancer}, all processes, all nodes), whose {@code local_load} is fed by {@code mosix/mean_load}
     * through a threshold of 1.5 times one process's load and a frequency limit of 2 s after its last decision or
     * the last migration, {@code remote_load} by the other nodes' {@code mosix/current_load} polled every second,
     * and {@code single_process_load} and {@code process_load} by the probe.
     */
    public SchedulerConfig withDefaults() {
        SchedulerConfig d = withProbe("mosix",
                new ProbeSpec("mosix", "mosix", ProbeSpec.DEFAULT_PERIOD_MILLIS, Map.of()))
                .withProbe("migration", new ProbeSpec("migration", "migration", ProbeSpec.DEFAULT_PERIOD_MILLIS,
                        Map.of()));
        SchedulerSpec oldRr = schedulers.get("rr");
        long rrSeq = oldRr != null ? oldRr.seq() : d.nextSeq;
        d = d.withScheduler("rr", new SchedulerSpec("rr", "round_robin", rrSeq, Map.of(), Map.of(), ProcessSet.ALL,
                NodeSet.ALL));
        SchedulerSpec oldMosix = schedulers.get("mosix");
        long mosixSeq = oldMosix != null ? oldMosix.seq() : d.nextSeq;
        Map<String, PortLink> links = Map.of(
                "local_load", new PortLink("mosix", "mean_load", List.of(
                        new FilterSpec("threshold", Map.of("threshold", "1.5*mosix/single_process_load")),
                        new FilterSpec("freq_limit", Map.of("min_interval", "2000",
                                "last_event", "migration/last_migration")))),
                "remote_load", new PortLink("mosix", "current_load", List.of(
                        new FilterSpec("remote_cache", Map.of("polling", "1000")))),
                "single_process_load", new PortLink("mosix", "single_process_load", List.of()),
                "process_load", new PortLink("mosix", "process_load", List.of()));
        SchedulerConfig out = d.withScheduler("mosix", new SchedulerSpec("mosix", "mosix_balancer", mosixSeq,
                Map.of(), links, ProcessSet.ALL, NodeSet.ALL));
        return new SchedulerConfig(version + 1, out.nextSeq, out.probes, out.schedulers, out.plugins);
    }

    /** The schedulers, oldest first. */
    public List<SchedulerSpec> schedulersInOrder() {
        List<SchedulerSpec> l = new ArrayList<>(schedulers.values());
        l.sort(Comparator.comparingLong(SchedulerSpec::seq));
        return l;
    }

    /** This configuration with probe {@code name} set to {@code p} (removed when null), one version later. */
    public SchedulerConfig withProbe(String name, ProbeSpec p) {
        Map<String, ProbeSpec> m = new HashMap<>(probes);
        if (p == null) {
            m.remove(name);
        } else {
            m.put(name, p);
        }
        return new SchedulerConfig(version + 1, nextSeq, m, schedulers, plugins);
    }

    /** This configuration with scheduler {@code name} set to {@code s} (removed when null), one version later. */
    public SchedulerConfig withScheduler(String name, SchedulerSpec s) {
        Map<String, SchedulerSpec> m = new HashMap<>(schedulers);
        if (s == null) {
            m.remove(name);
        } else {
            m.put(name, s);
        }
        return new SchedulerConfig(version + 1, Math.max(nextSeq, s == null ? 0 : s.seq() + 1), probes, m, plugins);
    }

    /** This configuration with plugin {@code name} set to {@code p} (removed when null), one version later. */
    public SchedulerConfig withPlugin(String name, PluginSpec p) {
        Map<String, PluginSpec> m = new HashMap<>(plugins);
        if (p == null) {
            m.remove(name);
        } else {
            m.put(name, p);
        }
        return new SchedulerConfig(version + 1, nextSeq, probes, schedulers, m);
    }

    /**
     * The whole graph as text, one block per scheduler (policy, sets, parameters, and each port's probe source
     * and filters), then the probes and plugins: what {@code krg sched show} prints.
     */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append("configuration version ").append(version).append('\n');
        if (schedulers.isEmpty() && probes.isEmpty()) {
            b.append("no scheduler: nothing moves automatically; new processes are placed round robin\n");
        }
        for (SchedulerSpec s : schedulersInOrder()) {
            b.append("scheduler ").append(s.name()).append(": policy ").append(s.policy())
                    .append(", processes ").append(s.processes()).append(", nodes ").append(s.nodes());
            if (!s.params().isEmpty()) {
                b.append(", ").append(Config.join(s.params(), " "));
            }
            b.append('\n');
            new TreeMap<>(s.links()).forEach((port, link) ->
                    b.append("  ").append(port).append(" <- ").append(link).append('\n'));
        }
        new TreeMap<>(probes).values().forEach(p -> b.append("probe ").append(p).append('\n'));
        new TreeMap<>(plugins).values().forEach(p -> b.append("plugin ").append(p.name()).append(" sha256 ")
                .append(p.sha256(), 0, 12).append(" probes ").append(p.probeTypes()).append(" policies ")
                .append(p.policyTypes()).append('\n'));
        return b.toString();
    }
}
