package org.kerrighed.node.cli;

import org.kerrighed.node.DemoWorkload;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code krg node ...}: this machine's node. */
@Command(name = "node", mixinStandardHelpOptions = true, description = "Runs a node of the cluster.",
        subcommands = NodeCommand.Start.class)
final class NodeCommand {

    /** {@code krg node start}: one node in the foreground until it is stopped. */
    @Command(name = "start", mixinStandardHelpOptions = true,
            description = {"Starts a node in the foreground: a new cluster, or joins one with --join.",
                    "Stops cleanly on Ctrl-C, SIGTERM, 'krg nodes remove' or 'krg cluster stop'."})
    static final class Start implements Callable<Integer> {
        @Mixin
        ClusterOptions options;

        @Option(names = "--id", paramLabel = "ID", description = "node id 0-255 (default: assigned on join)")
        Integer id;

        @Option(names = "--bind", paramLabel = "HOST:PORT", description = "RPC bind address (port 0: ephemeral)")
        String bind;

        @Option(names = "--advertise", paramLabel = "HOST:PORT", description = "address peers dial, if it differs")
        String advertise;

        @Option(names = "--membership-bind", paramLabel = "HOST:PORT", description = "discovery (Hazelcast) bind address")
        String membershipBind;

        @Option(names = {"--join", "--seed"}, paramLabel = "HOST:PORT",
                description = "RPC address of a running node to join through (repeatable)")
        List<String> join = new ArrayList<>();

        @Option(names = "--exit-on-stdin-eof", description = "exit when standard input closes (set by launchers)")
        boolean exitOnStdinEof;

        @Option(names = "--demo-workload",
                description = "create the demo's KDDM set of shared counters and serve its workload (set by krg demo)")
        boolean demoWorkload;

        @Override
        public Integer call() throws Exception {
            if (exitOnStdinEof) {
                ChildJvm.exitWhenParentDies();
            }
            NodeConfig.Builder b = options.builder();
            if (id != null) {
                if (id < 0 || id > 255) {
                    throw new IllegalArgumentException("--id: must be in 0-255, got " + id);
                }
                b.nodeId(id);
            }
            if (bind != null) {
                b.bind(ToolOptions.parseAddress("--bind", bind));
            }
            if (advertise != null) {
                b.advertise(ToolOptions.parseAddress("--advertise", advertise));
            }
            if (membershipBind != null) {
                b.membershipBind(ToolOptions.parseAddress("--membership-bind", membershipBind));
            }
            if (!join.isEmpty()) {
                List<HostAndPort> seeds = new ArrayList<>();
                for (String j : join) {
                    seeds.add(ToolOptions.parseAddress("--join", j));
                }
                b.seeds(seeds);
            }
            NodeConfig c = b.build();
            Node node = Kerrighed.join(c);
            if (demoWorkload) {
                DemoWorkload.install(node);
                node.onRejoin(DemoWorkload::install);
            }
            Thread hook = Thread.ofPlatform().unstarted(node::close);
            Runtime.getRuntime().addShutdownHook(hook);
            // one write for the whole line (printf writes piecewise): tools wait for it, and log lines from other
            // threads on the same pipe must not land inside it
            System.out.print(String.format("node %d online: rpc=%s discovery=%s cluster=%s epoch=%d members=%s%n",
                    node.id(), node.rpc().address(), node.membership().discoveryAddress(), c.clusterName(),
                    node.view().epoch(), node.view().nodeIds()));
            System.out.flush();
            node.onRejoin(n -> {
                System.out.print(String.format("node %d rejoined: rpc=%s epoch=%d%n", n.id(), n.rpc().address(),
                        n.view().epoch()));
                System.out.flush();
            });
            while (!node.awaitStop(Duration.ofSeconds(1))) {
                // serve until stopped
            }
            System.out.printf("node stopped%s%n", node.stopReason() == null ? "" : ": " + node.stopReason());
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
            return 0;
        }
    }
}
