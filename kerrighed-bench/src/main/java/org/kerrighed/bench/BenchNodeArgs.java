package org.kerrighed.bench;

import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;

import java.nio.file.Path;
import java.util.List;

/**
 * The Kerrighed side of a bench node JVM's arguments, as {@link BenchCluster} gives them: {@code CLUSTER
 * SECRET-FILE ID SEED|-} first, the storage directory at an index that depends on what else the node runs
 * ({@code STORAGE} at 4 alone, after {@code HZ-CLUSTER HZ-SEED|-} at 6 beside a Hazelcast member).
 */
final class BenchNodeArgs {
    private BenchNodeArgs() {
    }

    /** The node's configuration: JMX off, the first node with no seed. */
    static NodeConfig.Builder config(String[] args, int storageArg) {
        NodeConfig.Builder b = NodeConfig.builder().clusterName(args[0]).secretFile(Path.of(args[1]))
                .nodeId(Integer.parseInt(args[2])).jmx(false).storageDir(Path.of(args[storageArg]));
        if (!args[3].equals("-")) {
            b.seeds(List.of(HostAndPort.parse(args[3])));
        }
        return b;
    }

    /**
     * Prints the READY line {@link BenchCluster} waits for ({@code READY id rpc-address} and {@code more}), then
     * keeps the JVM until the parent ends it.
     */
    static void serve(Node node, String more) throws InterruptedException {
        System.out.println("READY " + node.id() + " " + node.rpc().address() + (more.isEmpty() ? "" : " " + more));
        System.out.flush();
        Thread.currentThread().join();
    }
}
