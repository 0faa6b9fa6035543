package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.testing.TestJars;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.scheduler.SchedulerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The start-up scheduler file ({@code scheduler.config}): applied by the first node of a cluster once it joined
 * (a plugin JAR named relative to the file included), skipped by a node that joins a cluster that has a
 * configuration, a bad line refused before the node joins, a line the scheduler refuses stopping the file there.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedFileTest {
    private final List<Node> nodes = new ArrayList<>();
    private Path dir;

    @BeforeAll
    void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("krg-sched-file-");
    }

    @AfterAll
    void stop() throws IOException {
        for (Node n : nodes.reversed()) {
            n.close();
        }
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private NodeConfig.Builder config(String cluster, Path schedFile) {
        return NodeConfig.builder().clusterName(cluster).secret("sched-file-test-secret-0123456789")
                .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                .storageDir(dir.resolve(cluster)).jmx(false).schedulerConfig(schedFile);
    }

    private static String cluster(String prefix) {
        return prefix + Long.toHexString(new SecureRandom().nextLong() >>> 16);
    }

    private Node join(NodeConfig c) {
        Node n = Kerrighed.join(c);
        nodes.add(n);
        return n;
    }

    @Test
    void theFirstNodeAppliesItsFileAndALaterNodeSkipsItsOwn() throws IOException {
        Files.createDirectories(dir.resolve("plugins"));
        TestJars.build(dir.resolve("plugins/tiny-policy-1.0.jar"), Map.of("tinyplugin.Spread", """
                package tinyplugin;

                public final class Spread implements org.kerrighed.scheduler.PolicyFactory {
                    public String type() {
                        return "tiny_spread";
                    }

                    public org.kerrighed.scheduler.Policy create() {
                        return () -> java.util.Set.of();
                    }
                }
                """), Map.of("META-INF/services/org.kerrighed.scheduler.PolicyFactory", "tinyplugin.Spread\n"));
        Path file = Files.writeString(dir.resolve("sched.conf"), """
                # Kerrighed's defaults, and a CPU probe every half second
                defaults
                create probe cpu1 cpu period=500      # the JVM's CPU use
                create scheduler spread mosix_balancer nodes=0,1
                link spread.local_load mosix/mean_load threshold:threshold=1.5*mosix/single_process_load
                set spread max_moves=2
                load plugins/tiny-policy-1.0.jar
                create scheduler tiny tiny_spread
                """);
        String cluster = cluster("sched-file-");
        Node first = join(config(cluster, file).nodeId(0).build());
        SchedulerConfig c = first.scheduler().config();
        assertEquals(Set.of("mosix", "migration", "cpu1"), c.probes().keySet(), c.describe());
        assertEquals(500, c.probes().get("cpu1").periodMillis());
        assertEquals(Set.of("rr", "mosix", "spread", "tiny"), c.schedulers().keySet(), c.describe());
        assertEquals(Map.of("max_moves", "2"), c.schedulers().get("spread").params());
        assertEquals("mosix/mean_load | threshold:threshold=1.5*mosix/single_process_load",
                c.schedulers().get("spread").links().get("local_load").toString());
        assertEquals(Set.of("tiny-policy"), c.plugins().keySet(), "the JAR named relative to the file");

        Path other = Files.writeString(dir.resolve("other.conf"), "create probe other load\n");
        Node second = join(config(cluster, other).nodeId(1).seeds(List.of(first.rpc().address())).build());
        SchedulerConfig after = second.scheduler().config();
        assertEquals(c.version(), after.version(), "the cluster had a configuration: the file was skipped");
        assertFalse(after.probes().containsKey("other"));
    }

    @Test
    void aBadLineOrAMissingFileStopsTheStartBeforeTheJoin() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.conf"), "defaults\n# the balancer\nset mosix stab_factor\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> join(config(cluster("sched-bad-"), bad).build()));
        assertEquals(bad + ":3: KEY=VALUE expected, got 'stab_factor'", e.getMessage());
        Path missing = dir.resolve("missing.conf");
        e = assertThrows(IllegalArgumentException.class, () -> join(config(cluster("sched-bad-"), missing).build()));
        assertTrue(e.getMessage().startsWith("scheduler.config: " + missing + ": cannot read: "), e.getMessage());
    }

    @Test
    void aLineTheSchedulerRefusesEndsTheFileThereAndTheNodeRuns() throws IOException {
        Path file = Files.writeString(dir.resolve("refused.conf"), """
                create probe p load
                link nobody.local_load p/runnable
                create probe q load
                """);
        Node n = join(config(cluster("sched-refused-"), file).build());
        SchedulerConfig c = n.scheduler().config();
        assertEquals(Set.of("p"), c.probes().keySet(), "line 1 applied, line 3 not: " + c.describe());
        assertTrue(n.writable());
    }
}
