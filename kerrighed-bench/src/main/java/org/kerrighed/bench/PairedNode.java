package org.kerrighed.bench;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * A bench node JVM's two members: a Kerrighed node and a Hazelcast member of the peer's cluster, started from the
 * arguments {@link BenchCluster} gives ({@code CLUSTER SECRET-FILE ID SEED|- HZ-CLUSTER HZ-SEED|- STORAGE}).
 */
record PairedNode(int id, Node node, HazelcastInstance hz) {
    /**
     * Joins both clusters at once (JVM start-up and the joins dominate a benchmark's set-up); the JVM exits with its
     * parent. {@code hazelcast} makes the member's configuration from its cluster name and seed (null: the first).
     */
    static PairedNode start(String[] args, BiFunction<String, String, Config> hazelcast, TypeRegistrar... types)
            throws Exception {
        ChildJvm.exitWhenParentDies();
        int id = Integer.parseInt(args[2]);
        NodeConfig.Builder b = NodeConfig.builder().clusterName(args[0]).secretFile(Path.of(args[1])).nodeId(id)
                .jmx(false).storageDir(Path.of(args[6]));
        if (!args[3].equals("-")) {
            b.seeds(List.of(HostAndPort.parse(args[3])));
        }
        long t0 = System.nanoTime();
        CompletableFuture<HazelcastInstance> peer = CompletableFuture.supplyAsync(() -> {
            HazelcastInstance h = Hazelcast.newHazelcastInstance(hazelcast.apply(args[4],
                    args[5].equals("-") ? null : args[5]));
            System.out.printf("hazelcast member started in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            return h;
        }, r -> Thread.ofPlatform().name("bench-hazelcast-start").start(r));
        Node node = Kerrighed.join(b.build(), types);
        System.out.printf("kerrighed node joined in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        return new PairedNode(id, node, peer.get(120, TimeUnit.SECONDS));
    }

    /** Prints the READY line {@link BenchCluster} waits for, then keeps the JVM until the parent ends it. */
    void serve() throws InterruptedException {
        System.out.printf("ready %d ms after the JVM started%n",
                java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
        System.out.println("READY " + id + " " + node.rpc().address() + " " + HazelcastPeer.address(hz));
        System.out.flush();
        Thread.currentThread().join();
    }
}
