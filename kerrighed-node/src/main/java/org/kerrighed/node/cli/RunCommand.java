package org.kerrighed.node.cli;

import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.node.AppLauncher;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.jar.JarFile;

/**
 * {@code krg run}: ships an application JAR to the cluster and runs one of its classes as a process. Options come
 * before the JAR: everything after the main class is the process's arguments ({@link Krg} stops option parsing at
 * the first positional parameter of this command).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs MAIN of APP.JAR as a process of the cluster: sends the JAR to the node (unless it",
                "holds it already), prints the process id, waits for the process to end and exits with its",
                "exit code. MAIN implements org.kerrighed.epm.Program or has a static main(String[]).",
                "Options go before APP.JAR; what follows MAIN is passed to the process."})
final class RunCommand implements Callable<Integer> {
    @Mixin
    ToolOptions tool;

    @Option(names = "--node", paramLabel = "N", description = "run on node N (default: the cluster's placement picks)")
    Integer node;

    @Option(names = "--caps", paramLabel = "SPEC",
            description = {"the process's effective capabilities, edited from the default",
                    "(CHANGE_KERRIGHED_CAP,USE_REMOTE_MEMORY): +DISTANT_FORK, -USE_REMOTE_MEMORY, a list or an octal mask"})
    String caps;

    @Option(names = "--no-wait", description = "print the process id and return at once (the process is detached)")
    boolean noWait;

    @Parameters(index = "0", paramLabel = "APP.JAR", description = "the application JAR")
    Path jar;

    @Parameters(index = "1", paramLabel = "MAIN", description = "the class to run (binary name)")
    String mainClass;

    @Parameters(index = "2..*", paramLabel = "ARG", description = "the process's arguments")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        checkJar();
        if (node != null && (node < 0 || node > 255)) {
            throw new IllegalArgumentException("--node: must be in 0-255, got " + node);
        }
        if (caps != null) {
            try {
                AppLauncher.capabilities(caps);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--caps: " + e.getMessage());
            }
        }
        Duration timeout = tool.nodeConfig().toRpcConfig(-1).defaultCallTimeout();
        AppLauncher.Ended end;
        int[] pid = new int[1];
        try (RpcClient c = tool.connect()) {
            end = AppLauncher.run(c, jar, mainClass, args, node == null ? SpawnOptions.ANY_NODE : node, caps, !noWait,
                    timeout, (p, sent) -> {
                        if (sent) {
                            System.err.println("krg run: sent " + jar + " to node " + c.server());
                        }
                        pid[0] = p.pid();
                        System.out.println("process " + p.pid() + " on node " + p.node());
                        System.out.flush();
                    });
        } catch (RemoteException e) {
            throw local(e);
        }
        if (end == null) {
            return 0;
        }
        System.out.println("process " + pid[0] + " " + end.status());
        return end.code();
    }

    private void checkJar() {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("APP.JAR: no such file: " + jar);
        }
        try (JarFile j = new JarFile(jar.toFile())) {
            j.entries().hasMoreElements();
        } catch (IOException e) {
            throw new IllegalArgumentException("APP.JAR: " + jar + " is not a readable JAR file (" + e.getMessage() + ")");
        }
    }

    /** The node's refusal as this tool reports it: a bad argument (exit 2) or a failure (exit 1), without the prefix. */
    private static RuntimeException local(RemoteException e) {
        String prefix = "node " + e.peer() + ": " + e.remoteType() + ": ";
        String m = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
        if (e.remoteType().equals(IllegalArgumentException.class.getName())) {
            return new IllegalArgumentException(m);
        }
        return new KerrighedException("node " + e.peer() + ": " + m);
    }
}
