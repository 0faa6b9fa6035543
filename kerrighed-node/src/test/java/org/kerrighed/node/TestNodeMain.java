package org.kerrighed.node;

import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.ServiceKey;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A node in a JVM of its own for the crash tests: {@code CLUSTER SECRET-FILE ID|auto [JOIN-ADDRESS] [--burn N]}.
 * Prints {@code ONLINE id rpc-address} when joined and {@code REJOINED id rpc-address} after a fencing.
 */
public final class TestNodeMain {
    /** Blocks for the number of milliseconds asked (a call that is pending when the node dies). */
    public static final ServiceKey<Long, Long> HANG = ServiceKey.of(980, "test.hang", Long.class, Long.class);

    private TestNodeMain() {
    }

    static void serve(Node node) {
        node.rpc().register(HANG, HandlerKind.BLOCKING, (ctx, ms) -> {
            Thread.sleep(ms);
            return ms;
        });
    }

    public static void main(String[] args) throws Exception {
        ChildJvm.exitWhenParentDies();
        NodeConfig.Builder b = NodeConfig.builder().clusterName(args[0]).secretFile(Path.of(args[1]))
                .nodeId(args[2].equals("auto") ? -1 : Integer.parseInt(args[2]));
        List<HostAndPort> seeds = new ArrayList<>();
        int burn = 0;
        for (int i = 3; i < args.length; i++) {
            if (args[i].equals("--burn")) {
                burn = Integer.parseInt(args[++i]);
            } else {
                seeds.add(HostAndPort.parse(args[i]));
            }
        }
        Node node = Kerrighed.join(b.seeds(seeds).jmx(false).build());
        serve(node);
        node.onRejoin(n -> {
            serve(n);
            System.out.println("REJOINED " + n.id() + " " + n.rpc().address());
        });
        System.out.println("ONLINE " + node.id() + " " + node.rpc().address());
        for (int t = 0; t < burn; t++) {
            Thread.ofPlatform().daemon().start(() -> {
                long x = 0;
                while (true) {
                    x += System.nanoTime() % 7;   // saturate a core with user work
                    if (x == 42) {
                        System.out.print("");
                    }
                }
            });
        }
        while (!node.awaitStop(Duration.ofSeconds(1))) {
            // serve until stopped or killed
        }
    }
}
