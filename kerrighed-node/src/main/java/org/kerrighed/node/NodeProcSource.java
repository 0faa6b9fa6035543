package org.kerrighed.node;

import org.kerrighed.epm.NodeLoad;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.fs.ProcSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The cluster file system's {@code /proc}, from the process layer: {@code /proc/PID/status} for every process,
 * {@code /proc/loadavg}, {@code /proc/meminfo} and {@code /proc/cpuinfo} over the whole cluster, and the same three
 * for one node under {@code /proc/nodes/N/}. Memory is the nodes' JVM heaps; processors are the nodes' JVMs'.
 */
final class NodeProcSource implements ProcSource {
    private static final List<String> NODE_FILES = List.of("cpuinfo", "loadavg", "meminfo");

    private final Node node;

    NodeProcSource(Node node) {
        this.node = node;
    }

    @Override
    public List<String> list(String dir) {
        try {
            if (dir.isEmpty()) {
                List<String> names = new ArrayList<>(NODE_FILES);
                names.add("nodes");
                for (ProcessInfo p : node.epm().ps()) {
                    names.add(Integer.toString(p.pid()));
                }
                return names;
            }
            if (dir.equals("nodes")) {
                return node.epm().loads().stream().map(l -> Integer.toString(l.node())).toList();
            }
            String[] parts = dir.split("/");
            if (parts.length == 2 && parts[0].equals("nodes") && load(parts[1]).isPresent()) {
                return NODE_FILES;
            }
            if (parts.length == 1 && process(parts[0]).isPresent()) {
                return List.of("status");
            }
            return null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public String read(String file) {
        try {
            String[] parts = file.split("/");
            if (parts.length == 1) {
                return render(parts[0], node.epm().clusterLoad(), node.epm().loads());
            }
            if (parts.length == 2 && parts[1].equals("status")) {
                return process(parts[0]).map(NodeProcSource::status).orElse(null);
            }
            if (parts.length == 3 && parts[0].equals("nodes")) {
                Optional<NodeLoad> l = load(parts[1]);
                return l.map(one -> render(parts[2], one, List.of(one))).orElse(null);
            }
            return null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    private Optional<NodeLoad> load(String id) {
        try {
            int n = Integer.parseInt(id);
            return node.epm().loads().stream().filter(l -> l.node() == n).findFirst();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private Optional<ProcessInfo> process(String pid) {
        try {
            return node.epm().status(Integer.parseInt(pid));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static String render(String name, NodeLoad total, List<NodeLoad> nodes) {
        return switch (name) {
            case "loadavg" -> String.format(Locale.ROOT, "%.2f %.2f %.2f %d/%d%n", total.load1(), total.load5(),
                    total.load15(), total.runnable(), total.processes());
            case "meminfo" -> String.format(Locale.ROOT, "MemTotal: %12d kB%nMemFree:  %12d kB%nMemUsed:  %12d kB%n",
                    total.heapMaxBytes() / 1024, (total.heapMaxBytes() - total.heapUsedBytes()) / 1024,
                    total.heapUsedBytes() / 1024);
            case "cpuinfo" -> {
                StringBuilder b = new StringBuilder();
                int processor = 0;
                for (NodeLoad l : nodes) {
                    for (int c = 0; c < l.cpus(); c++) {
                        b.append("processor\t: ").append(processor++).append('\n')
                                .append("node\t\t: ").append(l.node()).append('\n')
                                .append("node cpu\t: ").append(c).append("\n\n");
                    }
                }
                yield b.toString();
            }
            default -> null;
        };
    }

    private static String status(ProcessInfo p) {
        return "Name:\t" + p.command() + "\n"
                + "State:\t" + p.state() + "\n"
                + "Pid:\t" + p.pid() + "\n"
                + "PPid:\t" + p.ppid() + "\n"
                + "PGid:\t" + p.pgid() + "\n"
                + "Sid:\t" + p.sid() + "\n"
                + "Uid:\t" + p.uid() + "\n"
                + "Gid:\t" + p.gid() + "\n"
                + "Node:\t" + p.node() + "\n"
                + "CpuNanos:\t" + p.cpuNanos() + "\n"
                + "Capabilities:\t" + p.capabilities() + "\n";
    }
}
