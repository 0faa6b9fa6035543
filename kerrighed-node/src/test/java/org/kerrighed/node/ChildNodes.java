package org.kerrighed.node;

import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** What the crash tests' node mains share: {@code CLUSTER SECRET-FILE ID [JOIN-ADDRESS...]} to a joined node. */
final class ChildNodes {
    private ChildNodes() {
    }

    /** Exits with the parent JVM, joins with a 10 s call timeout and no JMX, registering {@code types}. */
    static Node join(String[] args, TypeRegistrar... types) {
        return join(args, b -> b, types);
    }

    /** Like {@link #join(String[], TypeRegistrar...)}, with {@code tweak} applied to the configuration. */
    static Node join(String[] args, java.util.function.UnaryOperator<NodeConfig.Builder> tweak,
                     TypeRegistrar... types) {
        ChildJvm.exitWhenParentDies();
        NodeConfig.Builder b = NodeConfig.builder().clusterName(args[0]).secretFile(Path.of(args[1]))
                .nodeId(Integer.parseInt(args[2])).callTimeout(Duration.ofSeconds(10));
        List<HostAndPort> seeds = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            seeds.add(HostAndPort.parse(args[i]));
        }
        return Kerrighed.join(tweak.apply(b.seeds(seeds).jmx(false)).build(), types);
    }

    /** Prints the ONLINE line the test waits for, then serves until the node is stopped or killed. */
    static void serveUntilStopped(Node node) throws InterruptedException {
        System.out.println("ONLINE " + node.id() + " " + node.rpc().address());
        while (!node.awaitStop(Duration.ofSeconds(1))) {
            // serve until stopped or killed
        }
    }
}
