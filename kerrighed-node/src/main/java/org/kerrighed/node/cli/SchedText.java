package org.kerrighed.node.cli;

import org.kerrighed.scheduler.FilterSpec;
import org.kerrighed.scheduler.NodeReport;
import org.kerrighed.scheduler.PluginSpec;
import org.kerrighed.scheduler.PortLink;
import org.kerrighed.scheduler.ProbeSpec;
import org.kerrighed.scheduler.SchedulerConfig;
import org.kerrighed.scheduler.SchedulerSpec;
import org.kerrighed.scheduler.SchedulerStats;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** How {@code krg sched} (and the demo) show the scheduler's configuration and counters: tables and JSON maps. */
final class SchedText {
    static final List<String> STATS_HEADERS = List.of("NODE", "VERSION", "SCHEDULER", "POLICY", "DECISIONS",
            "PLACEMENTS", "MIGRATIONS", "FAILED", "ERRORS", "STATE");

    private SchedText() {
    }

    /**
     * The tables of {@code krg sched list}: the configuration version, then schedulers (name, policy, process set,
     * node set, linked ports, parameters), probes (name, type, period, parameters), plugins (name, SHA-256 prefix,
     * types, holders), and the component types {@code types} of node {@code node}.
     */
    static String list(SchedulerConfig c, int node, List<String> types) {
        StringBuilder b = new StringBuilder("configuration version " + c.version() + "\n\n");
        List<List<String>> rows = new ArrayList<>();
        for (SchedulerSpec s : c.schedulersInOrder()) {
            rows.add(List.of(s.name(), s.policy(), s.processes().toString(), s.nodes().toString(),
                    s.links().isEmpty() ? "-" : String.join(",", new TreeMap<>(s.links()).keySet()), params(s.params())));
        }
        b.append(rows.isEmpty() ? "no scheduler\n"
                : Output.table(List.of("SCHEDULER", "POLICY", "PROCESSES", "NODES", "LINKED PORTS", "PARAMETERS"), rows));
        rows = new ArrayList<>();
        for (ProbeSpec p : new TreeMap<>(c.probes()).values()) {
            rows.add(List.of(p.name(), p.type(), p.periodMillis() + " ms", params(p.params())));
        }
        b.append('\n').append(rows.isEmpty() ? "no probe\n"
                : Output.table(List.of("PROBE", "TYPE", "PERIOD", "PARAMETERS"), rows));
        rows = new ArrayList<>();
        for (PluginSpec p : new TreeMap<>(c.plugins()).values()) {
            List<String> t = new ArrayList<>(p.probeTypes());
            t.addAll(p.policyTypes());
            rows.add(List.of(p.name(), p.sha256().substring(0, 12), String.join(",", t),
                    String.join(",", p.holders().stream().map(String::valueOf).toList())));
        }
        b.append('\n').append(rows.isEmpty() ? "no plugin\n"
                : Output.table(List.of("PLUGIN", "SHA256", "TYPES", "HOLDERS"), rows));
        b.append("\ncomponent types (node ").append(node).append("):\n");
        types.forEach(t -> b.append("  ").append(t).append('\n'));
        return b.toString();
    }

    /** The configuration as JSON: version, schedulers (with each port's source and filters), probes, plugins. */
    static Map<String, Object> configMap(SchedulerConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", c.version());
        List<Map<String, Object>> schedulers = new ArrayList<>();
        for (SchedulerSpec s : c.schedulersInOrder()) {
            Map<String, Object> sm = new LinkedHashMap<>();
            sm.put("name", s.name());
            sm.put("policy", s.policy());
            sm.put("processes", s.processes().toString());
            sm.put("nodes", s.nodes().toString());
            sm.put("params", new TreeMap<>(s.params()));
            Map<String, Object> ports = new TreeMap<>();
            for (Map.Entry<String, PortLink> e : s.links().entrySet()) {
                Map<String, Object> lm = new LinkedHashMap<>();
                lm.put("source", e.getValue().key());
                lm.put("filters", e.getValue().filters().stream().map(FilterSpec::toString).toList());
                ports.put(e.getKey(), lm);
            }
            sm.put("ports", ports);
            schedulers.add(sm);
        }
        m.put("schedulers", schedulers);
        List<Map<String, Object>> probes = new ArrayList<>();
        for (ProbeSpec p : new TreeMap<>(c.probes()).values()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("name", p.name());
            pm.put("type", p.type());
            pm.put("periodMillis", p.periodMillis());
            pm.put("params", new TreeMap<>(p.params()));
            probes.add(pm);
        }
        m.put("probes", probes);
        List<Map<String, Object>> plugins = new ArrayList<>();
        for (PluginSpec p : new TreeMap<>(c.plugins()).values()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("name", p.name());
            pm.put("sha256", p.sha256());
            pm.put("probeTypes", p.probeTypes());
            pm.put("policyTypes", p.policyTypes());
            pm.put("holders", p.holders());
            pm.put("loadedAtMillis", p.loadedAtMillis());
            plugins.add(pm);
        }
        m.put("plugins", plugins);
        return m;
    }

    /**
     * The counters of {@code krg sched stats}: a row per node and scheduler, then for each scheduler that decided
     * its last decision and the values its policy saw, then what does not run where and why.
     */
    static String stats(List<NodeReport> reports) {
        List<List<String>> rows = new ArrayList<>();
        List<String> details = new ArrayList<>();
        for (NodeReport r : reports) {
            if (r.schedulers().isEmpty()) {
                rows.add(List.of(Integer.toString(r.node()), Long.toString(r.version()), "-", "-", "", "", "", "", "",
                        ""));
            }
            for (SchedulerStats s : r.schedulers()) {
                rows.add(List.of(Integer.toString(r.node()), Long.toString(r.version()), s.scheduler(), s.policy(),
                        Long.toString(s.decisions()), Long.toString(s.placements()), Long.toString(s.migrations()),
                        Long.toString(s.failed()), Long.toString(s.errors()),
                        s.disabled() == null ? "running" : "disabled"));
                if (s.disabled() != null) {
                    details.add("node " + r.node() + ", scheduler " + s.scheduler() + ": disabled: " + s.disabled());
                }
                if (s.last() != null && !s.last().isBlank()) {
                    details.add("node " + r.node() + ", scheduler " + s.scheduler() + ": last decision: " + s.last());
                }
                if (!s.seen().isEmpty()) {
                    details.add("  saw " + seen(s.seen()));
                }
            }
            new TreeMap<>(r.probesDisabled()).forEach((p, why) -> details.add("node " + r.node() + ": probe " + p
                    + " does not run: " + why));
            new TreeMap<>(r.pluginErrors()).forEach((p, why) -> details.add("node " + r.node() + ": plugin " + p
                    + " not loaded: " + why));
        }
        StringBuilder b = new StringBuilder(Output.table(STATS_HEADERS, rows));
        details.forEach(d -> b.append(d).append('\n'));
        return b.toString();
    }

    /** {@code local_load=1.50 remote_load@1=0.00 ...}, sorted by name. */
    static String seen(Map<String, Double> seen) {
        List<String> parts = new ArrayList<>();
        new TreeMap<>(seen).forEach((k, v) -> parts.add(k + "=" + (v == null || v.isNaN() ? "-"
                : String.format(Locale.ROOT, "%.2f", v))));
        return String.join(" ", parts);
    }

    private static String params(Map<String, String> params) {
        if (params.isEmpty()) {
            return "-";
        }
        List<String> parts = new ArrayList<>();
        new TreeMap<>(params).forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(" ", parts);
    }
}
