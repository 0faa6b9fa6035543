package org.kerrighed.node;

import org.kerrighed.rpc.RpcClient;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Nodes in this JVM on loopback: real sockets, real Hazelcast, each with its own threads. */
final class InProcessNodes implements TestCluster {
    private final NodeConfig template;
    private final Map<Integer, Node> nodes = new TreeMap<>();

    InProcessNodes() {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        template = NodeConfig.builder().clusterName("inproc-" + Long.toHexString(new SecureRandom().nextLong() >>> 1))
                .secret(Base64.getEncoder().encodeToString(secret)).jmx(false).build();
    }

    @Override
    public synchronized void startNode(int id) {
        NodeConfig.Builder b = template.toBuilder().nodeId(id);
        if (!nodes.isEmpty()) {
            b.seeds(List.of(nodes.values().iterator().next().rpc().address()));
        }
        nodes.put(id, Kerrighed.join(b.build()));
    }

    @Override
    public synchronized RpcClient tool(int id) {
        return NodeAdmin.connect(template, nodes.get(id).rpc().address());
    }

    /** Halts the node: its sockets close and it runs no leave protocol. */
    @Override
    public synchronized void crash(int id) {
        nodes.remove(id).halt();
    }

    @Override
    public synchronized void close() {
        nodes.values().forEach(Node::close);
        nodes.clear();
    }

    @Override
    public String toString() {
        return "nodes in this JVM";
    }
}
