package org.kerrighed.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
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

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The FIFO pipeline on three real nodes in this JVM (loopback sockets, real membership). */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class FifoPipelineTest {
    @TempDir
    Path storage;

    @Test
    void linesWrittenOnOneNodeAreCountedOnAnotherAndCollectedOnAThird() throws Exception {
        List<String> text = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            text.add("line " + i + " has" + " word".repeat(i % 9));
        }
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "fifo-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed),
                        FifoPipeline.TYPES));
            }
            Map<Integer, Integer> perLine = FifoPipeline.run(nodes, text);
            assertEquals(text.size(), perLine.size());
            for (int i = 0; i < text.size(); i++) {
                assertEquals(3 + i % 9, perLine.get(i), "line " + i);
            }
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
