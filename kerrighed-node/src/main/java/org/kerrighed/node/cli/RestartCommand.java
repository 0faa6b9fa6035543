package org.kerrighed.node.cli;

import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code krg restart}: restarts an application from a checkpoint on the file system of the node the tool talks to
 * (Kerrighed's {@code restart}). A checkpoint refused (not one, corrupted, truncated, of another format or
 * cluster), a pid in use without {@code --new-pids} or a node that failed reaches {@link Krg}'s handler as the
 * process layer's exception: exit code 1 with its message, and nothing is started. A directory that does not
 * exist on the node, or a node that is not live, is a usage error (2).
 */
@Command(name = "restart", mixinStandardHelpOptions = true,
        description = {"Restarts an application from a checkpoint written by krg checkpoint.",
                "DIR is on the file system of the node the tool talks to: a version directory (.../PID/vN), or an"
                        + " application's directory (.../PID) for its newest complete version. That node reads and"
                        + " checks every file first, then rebuilds every process and starts them together: each goes"
                        + " on from its saved state, on its old node when it is allowed and alive, else on the allowed"
                        + " nodes in turn. The root becomes a child of INIT on that node.",
                "Prints the root process and, for each process, its old pid, its pid now and its node.",
                "Exit code 1 when nothing was started: a checkpoint that is not one or is corrupted, a pid in use"
                        + " (give --new-pids), a node that failed."})
final class RestartCommand implements Callable<Integer> {
    /** How long the tool waits for the node's answer (the node bounds each step by its call timeout). */
    static final Duration TIMEOUT = Duration.ofMinutes(4);

    @Mixin
    ToolOptions tool;

    @Parameters(index = "0", paramLabel = "DIR",
            description = "a checkpoint version directory, or an application's directory for its newest version;"
                    + " a relative path is taken from this tool's working directory")
    Path dir;

    @Option(names = "--nodes", paramLabel = "N", split = ",",
            description = "the nodes to run the processes on (default: any live node)")
    List<Integer> nodes = new ArrayList<>();

    @Option(names = "--new-pids", description = "take new pids for processes whose old pid is in use (default:"
            + " refuse); a program's fields that hold pids keep the old values")
    boolean newPids;

    @Option(names = "--json", description = "print what was restarted as JSON")
    boolean json;

    @Override
    public Integer call() {
        for (int n : nodes) {
            if (n < 0 || n > 255) {
                throw new IllegalArgumentException("--nodes: a node id is 0-255, got " + n);
            }
        }
        ProcessAdmin.RestartDone r;
        try (RpcClient c = tool.connect()) {
            r = ProcessAdmin.restart(c, new ProcessAdmin.RestartRequest(dir.toAbsolutePath().normalize().toString(),
                    nodes, newPids), TIMEOUT);
        }
        System.out.print(json ? Output.json(toMap(r)) + "\n" : Processes.restartText(r));
        return 0;
    }

    static Map<String, Object> toMap(ProcessAdmin.RestartDone r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("app", r.app());
        m.put("directory", r.directory());
        m.put("node", r.node());
        m.put("root", r.root());
        m.put("rootNode", r.rootNode());
        List<Map<String, Object>> processes = new ArrayList<>();
        r.pids().forEach((old, now) -> {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("oldPid", old);
            p.put("pid", now);
            p.put("node", r.nodes().get(now));
            processes.add(p);
        });
        m.put("processes", processes);
        return m;
    }
}
