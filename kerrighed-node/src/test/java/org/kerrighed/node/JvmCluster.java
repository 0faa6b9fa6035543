package org.kerrighed.node;

import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A cluster of nodes in separate JVMs on loopback, for crash tests: ephemeral ports, bounded waits, logs
 * kept under target/ when a test fails, and every child killed on close (and by the kernel's pipe if this
 * JVM dies).
 */
final class JvmCluster implements TestCluster {
    final String cluster = "jvm-" + Long.toHexString(new SecureRandom().nextLong() >>> 1);
    final Path secretFile;
    final Path logs;
    final Map<Integer, ChildJvm> jvms = new TreeMap<>();
    final Map<Integer, HostAndPort> addresses = new TreeMap<>();
    private final Class<?> mainClass;
    private int restarts;

    JvmCluster(String testName) throws IOException {
        this(testName, TestNodeMain.class);
    }

    /** A cluster whose nodes run {@code mainClass} (same arguments and ONLINE line as {@link TestNodeMain}). */
    JvmCluster(String testName, Class<?> mainClass) throws IOException {
        this.mainClass = mainClass;
        logs = Path.of("target", "jvm-logs", testName + "-" + System.currentTimeMillis());
        Files.createDirectories(logs);
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        secretFile = logs.resolve("secret");
        Files.writeString(secretFile, Base64.getEncoder().encodeToString(secret));
    }

    /**
     * Starts a node with id {@code id}, joining through the lowest-numbered live node unless it is the first
     * (a node started again after it died gets a log of its own).
     */
    ChildJvm start(int id, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of(cluster, secretFile.toString(), Integer.toString(id)));
        for (var a : addresses.entrySet()) {
            if (a.getKey() != id && jvms.get(a.getKey()).isAlive()) {
                args.add(a.getValue().toString());
                break;
            }
        }
        args.addAll(List.of(extra));
        String name = jvms.containsKey(id) ? "node-" + id + "-" + (++restarts) : "node-" + id;
        ChildJvm j = ChildJvm.start(name, mainClass.getName(),
                List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), args, logs);
        jvms.put(id, j);
        String line = j.awaitLine(l -> l.startsWith("ONLINE "), Duration.ofSeconds(60));
        addresses.put(id, HostAndPort.parse(line.split(" ")[2]));
        return j;
    }

    @Override
    public void startNode(int id) throws Exception {
        start(id);
    }

    /** SIGKILL. */
    @Override
    public void crash(int id) {
        jvms.get(id).kill();
    }

    @Override
    public String toString() {
        return "JVMs, logs in " + logs;
    }

    ChildJvm jvm(int id) {
        return jvms.get(id);
    }

    NodeConfig toolConfig() {
        return NodeConfig.builder().clusterName(cluster).secretFile(secretFile).jmx(false).build();
    }

    /** Connects a tool to node {@code id}. */
    @Override
    public RpcClient tool(int id) {
        return NodeAdmin.connect(toolConfig(), addresses.get(id));
    }

    /** A configuration for a node in this (test) JVM that joins through node 0. */
    NodeConfig memberConfig() {
        return NodeConfig.builder().clusterName(cluster).secretFile(secretFile).jmx(false)
                .seeds(List.of(addresses.values().iterator().next())).build();
    }

    @Override
    public void close() {
        for (ChildJvm j : jvms.values()) {
            j.terminate(Duration.ofSeconds(3));
        }
    }
}
