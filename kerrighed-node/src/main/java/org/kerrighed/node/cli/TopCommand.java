package org.kerrighed.node.cli;

import org.kerrighed.epm.NodeLoad;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.ProcessState;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.Console;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code krg top}: the nodes' loads and the processes by CPU time, refreshed. */
@Command(name = "top", mixinStandardHelpOptions = true,
        description = {"Shows each node's load (load averages, runnable and live processes, the node JVM's CPU use,"
                + " heap) and the cluster's aggregate, then the processes by CPU time, refreshed every interval.",
                "On a terminal the screen is redrawn; otherwise one block is printed per refresh."})
final class TopCommand implements Callable<Integer> {
    private static final String CLEAR = "\033[H\033[2J";

    @Mixin
    ToolOptions tool;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "2s",
            description = "time between refreshes: 500ms, 2s, 1m, PT2S (default 2s; at least 100ms)")
    String interval;

    @Option(names = "--iterations", paramLabel = "N",
            description = "stop after N refreshes (default: until interrupted)")
    Integer iterations;

    @Option(names = "--json", description = "print one JSON object per refresh, one per line")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        Duration every = parseInterval();
        if (iterations != null && iterations < 1) {
            throw new IllegalArgumentException("--iterations: must be at least 1, got " + iterations);
        }
        Console console = System.console();
        boolean redraw = !json && console != null && console.isTerminal();
        try (RpcClient c = tool.connect()) {
            for (int i = 0; iterations == null || i < iterations; i++) {
                if (i > 0) {
                    Thread.sleep(every);
                }
                ProcessAdmin.Loads loads = ProcessAdmin.loads(c, PsCommand.TIMEOUT);
                List<ProcessInfo> processes = new ArrayList<>(ProcessAdmin.ps(c, -1, PsCommand.TIMEOUT));
                processes.sort(Comparator.comparingLong(ProcessInfo::cpuNanos).reversed()
                        .thenComparingInt(ProcessInfo::pid));
                if (json) {
                    System.out.println(Output.json(toMap(loads, processes)));
                } else {
                    System.out.print((redraw ? CLEAR : i > 0 ? "\n" : "") + format(loads, processes));
                }
                System.out.flush();
            }
        }
        return 0;
    }

    private Duration parseInterval() {
        Duration d;
        try {
            d = NodeConfig.Builder.parseDuration(interval);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--interval: " + e.getMessage());
        }
        if (d.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("--interval: must be at least 100ms, got " + interval);
        }
        return d;
    }

    static String format(ProcessAdmin.Loads loads, List<ProcessInfo> processes) {
        NodeLoad all = loads.cluster();
        long running = processes.stream().filter(p -> p.state() == ProcessState.RUNNING).count();
        long zombies = processes.stream().filter(p -> p.state() == ProcessState.ZOMBIE).count();
        StringBuilder sb = new StringBuilder();
        String now = LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss"));
        int nodes = loads.nodes().size();
        sb.append(String.format(Locale.ROOT, "top - %s, %d node%s, %d processes (%d running), %d zombie%s, "
                        + "load average: %.2f, %.2f, %.2f%n", now, nodes, nodes == 1 ? "" : "s",
                processes.size() - zombies, running, zombies, zombies == 1 ? "" : "s", all.load1(), all.load5(),
                all.load15()));
        List<List<String>> rows = new ArrayList<>();
        for (NodeLoad l : loads.nodes()) {
            rows.add(Processes.loadRow(l));
        }
        rows.add(Processes.loadRow(all));
        sb.append(Output.table(Processes.LOAD_HEADERS, rows)).append('\n');
        sb.append(Processes.table(processes));
        return sb.toString();
    }

    static Map<String, Object> toMap(ProcessAdmin.Loads loads, List<ProcessInfo> processes) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timeMillis", System.currentTimeMillis());
        List<Object> nodes = new ArrayList<>();
        for (NodeLoad l : loads.nodes()) {
            nodes.add(Output.recordMap(l));
        }
        m.put("nodes", nodes);
        m.put("cluster", Output.recordMap(loads.cluster()));
        List<Object> rows = new ArrayList<>();
        for (ProcessInfo p : processes) {
            rows.add(Processes.toMap(p));
        }
        m.put("processes", rows);
        return m;
    }
}
