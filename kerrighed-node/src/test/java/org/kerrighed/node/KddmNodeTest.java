package org.kerrighed.node;

import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.testing.Await;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * KDDM inside real Nodes (membership on Hazelcast, views from the master): objects keep their values through a
 * join, a graceful leave and a crash of a node holding replicated objects.
 */
class KddmNodeTest {
    record Score(String who, long points) {
    }

    static final TypeRegistrar TYPES = b -> b.range("kddm-node-test", 30_100, 30_109).register(30_100, Score.class);
    private static final SetSpec SPEC = SetSpec.of("object", "").withReplication(2);

    private static KddmSet<Score> scores(Node n) {
        return n.kddm().createStaticSet(7, SPEC, new ObjectLinker<>(Score.class, id -> new Score("nobody", 0)));
    }

    @Test
    void objectsSurviveJoinLeaveAndCrash() {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        NodeConfig template = NodeConfig.builder().clusterName("kddm-" + Long.toHexString(new SecureRandom().nextLong() >>> 1))
                .secret(Base64.getEncoder().encodeToString(secret)).jmx(false).build();
        List<Node> nodes = new ArrayList<>();
        try {
            nodes.add(Kerrighed.join(template.toBuilder().nodeId(0).build(), TYPES));
            nodes.add(Kerrighed.join(template.toBuilder().nodeId(1).seeds(List.of(nodes.get(0).rpc().address())).build(), TYPES));
            List<KddmSet<Score>> sets = new ArrayList<>();
            nodes.forEach(n -> sets.add(scores(n)));
            for (int i = 0; i < 20; i++) {
                try (Handle<Score> h = sets.get(i % 2).grab(i)) {
                    h.set(new Score("p" + i, i * 10L));
                }
            }
            Node third = Kerrighed.join(template.toBuilder().nodeId(2).seeds(List.of(nodes.get(0).rpc().address())).build(), TYPES);
            nodes.add(third);
            sets.add(scores(third));
            for (int i = 0; i < 20; i++) {
                try (Handle<Score> h = sets.get(2).grab(i)) {
                    if (h.value().points() != i * 10L) {
                        StringBuilder sb = new StringBuilder("object " + i + " after a join: " + h.value());
                        for (Node n : nodes) {
                            sb.append("\n  ").append(n.kddm().describe(7, i));
                        }
                        fail(sb.toString());
                    }
                    h.set(new Score("p" + i, h.value().points() + 1));
                }
            }
            nodes.get(0).close();                     // graceful: hands its objects over
            for (int i = 0; i < 20; i++) {
                try (Handle<Score> h = sets.get(1).get(i)) {
                    assertEquals(i * 10L + 1, h.value().points(), "object " + i + " after node 0 left");
                }
            }
            nodes.get(2).halt();                      // crash: replicas on node 1 take over
            Await.until(() -> nodes.get(1).view().size() == 1, java.time.Duration.ofSeconds(20),
                    "node 2 declared failed");
            for (int i = 0; i < 20; i++) {
                try (Handle<Score> h = sets.get(1).get(i)) {
                    assertEquals(i * 10L + 1, h.value().points(), "object " + i + " after node 2 crashed");
                }
            }
            assertTrue(nodes.get(1).kddm().stats().getFirst().transfers() > 0);
        } finally {
            for (Node n : nodes) {
                try {
                    n.halt();
                } catch (RuntimeException ignored) {
                    // already stopped
                }
            }
        }
    }
}
