package org.kerrighed.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.launch.ChildJvm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checkpointed job on node 0 in this JVM and nodes 1-2 in JVMs of their own: node 2's JVM is SIGKILLed after
 * the first checkpoint, and the job, restarted on the survivors, counts what an uninterrupted run counts.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CheckpointedJobTest {
    @TempDir
    Path dir;

    @Test
    void theSieveCountsTheKnownNumbersOfPrimes() {
        assertEquals(0, CheckpointedJob.primesBelow(2));
        assertEquals(1, CheckpointedJob.primesBelow(3));
        assertEquals(25, CheckpointedJob.primesBelow(100));
        assertEquals(78_498, CheckpointedJob.primesBelow(1_000_000));
        assertEquals(CheckpointedJob.primesIn(0, 3_000_000), CheckpointedJob.primesIn(0, 1_234_567)
                + CheckpointedJob.primesIn(1_234_567, 3_000_000), "ranges add up");
    }

    @Test
    void aJobWhoseNodeIsKilledRestartsFromItsCheckpointToTheUninterruptedAnswer() throws Exception {
        Path secretFile = dir.resolve("secret");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.writeString(secretFile, Base64.getEncoder().encodeToString(key));
        String cluster = "ckpt-test-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        List<ChildJvm> jvms = new ArrayList<>();
        try (Node node = Kerrighed.join(CheckpointedJob.config(cluster, secretFile, dir, 0, null),
                CheckpointedJob.TYPES)) {
            for (int id = 1; id <= 2; id++) {
                jvms.add(CheckpointedJob.startNodeJvm(cluster, secretFile, dir, id, node.rpc().address()));
            }
            long n = 100_000_000;
            CheckpointedJob.Outcome o = CheckpointedJob.run(node, n, 3, Duration.ofMillis(50), 2,
                    Duration.ofMillis(300), saved -> jvms.get(1).kill(), Duration.ofMinutes(2));
            assertTrue(o.beforeCrash().nodes().contains(2), "the killed node ran part of the job: " + o.beforeCrash());
            assertEquals(4, o.beforeCrash().pids().size(), o.beforeCrash().toString());
            assertEquals(1, o.restarts());
            assertEquals(ExitStatus.exited(0), o.end());
            assertEquals(5_761_455, o.primes(), "the primes below 10^8");
            assertEquals(CheckpointedJob.primesBelow(n), o.primes(), "the uninterrupted count");
        } finally {
            for (ChildJvm j : jvms) {
                j.terminate(Duration.ofSeconds(3));
            }
        }
    }
}
