package org.kerrighed.bench;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.ServiceKey;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The node JVMs of one benchmark run (ids 1..n, started one after the other: on a busy machine JVMs that start and
 * join together take longer) and a tool connection to each, through which the benchmark sends its node class's
 * control commands ({@code long[]} in, {@code long[]} out). Closing kills the JVMs.
 *
 * <p>A node class takes {@code CLUSTER SECRET-FILE NODE-ID KRG-SEED|- [HZ-CLUSTER HZ-SEED|-] STORAGE-DIR} (the
 * Hazelcast pair when the run has a Hazelcast peer), prints {@code READY node-id rpc-address [hazelcast-address]}
 * once joined, and answers control command 0 with {@code {kerrighed members, hazelcast members, ...}}.
 */
final class BenchCluster implements AutoCloseable {
    static final int STATUS = 0;

    private final int nodes;
    private final boolean hazelcast;
    private final ServiceKey<long[], long[]> control;
    private final Duration timeout;
    private final List<ChildJvm> jvms = new ArrayList<>();
    private final RpcClient[] clients;

    /**
     * Starts {@code nodes} JVMs of {@code mainClass} with {@code jvmFlags}, logs and storage under {@code dir}, and
     * waits until every node sees all the others (and every Hazelcast member, with {@code hazelcast}).
     */
    BenchCluster(String bench, Class<?> mainClass, int nodes, List<String> jvmFlags, boolean hazelcast,
                 ServiceKey<long[], long[]> control, Duration timeout, Path dir, Progress progress) throws Exception {
        this(bench, mainClass, nodes, n -> List.of(), jvmFlags, hazelcast, control, timeout, dir, progress);
    }

    /**
     * The same, each node's JVM started under {@code launcher.apply(id)} (a command that {@code exec}s the JVM, such
     * as {@code taskset -c CORE}; empty for none).
     */
    BenchCluster(String bench, Class<?> mainClass, int nodes, IntFunction<List<String>> launcher, List<String> jvmFlags,
                 boolean hazelcast, ServiceKey<long[], long[]> control, Duration timeout, Path dir, Progress progress)
            throws Exception {
        this.nodes = nodes;
        this.hazelcast = hazelcast;
        this.control = control;
        this.timeout = timeout;
        this.clients = new RpcClient[nodes + 1];
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Path secretFile = dir.resolve("secret");
        Files.writeString(secretFile, Base64.getEncoder().encodeToString(secret));
        String cluster = "bench-" + bench + "-" + Long.toHexString(new SecureRandom().nextLong() >>> 1);
        try {
            progress.say("starting %d node JVMs%s", nodes, hazelcast ? " (each: a Kerrighed node and a Hazelcast member)"
                    : "");
            String[][] ready = new String[nodes + 1][];
            for (int n = 1; n <= nodes; n++) {
                List<String> args = new ArrayList<>(List.of(cluster, secretFile.toString(), Integer.toString(n),
                        n == 1 ? "-" : ready[1][2]));
                if (hazelcast) {
                    args.addAll(List.of(cluster + "-hz", n == 1 ? "-" : ready[1][3]));
                }
                args.add(dir.resolve("storage-" + n).toString());
                ChildJvm j = ChildJvm.start(bench + "-bench-node-" + n, launcher.apply(n), mainClass.getName(), jvmFlags,
                        args, dir);
                jvms.add(j);
                ready[n] = j.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(120)).split(" ");
            }
            NodeConfig tool = NodeConfig.builder().clusterName(cluster).secretFile(secretFile).jmx(false).build();
            for (int n = 1; n <= nodes; n++) {
                clients[n] = NodeAdmin.connect(tool, HostAndPort.parse(ready[n][2]));
            }
            awaitFormed();
            progress.say("cluster formed: %d Kerrighed nodes%s", nodes, hazelcast ? " and as many Hazelcast members"
                    : "");
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /** Waits (at most 60 s) until every node's KDDM (and Hazelcast member) sees all the others. */
    private void awaitFormed() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int n = 1; n <= nodes; n++) {
            while (true) {
                long[] s = call(n, STATUS);
                if (s[0] == nodes && (!hazelcast || s[1] == nodes)) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("node " + n + " sees " + s[0] + " Kerrighed members"
                            + (hazelcast ? " and " + s[1] + " Hazelcast members" : "") + " after 60 s, expected "
                            + nodes);
                }
                Thread.sleep(100);
            }
        }
    }

    CompletableFuture<long[]> callAsync(int node, long... args) {
        return clients[node].call(control, args, timeout);
    }

    long[] call(int node, long... args) throws Exception {
        return get(callAsync(node, args));
    }

    /** The reply of a control call (bounded by the control timeout). */
    long[] get(CompletableFuture<long[]> f) throws Exception {
        return f.get(timeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
    }

    /** The replies of several control calls, in order. */
    List<long[]> all(List<CompletableFuture<long[]>> fs) throws Exception {
        List<long[]> out = new ArrayList<>();
        for (CompletableFuture<long[]> f : fs) {
            out.add(get(f));
        }
        return out;
    }

    @Override
    public void close() {
        for (RpcClient c : clients) {
            if (c != null) {
                c.close();
            }
        }
        jvms.forEach(ChildJvm::kill);
        for (ChildJvm j : jvms) {
            try {
                j.waitFor(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
