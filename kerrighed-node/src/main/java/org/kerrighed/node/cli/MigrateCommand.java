package org.kerrighed.node.cli;

import org.kerrighed.epm.MigrationReport;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code krg migrate}: moves a running process to another node (Kerrighed's {@code migrate PID NODE}). A refusal
 * (no such process, no permission, no {@code CAN_MIGRATE}, a move that failed) reaches {@link Krg}'s handler as the
 * process layer's exception: exit code 1 with its message; a target that is not a live node is a usage error (2).
 */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = {"Moves a running process to another node and prints how long each phase took.",
                "The process stops at its next safe point (between two steps of a StepProgram; at ctx.safepoint()"
                        + " or a blocking runtime call of a main-shaped program), travels as a ghost and goes on on"
                        + " NODE with the same pid, children, signals and held locks.",
                "It needs CAN_MIGRATE in its effective capabilities (krg capset -k PID -e +CAN_MIGRATE).",
                "Exit code 1 when it was not moved (no such process, no CAN_MIGRATE, no safe point in time, state"
                        + " that cannot travel, the target failed): it then goes on where it was."})
final class MigrateCommand implements Callable<Integer> {
    /**
     * How long the tool waits for the node's answer: the node bounds the move itself (its safe point, then the
     * move, within eleven call timeouts: 5.5 minutes at the default 30 s, up to three more when the node it asks
     * forwards the request), so this only guards against a node that never answers.
     */
    static final Duration TIMEOUT = Duration.ofMinutes(8);

    @Mixin
    ToolOptions tool;

    @Parameters(index = "0", paramLabel = "PID", description = "the process to move")
    int pid;

    @Parameters(index = "1", paramLabel = "NODE", description = "the node to move it to")
    int node;

    @Option(names = "--json", description = "print the migration report as JSON")
    boolean json;

    @Override
    public Integer call() {
        if (pid <= 1) {
            throw new IllegalArgumentException("PID: a process id is greater than 1, got " + pid);
        }
        if (node < 0 || node > 255) {
            throw new IllegalArgumentException("NODE: must be 0-255, got " + node);
        }
        MigrationReport r;
        try (RpcClient c = tool.connect()) {
            r = ProcessAdmin.migrate(c, pid, node, TIMEOUT);
        }
        System.out.println(json ? Output.json(toMap(r)) : Processes.migrationLine(r));
        return 0;
    }

    static Map<String, Object> toMap(MigrationReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", r.pid());
        m.put("from", r.from());
        m.put("to", r.to());
        m.put("bytes", r.bytes());
        m.put("safepointMillis", r.safepoint());
        m.put("exportMillis", r.export());
        m.put("transferMillis", r.transfer());
        m.put("commitMillis", r.commit());
        m.put("totalMillis", r.total());
        return m;
    }
}
