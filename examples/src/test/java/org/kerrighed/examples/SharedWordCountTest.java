package org.kerrighed.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.ObjState;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The shared word count on three real nodes in this JVM (loopback sockets, real membership). */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SharedWordCountTest {
    @TempDir
    Path storage;

    @Test
    void threeNodesMergeIntoOneTableThatSurvivesALeave() throws Exception {
        List<String> text = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            text.add("line " + i + " of a text where words repeat: a b c a b a " + (i % 7 == 0 ? "seven" : "other"));
        }
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "swc-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed),
                        SharedWordCount.TYPES));
            }
            List<KddmSet<SharedWordCount.Bucket>> tables = new ArrayList<>();
            for (Node n : nodes) {
                tables.add(SharedWordCount.table(n));
            }
            SharedWordCount.countOnCluster(nodes, tables, text);

            Map<String, Long> expected = SharedWordCount.local(text);
            for (KddmSet<SharedWordCount.Bucket> t : tables) {
                assertEquals(expected, SharedWordCount.read(t), "every node reads the whole result");
            }
            assertEquals(120L, expected.get("a"));             // 4 per line

            // Every node read every bucket: the owner of each is READ_OWNER, the others hold read copies.
            long someBucket = SharedWordCount.bucketOf("a");
            int owners = 0;
            for (KddmSet<SharedWordCount.Bucket> t : tables) {
                ObjState s = t.stateOf(someBucket);
                assertTrue(s == ObjState.READ_OWNER || s == ObjState.READ_COPY, s.toString());
                owners += s.owner() ? 1 : 0;
            }
            assertEquals(1, owners);

            // A write from one node invalidates the other copies.
            try (Handle<SharedWordCount.Bucket> h = tables.get(0).grab(someBucket)) {
                h.set(h.value().plus(Map.of("a", 1L)));
            }
            assertEquals(ObjState.WRITE_OWNER, tables.get(0).stateOf(someBucket));
            assertEquals(ObjState.INV_COPY, tables.get(1).stateOf(someBucket));
            assertEquals(121L, SharedWordCount.read(tables.get(1)).get("a"));

            long transfers = 0;
            for (Node n : nodes) {
                SetStats s = n.kddm().stats().stream().filter(t -> t.setId() == SharedWordCount.SET_ID).findFirst().orElseThrow();
                assertEquals(SharedWordCount.SET_ID, s.setId());
                transfers += s.transfers();
            }
            assertTrue(transfers >= 1, "buckets changed hands");

            // Node 2 leaves gracefully: what it owned is handed over, nothing is lost.
            nodes.removeLast().close();
            expected.merge("a", 1L, Long::sum);
            assertEquals(expected, SharedWordCount.read(tables.get(0)));
            assertEquals(expected, SharedWordCount.read(tables.get(1)));
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
