package org.kerrighed.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

@Timeout(value = 1, unit = TimeUnit.MINUTES)
class WordCountTest {
    @Test
    void clusterCountMatchesALocalCount() throws Exception {
        List<String> text = List.of("a b c", "a b", "a", "d e f g", "A'b a", "c");
        try (InProcessCluster cluster = InProcessCluster.start(3, b -> b.types(WordCount.TYPES))) {
            cluster.nodes().forEach(WordCount::serve);
            Map<String, Integer> counts = WordCount.countOnCluster(cluster.node(1), List.of(0, 1, 2), text);
            assertEquals(new java.util.TreeMap<>(WordCount.count(text)), counts);
            assertEquals(4, counts.get("a"));
            assertTrue(WordCount.allNodesAgree(cluster.node(2), List.of(0, 1, 2), text));
        }
    }
}
