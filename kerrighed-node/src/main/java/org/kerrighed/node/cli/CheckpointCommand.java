package org.kerrighed.node.cli;

import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code krg checkpoint}: checkpoints the application rooted at a process (Kerrighed's {@code checkpoint PID}) to
 * the file system of the node the tool talks to, which acts for itself. A refusal (no such process, a process
 * without {@code CHECKPOINTABLE}, no permission, a process not frozen in time, a shared object with
 * {@code --refuse-shared}) reaches {@link Krg}'s handler as the process layer's exception: exit code 1 with its
 * message, and the application goes on.
 */
@Command(name = "checkpoint", mixinStandardHelpOptions = true,
        description = {"Checkpoints an application: process PID and all its descendants, on every node.",
                "The node the tool talks to freezes each process at its next safe point (between two steps of a"
                        + " StepProgram; at ctx.safepoint() or a blocking runtime call of a main-shaped program),"
                        + " writes their ghosts, and the segments and pipes only the application uses, to"
                        + " DIR/PID/vN on its own file system, then lets the application go on (or kills it with"
                        + " --kill).",
                "Every process needs CHECKPOINTABLE in its effective capabilities (spawn the root with it: children"
                        + " inherit it).",
                "Start it again with krg restart DIR/PID/vN, or krg restart DIR/PID for the newest version.",
                "Exit code 1 when it was not checkpointed (no such process, a process without CHECKPOINTABLE, no"
                        + " permission, a process that could not be frozen, a shared object with --refuse-shared):"
                        + " the application then goes on."})
final class CheckpointCommand implements Callable<Integer> {
    /**
     * How long the tool waits for the node's answer: the node bounds the freeze itself (each process's safe point
     * by its call timeout, 30 s by default), then writes and syncs the files.
     */
    static final Duration TIMEOUT = Duration.ofMinutes(4);

    @Mixin
    ToolOptions tool;

    @Parameters(index = "0", paramLabel = "PID", description = "the application's root process")
    int pid;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "where checkpoints go, on the node's file system (default: its <storage>/checkpoints);"
                    + " a relative path is taken from this tool's working directory")
    Path dir;

    @Option(names = "--kill", description = "end the application (KILL) once it is saved")
    boolean kill;

    @Option(names = "--refuse-shared", description = "refuse the checkpoint when a segment or pipe the application"
            + " uses is also used outside it (default: leave such an object out and say so)")
    boolean refuseShared;

    @Option(names = "--description", paramLabel = "TEXT", description = "free text stored in the manifest")
    String description;

    @Option(names = "--json", description = "print the checkpoint report as JSON")
    boolean json;

    @Override
    public Integer call() {
        if (pid <= 1) {
            throw new IllegalArgumentException("PID: a process id is greater than 1, got " + pid);
        }
        String directory = dir == null ? null : dir.toAbsolutePath().normalize().toString();
        CheckpointReport r;
        try (RpcClient c = tool.connect()) {
            r = ProcessAdmin.checkpoint(c, new ProcessAdmin.CheckpointRequest(pid, directory, kill, refuseShared,
                    description), TIMEOUT);
        }
        System.out.println(json ? Output.json(toMap(r, kill)) : Processes.checkpointLines(r, kill));
        return 0;
    }

    static Map<String, Object> toMap(CheckpointReport r, boolean killed) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("app", r.app());
        m.put("version", r.version());
        m.put("directory", r.directory().toString());
        m.put("pids", r.pids());
        m.put("nodes", r.nodes());
        m.put("bytes", r.bytes());
        m.put("freezeMillis", r.freeze());
        m.put("writeMillis", r.write());
        m.put("totalMillis", r.total());
        m.put("leftOut", r.leftOut());
        m.put("killed", killed);
        return m;
    }
}
