package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.RpcClient;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Test bodies that hold for any cluster, run against nodes in one JVM and against nodes in JVMs of their
 * own. One cluster per class; the tests run in order and build on each other (3 nodes, a fourth joins
 * and leaves, then one crashes).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
abstract class ClusterContract {
    private TestCluster cluster;

    abstract TestCluster newCluster() throws Exception;

    @BeforeAll
    void start() throws Exception {
        cluster = newCluster();
        for (int id = 0; id < 3; id++) {
            cluster.startNode(id);
        }
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private NodeAdmin.ClusterStatus status(int id) throws Exception {
        try (RpcClient tool = cluster.tool(id)) {
            return NodeAdmin.status(tool, Duration.ofSeconds(5));
        }
    }

    private NodeAdmin.ClusterStatus awaitStatus(int id, Predicate<NodeAdmin.ClusterStatus> done, String what)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            NodeAdmin.ClusterStatus s = status(id);
            if (done.test(s)) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                fail(cluster + ": node " + id + " never saw " + what + "; last status " + s);
            }
            Thread.sleep(20);
        }
    }

    private static long live(NodeAdmin.ClusterStatus s) {
        return s.nodes().stream().filter(n -> n.state().equals("ONLINE")).count();
    }

    private NodeAdmin.ProbeResult probe(int id) throws Exception {
        try (RpcClient tool = cluster.tool(id)) {
            return tool.call(NodeAdmin.PROBE, new NodeAdmin.ProbeRequest(20, 64), Duration.ofSeconds(30))
                    .get(40, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(1)
    void everyNodeSeesTheSameViewAndEveryLinkAnswers() throws Exception {
        long epoch = awaitStatus(0, s -> live(s) == 3, "3 nodes online").epoch();
        for (int id = 0; id < 3; id++) {
            NodeAdmin.ClusterStatus s = awaitStatus(id, x -> live(x) == 3, "3 nodes online");
            assertEquals(epoch, s.epoch(), "node " + id + "'s epoch");
            assertTrue(s.writable());
            NodeAdmin.ProbeResult p = probe(id);
            assertEquals(2, p.links().size(), "links from node " + id);
            p.links().forEach(l -> assertEquals(0, l.errors(), "errors on " + l));
            assertEquals(2, p.multicastReplies(), "multicast replies to node " + id);
        }
    }

    @Test
    @Order(2)
    void aJoiningNodeIsSeenEverywhereAndLeavesGracefully() throws Exception {
        cluster.startNode(3);
        for (int id = 0; id < 4; id++) {
            awaitStatus(id, s -> live(s) == 4, "node 3 online");
        }
        try (RpcClient tool = cluster.tool(3)) {
            NodeAdmin.stop(tool, "contract test", Duration.ofSeconds(5));
        }
        for (int id = 0; id < 3; id++) {
            NodeAdmin.ClusterStatus s = awaitStatus(id, x -> live(x) == 3
                    && x.nodes().stream().noneMatch(n -> n.nodeId() == 3 && !n.state().equals("LEFT")), "node 3 gone");
            assertTrue(s.nodes().stream().noneMatch(n -> n.state().equals("FAILED")), "a graceful leave is no failure: " + s);
        }
    }

    @Test
    @Order(3)
    void aCrashedNodeIsDeclaredFailedAndTheOthersGoOn() throws Exception {
        cluster.crash(2);
        for (int id = 0; id < 2; id++) {
            awaitStatus(id, s -> live(s) == 2 && s.nodes().stream()
                    .anyMatch(n -> n.nodeId() == 2 && n.state().equals("FAILED")), "node 2 failed");
        }
        NodeAdmin.ClusterStatus s = status(0);
        assertTrue(s.writable(), "two of three keep the right to write: " + s);
        NodeAdmin.ProbeResult p = probe(1);
        assertEquals(1, p.links().size());
        assertEquals(0, p.links().getFirst().errors());
    }
}
