package org.kerrighed.rpc.testing;

import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * N RPC nodes in one JVM, on loopback, with real sockets on ephemeral ports, for fast tests. Every node
 * knows every other node's address. Transport faults are injectable through {@link #faults()} (drop or
 * delay a link's frames) and {@link #closeLink} (close both connections between two nodes).
 *
 * <p>Each cluster gets a fresh cluster name and a random secret, so clusters started by concurrent tests
 * never talk to each other. Thread-safe for the operations tests use concurrently (node lookups);
 * start, add and stop nodes from one thread.
 */
public final class InProcessCluster implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final RpcConfig template;
    private final LinkFaults faults = new LinkFaults();
    private final Map<Integer, RpcNode> nodes = new TreeMap<>();

    private InProcessCluster(RpcConfig template) {
        this.template = template;
    }

    /** Starts {@code n} nodes with ids 0..n-1 and default settings (one I/O thread each). */
    public static InProcessCluster start(int n) {
        return start(n, b -> {
        });
    }

    /** Starts {@code n} nodes; {@code customizer} adjusts the configuration shared by every node. */
    public static InProcessCluster start(int n, Consumer<RpcConfig.Builder> customizer) {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        RpcConfig.Builder b = RpcConfig.builder()
                .clusterName("test-" + Long.toHexString(RANDOM.nextLong() >>> 1))
                .nodeId(0)
                .bind(new HostAndPort("127.0.0.1", 0))
                .secret(secret)
                .ioThreads(1)
                .jmx(false);
        customizer.accept(b);
        InProcessCluster c = new InProcessCluster(b.faults(null).build());
        try {
            for (int i = 0; i < n; i++) {
                c.addNode(i);
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The configuration template (every node's config differs only in node id and faults). */
    public RpcConfig template() {
        return template;
    }

    /** A configuration of this cluster for another node id, e.g. to start a node by hand. */
    public RpcConfig configFor(int id) {
        return template.toBuilder().nodeId(id).faults(faults).build();
    }

    /** Starts node {@code id} and introduces it to every running node. */
    public synchronized RpcNode addNode(int id) {
        if (nodes.containsKey(id)) {
            throw new IllegalArgumentException("node " + id + " is already running");
        }
        RpcNode node = RpcNode.start(configFor(id));
        for (RpcNode other : nodes.values()) {
            other.addPeer(id, node.address());
            node.addPeer(other.nodeId(), other.address());
        }
        nodes.put(id, node);
        return node;
    }

    public synchronized RpcNode node(int id) {
        RpcNode n = nodes.get(id);
        if (n == null) {
            throw new IllegalArgumentException("no running node " + id);
        }
        return n;
    }

    public synchronized List<RpcNode> nodes() {
        return new ArrayList<>(nodes.values());
    }

    /** The fault rules every node of this cluster consults. */
    public LinkFaults faults() {
        return faults;
    }

    /** Closes both connections between {@code a} and {@code b}; pending work on them fails at once. */
    public void closeLink(int a, int b) {
        node(a).disconnect(b);
    }

    /** Stops node {@code id} (closing its sockets, as a crashed process's kernel would). */
    public synchronized void stop(int id) {
        RpcNode n = nodes.remove(id);
        if (n != null) {
            n.close();
        }
    }

    @Override
    public synchronized void close() {
        RuntimeException first = null;
        for (RpcNode n : nodes.values()) {
            try {
                n.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        nodes.clear();
        if (first != null) {
            throw first;
        }
    }
}
