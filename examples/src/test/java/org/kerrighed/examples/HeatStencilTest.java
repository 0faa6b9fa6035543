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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The heat stencil on three real nodes in this JVM gives exactly the single-threaded result. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HeatStencilTest {
    @TempDir
    Path storage;

    @Test
    void clusterRunEqualsTheSingleThreadedRun() throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "stencil-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        List<Node> nodes = new ArrayList<>();
        try {
            for (int id = 0; id < 3; id++) {
                HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
                nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed)));
            }
            int iterations = 30;
            HeatStencil.Result ref = HeatStencil.singleThreaded(iterations);
            HeatStencil.Result cl = HeatStencil.onCluster(nodes, 4242, iterations);
            assertEquals(0.0, org.kerrighed.node.StencilWorkload.maxError(ref.grid(), cl.grid()), "bit-for-bit the same grid");
            assertTrue(cl.grid()[org.kerrighed.node.StencilWorkload.SIZE + org.kerrighed.node.StencilWorkload.SIZE / 2] > 0, "heat spread from the top edge");
            assertTrue(nodes.get(1).shm().list().isEmpty(), "the segments were removed");
        } finally {
            for (Node n : nodes.reversed()) {
                n.close();
            }
        }
    }
}
