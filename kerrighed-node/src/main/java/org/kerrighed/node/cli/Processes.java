package org.kerrighed.node.cli;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.epm.MigrationReport;
import org.kerrighed.epm.NodeLoad;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.node.ProcessAdmin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** How the process tools show processes, capabilities and loads: table cells and JSON maps. */
final class Processes {
    static final List<String> HEADERS = List.of("PID", "PPID", "PGID", "NODE", "UID", "STATE", "TIME", "MEM", "CAPS",
            "COMMAND");
    static final List<String> LOAD_HEADERS = List.of("NODE", "LOAD1", "LOAD5", "LOAD15", "RUNNABLE", "PROCS", "CPUS",
            "JVM CPU", "HEAP");

    private Processes() {
    }

    /** One ps row: the state letter with {@code +K} while a KILL is pending; a zombie's command shows its exit. */
    static List<String> row(ProcessInfo p) {
        String command = p.exit() == null ? p.command() : p.command() + " <" + p.exit() + ">";
        return List.of(Integer.toString(p.pid()), Integer.toString(p.ppid()), Integer.toString(p.pgid()),
                Integer.toString(p.node()), Integer.toString(p.uid()), state(p), cpuTime(p.cpuNanos()),
                bytes(p.allocatedBytes()), p.capabilities().letters(), command);
    }

    static String table(List<ProcessInfo> processes) {
        List<List<String>> rows = new ArrayList<>();
        for (ProcessInfo p : processes) {
            rows.add(row(p));
        }
        return Output.table(HEADERS, rows);
    }

    static String state(ProcessInfo p) {
        return p.state().code() + (p.killPending() ? "+K" : "");
    }

    /** CPU time as {@code m:ss.ss}. */
    static String cpuTime(long nanos) {
        long centis = nanos / 10_000_000;
        return String.format(Locale.ROOT, "%d:%02d.%02d", centis / 6000, centis / 100 % 60, centis % 100);
    }

    /** Bytes in binary units, one word: {@code 512B}, {@code 12.3KiB}, {@code 1.0GiB}. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + "B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f%s", v, units[u]);
    }

    static Map<String, Object> toMap(ProcessInfo p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", p.pid());
        m.put("ppid", p.ppid());
        m.put("pgid", p.pgid());
        m.put("sid", p.sid());
        m.put("node", p.node());
        m.put("uid", p.uid());
        m.put("gid", p.gid());
        m.put("state", p.state().name());
        m.put("killPending", p.killPending());
        m.put("cpuNanos", p.cpuNanos());
        m.put("allocatedBytes", p.allocatedBytes());
        m.put("startMillis", p.startMillis());
        m.put("command", p.command());
        m.put("capabilities", toMap(p.capabilities()));
        Map<String, Object> exit = null;
        if (p.exit() != null) {
            exit = new LinkedHashMap<>();
            exit.put("code", p.exit().code());
            exit.put("signal", p.exit().signal() == null ? null : p.exit().signal().name());
            exit.put("reason", p.exit().reason());
        }
        m.put("exit", exit);
        return m;
    }

    /** The four sets by their tool names, each as its mask and its capabilities' names. */
    static Map<String, Object> toMap(Capabilities c) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Capabilities.Kind k : Capabilities.Kind.values()) {
            Map<String, Object> set = new LinkedHashMap<>();
            set.put("mask", c.mask(k));
            set.put("names", names(c.mask(k)));
            m.put(setName(k), set);
        }
        return m;
    }

    static List<String> names(int mask) {
        List<String> names = new ArrayList<>();
        for (Capability cap : Capability.values()) {
            if ((mask & 1 << cap.ordinal()) != 0) {
                names.add(cap.name());
            }
        }
        return names;
    }

    /** {@code effective}, {@code permitted}, {@code inheritable-effective}, {@code inheritable-permitted}. */
    static String setName(Capabilities.Kind k) {
        return k.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** A table of the four sets: name, octal mask, capabilities. */
    static String capabilityTable(Capabilities c) {
        List<List<String>> rows = new ArrayList<>();
        for (Capabilities.Kind k : Capabilities.Kind.values()) {
            rows.add(List.of(setName(k), octal(c.mask(k)), Capabilities.names(c.mask(k))));
        }
        return Output.table(List.of("SET", "MASK", "CAPABILITIES"), rows);
    }

    /** {@code 0}, or the mask in octal with a leading 0 ({@code 021}). */
    static String octal(int mask) {
        return mask == 0 ? "0" : "0" + Integer.toOctalString(mask);
    }

    /** One row of the loads table; the aggregate (node -1) is the row {@code all}. */
    static List<String> loadRow(NodeLoad l) {
        return List.of(l.node() < 0 ? "all" : Integer.toString(l.node()), fixed(l.load1()), fixed(l.load5()),
                fixed(l.load15()), Integer.toString(l.runnable()), Integer.toString(l.processes()),
                Integer.toString(l.cpus()),
                l.jvmCpu() < 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", l.jvmCpu() * 100),
                (l.heapUsedBytes() >> 20) + "/" + (l.heapMaxBytes() >> 20) + " MiB");
    }

    /**
     * A migration report as one line: {@code migrated process 6291457 from node 1 to node 2 in 3.12 ms (safe point
     * 0.41 ms, export 0.52 ms, transfer 1.60 ms, commit 0.45 ms; ghost 1.2KiB)}. A phase the old node could not
     * time (the commit's answer was lost, and the new node confirmed the arrival later) shows as {@code ?}.
     */
    static String migrationLine(MigrationReport r) {
        return String.format(Locale.ROOT, "migrated process %d from node %d to node %d in %s (safe point %s, export"
                        + " %s, transfer %s, commit %s; ghost %s)", r.pid(), r.from(), r.to(), millis(r.total()),
                millis(r.safepoint()), millis(r.export()), millis(r.transfer()), millis(r.commit()), bytes(r.bytes()));
    }

    /**
     * A checkpoint report in three lines and one more per object left out:
     * <pre>
     * checkpointed application 2097153 as version 1 in /var/krg/ckpt/2097153/v1
     * 3 processes (2097153, 2097154, 6291457) on nodes 0, 1; 2.1KiB written
     * freeze 3.10 ms, write 5.62 ms, total 9.80 ms; the application goes on
     * </pre>
     */
    static String checkpointLines(CheckpointReport r, boolean killed) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "checkpointed application %d as version %d in %s%n%d process%s (%s) on node%s %s; %s written%n"
                        + "freeze %s, write %s, total %s; the application %s", r.app(), r.version(), r.directory(),
                r.pids().size(), r.pids().size() == 1 ? "" : "es", join(r.pids()), r.nodes().size() == 1 ? "" : "s",
                join(r.nodes()), bytes(r.bytes()), millis(r.freeze()), millis(r.write()), millis(r.total()),
                killed ? "was killed" : "goes on"));
        for (String s : r.leftOut()) {
            sb.append(String.format("%nleft out: %s", s));
        }
        return sb.toString();
    }

    /**
     * What a restart started: a line naming the version and the root, then a table of the processes by old pid.
     * <pre>
     * restarted application 2097153 from /var/krg/ckpt/2097153/v1 by node 0: root process 2097153 on node 0, a child of INIT on node 0
     * OLD PID  PID      NODE
     * 2097153  2097153     0
     * </pre>
     */
    static String restartText(ProcessAdmin.RestartDone r) {
        List<List<String>> rows = new ArrayList<>();
        r.pids().forEach((old, now) -> rows.add(List.of(Integer.toString(old), Integer.toString(now),
                Integer.toString(r.nodes().get(now)))));
        return String.format(Locale.ROOT, "restarted application %d from %s by node %d: root process %d on node %d,"
                        + " a child of INIT on node %d%n", r.app(), r.directory(), r.node(), r.root(), r.rootNode(),
                r.node()) + Output.table(List.of("OLD PID", "PID", "NODE"), rows);
    }

    private static String join(List<Integer> values) {
        return String.join(", ", values.stream().map(String::valueOf).toList());
    }

    private static String millis(double ms) {
        return Double.isNaN(ms) ? "?" : String.format(Locale.ROOT, ms < 100 ? "%.2f ms" : "%.0f ms", ms);
    }

    private static String fixed(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
