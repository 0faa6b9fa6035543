package org.kerrighed.examples;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.Signal;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pi job on three real nodes in this JVM (loopback sockets, real membership). */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class MonteCarloPiTest {
    @TempDir
    Path storage;

    private final List<Node> nodes = new ArrayList<>();

    @BeforeEach
    void startNodes() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "pi-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        for (int id = 0; id < 3; id++) {
            HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
            nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed), MonteCarloPi.TYPES));
        }
    }

    @AfterEach
    void stopNodes() {
        for (Node n : nodes.reversed()) {
            n.close();
        }
    }

    @Test
    void workersRunRoundRobinOnEveryNodeAndTheirCountsAddUp() throws Exception {
        MonteCarloPi.Estimate e = MonteCarloPi.run(nodes.getFirst(), 6, 200_000, 7, Duration.ofSeconds(60));
        long expected = 0;
        for (int i = 0; i < 6; i++) {
            expected += MonteCarloPi.hits(200_000, 7 + i, () -> { });
        }
        assertEquals(expected, e.hits(), "the job's total is the sum of the same counts made in one thread");
        assertEquals(1_200_000, e.samples());
        assertEquals(0.0, e.pi() - Math.PI, 0.01);
        List<Integer> workerNodes = e.workerNodes();
        for (int n = 0; n < 3; n++) {
            assertEquals(2, Collections.frequency(workerNodes, n), "two of the six workers on node " + n + ": "
                    + workerNodes);
        }
    }

    @Test
    void killingTheJobsGroupEndsWorkersThatOnlyCompute() throws Exception {
        Node first = nodes.getFirst();
        ClusterProcess job = MonteCarloPi.start(first, 3, Long.MAX_VALUE, 1);
        awaitWorkers(first, 3);
        first.epm().killGroup(job.pid(), Signal.KILL);
        ExitStatus s = job.waitFor(Duration.ofSeconds(20)).orElseThrow(() -> new AssertionError("the job outlived KILL"));
        assertEquals(Signal.KILL, s.signal());
        awaitWorkers(first, 0);
    }

    /** Waits (at most 20 s) until {@code ps} lists exactly {@code n} live workers. */
    private static void awaitWorkers(Node node, int n) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            List<ProcessInfo> workers = node.epm().ps().stream()
                    .filter(p -> p.command().startsWith("pi-worker") && p.exit() == null).toList();
            if (workers.size() == n) {
                return;
            }
            assertTrue(System.nanoTime() < end, "expected " + n + " live workers, ps shows " + workers);
            Thread.sleep(20);
        }
    }
}
