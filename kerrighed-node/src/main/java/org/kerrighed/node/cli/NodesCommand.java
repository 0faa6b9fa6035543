package org.kerrighed.node.cli;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeStatus;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code krg nodes}: the members, and removing one. */
@Command(name = "nodes", mixinStandardHelpOptions = true,
        description = "Lists the cluster's nodes: id, addresses, state, epoch, uptime, load.",
        subcommands = NodesCommand.Remove.class)
final class NodesCommand implements Callable<Integer> {
    @Mixin
    ToolOptions tool;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (RpcClient c = tool.connect()) {
            NodeAdmin.ClusterStatus s = NodeAdmin.status(c, Duration.ofSeconds(10));
            System.out.print(json ? Output.json(toMap(s)) + "\n" : format(s));
        }
        return 0;
    }

    static Map<String, Object> toMap(NodeAdmin.ClusterStatus s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epoch", s.epoch());
        m.put("master", s.master());
        m.put("writable", s.writable());
        List<Object> nodes = new ArrayList<>();
        for (NodeStatus n : s.nodes()) {
            nodes.add(Output.recordMap(n));
        }
        m.put("nodes", nodes);
        return m;
    }

    static String format(NodeAdmin.ClusterStatus s) {
        List<List<String>> rows = new ArrayList<>();
        for (NodeStatus n : s.nodes()) {
            rows.add(List.of(Integer.toString(n.nodeId()) + (n.nodeId() == s.master() ? "*" : ""), n.rpcAddress(),
                    n.discovery(), n.state(), Long.toString(n.epoch()), uptime(n.uptimeMillis()),
                    n.load() < 0 ? "-" : String.format("%.0f%%", n.load() * 100),
                    n.heapUsedBytes() < 0 ? "-" : (n.heapUsedBytes() >> 20) + " MiB",
                    n.rttMicros() < 0 ? "-" : n.rttMicros() + " us"));
        }
        return "epoch " + s.epoch() + ", master " + s.master() + " (*), " + (s.writable() ? "writable" : "NOT writable")
                + "\n" + Output.table(List.of("ID", "RPC", "DISCOVERY", "STATE", "EPOCH", "UPTIME", "CPU", "HEAP", "RTT"), rows);
    }

    static String uptime(long ms) {
        if (ms < 0) {
            return "-";
        }
        long s = ms / 1000;
        return s < 60 ? s + "s" : s < 3600 ? (s / 60) + "m" + (s % 60) + "s" : (s / 3600) + "h" + (s % 3600 / 60) + "m";
    }

    /** {@code krg nodes remove ID}: graceful removal. */
    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Removes a node gracefully: the others run their leave hooks, then it stops.")
    static final class Remove implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Parameters(paramLabel = "ID", description = "the node to remove")
        int id;

        @Override
        public Integer call() throws Exception {
            try (RpcClient seed = tool.connect()) {
                NodeAdmin.ClusterStatus s = NodeAdmin.status(seed, Duration.ofSeconds(10));
                NodeStatus target = s.nodes().stream().filter(n -> n.nodeId() == id && n.live()).findFirst().orElseThrow(
                        () -> new IllegalArgumentException("ID: no live node " + id + " in the cluster (epoch " + s.epoch() + ")"));
                try (RpcClient c = tool.connect(HostAndPort.parse(target.rpcAddress()))) {
                    NodeAdmin.stop(c, "removed by krg nodes remove", Duration.ofSeconds(10));
                }
                if (id != seed.server()) {
                    NodeAdmin.ClusterStatus now = NodeAdmin.awaitGone(seed, id, Duration.ofSeconds(20));
                    if (now != null) {
                        System.out.println("node " + id + " left; epoch " + now.epoch());
                        return 0;
                    }
                    System.err.println("node " + id + " was asked to leave but is still listed after 20 s");
                    return 1;
                }
                System.out.println("node " + id + " asked to leave");
            }
            return 0;
        }
    }
}
