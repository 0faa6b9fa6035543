package org.kerrighed.node.cli;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeStatus;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code krg cluster ...}: the whole cluster. */
@Command(name = "cluster", mixinStandardHelpOptions = true, description = "Acts on the whole cluster.",
        subcommands = ClusterCommand.Stop.class)
final class ClusterCommand {

    /** {@code krg cluster stop}: every node leaves and stops, the one asked last. */
    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stops every node cleanly.")
    static final class Stop implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Override
        public Integer call() throws Exception {
            List<NodeStatus> order = new ArrayList<>();
            try (RpcClient seed = tool.connect()) {
                NodeAdmin.ClusterStatus s = NodeAdmin.status(seed, Duration.ofSeconds(10));
                for (NodeStatus n : s.nodes()) {
                    if (n.live()) {
                        if (n.nodeId() == seed.server()) {
                            order.addLast(n);
                        } else {
                            order.addFirst(n);
                        }
                    }
                }
            }
            // One at a time, each gone from the view before the next is asked: every leave is graceful.
            int failures = 0;
            for (int i = 0; i < order.size(); i++) {
                NodeStatus n = order.get(i);
                try (RpcClient c = tool.connect(HostAndPort.parse(n.rpcAddress()))) {
                    NodeAdmin.stop(c, "krg cluster stop", Duration.ofSeconds(10));
                    System.out.println("node " + n.nodeId() + " stopping");
                } catch (Exception e) {
                    failures++;
                    System.err.println("node " + n.nodeId() + ": " + Krg.rootMessage(e));
                    continue;
                }
                if (i < order.size() - 1) {
                    awaitGone(HostAndPort.parse(order.getLast().rpcAddress()), n.nodeId());
                }
            }
            return failures == 0 ? 0 : 1;
        }

        private void awaitGone(HostAndPort last, int id) throws InterruptedException {
            try (RpcClient c = tool.connect(last)) {
                NodeAdmin.awaitGone(c, id, Duration.ofSeconds(20));
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                System.err.println("cannot follow node " + id + "'s departure: " + Krg.rootMessage(e));
            }
        }
    }
}
