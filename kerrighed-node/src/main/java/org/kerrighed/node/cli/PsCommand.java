package org.kerrighed.node.cli;

import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code krg ps}: the cluster's processes. */
@Command(name = "ps", mixinStandardHelpOptions = true,
        description = "Lists the cluster's processes (and zombies), sorted by pid: pid, parent, group, node, uid,"
                + " state (R running, S sleeping, T stopped, Z zombie, M migrating; +K: KILL pending), CPU time,"
                + " memory allocated, effective capabilities (C change, M migrate, F distant fork, K checkpoint,"
                + " R remote memory, S local stats) and command.")
final class PsCommand implements Callable<Integer> {
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Mixin
    ToolOptions tool;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @Option(names = "--node", paramLabel = "N", description = "only the processes running on node N")
    Integer node;

    @Override
    public Integer call() {
        if (node != null && (node < 0 || node > 255)) {
            throw new IllegalArgumentException("--node: must be 0-255, got " + node);
        }
        List<ProcessInfo> all;
        try (RpcClient c = tool.connect()) {
            try {
                all = ProcessAdmin.ps(c, node == null ? -1 : node, TIMEOUT);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--node: " + e.getMessage());   // the node's only refusal
            }
        }
        if (json) {
            List<Object> rows = new ArrayList<>();
            for (ProcessInfo p : all) {
                rows.add(Processes.toMap(p));
            }
            System.out.println(Output.json(rows));
        } else {
            System.out.print(Processes.table(all));
        }
        return 0;
    }
}
