package org.kerrighed.bench;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.TypeRegistrar;

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
        NodeConfig.Builder b = BenchNodeArgs.config(args, 6);
        long t0 = System.nanoTime();
        CompletableFuture<HazelcastInstance> peer = CompletableFuture.supplyAsync(() -> {
            HazelcastInstance h = Hazelcast.newHazelcastInstance(hazelcast.apply(args[4],
                    args[5].equals("-") ? null : args[5]));
            System.out.printf("hazelcast member started in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            return h;
        }, r -> Thread.ofPlatform().name("bench-hazelcast-start").start(r));
        Node node = Kerrighed.join(b.build(), types);
        System.out.printf("kerrighed node joined in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        return new PairedNode(node.id(), node, peer.get(120, TimeUnit.SECONDS));
    }

    /** Prints the READY line {@link BenchCluster} waits for, then keeps the JVM until the parent ends it. */
    void serve() throws InterruptedException {
        System.out.printf("ready %d ms after the JVM started%n",
                java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
        BenchNodeArgs.serve(node, HazelcastPeer.address(hz));
    }
}
