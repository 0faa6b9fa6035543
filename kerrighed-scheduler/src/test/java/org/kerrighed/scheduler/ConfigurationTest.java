package org.kerrighed.scheduler;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The replicated configuration: changes from any node, checks, concurrent writers, nodes that join or die. */
@Timeout(120)
class ConfigurationTest {
    private static SchedNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new SchedNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void aChangeOnOneNodeAppliesOnEveryNodeAndOnNodesThatJoinLater() throws Exception {
        ClusterScheduler s1 = nodes.sched(1);
        s1.clear();
        s1.createProbe("load1", "mosix", 500, Map.of());
        s1.createScheduler("bal", "mosix_balancer", ProcessSet.parse("groups:5,6"), NodeSet.parse("0,1"),
                Map.of("stab_factor", "150"));
        long v = s1.link("bal", "local_load", "load1", "mean_load", List.of(FilterSpec.parse("threshold:threshold=1"),
                FilterSpec.parse("freq_limit:min_interval=3000")));
        assertTrue(s1.awaitApplied(v, Duration.ofSeconds(10)));
        for (int n = 0; n < 3; n++) {
            SchedulerConfig c = nodes.sched(n).applied();
            assertEquals(v, c.version());
            SchedulerSpec bal = c.schedulers().get("bal");
            assertEquals("150", bal.params().get("stab_factor"));
            assertEquals("load1/mean_load | threshold:threshold=1 | freq_limit:min_interval=3000",
                    bal.links().get("local_load").toString());
            assertEquals(ProcessSet.parse("groups:5,6"), bal.processes());
        }
        assertTrue(nodes.sched(2).config().describe().contains("local_load <- load1/mean_load"));

        nodes.join(3);
        SchedNodes.await(() -> nodes.sched(3) != null && nodes.sched(3).applied().version() >= v, 10,
                "the new node applies the configuration");
        assertEquals(nodes.sched(0).config(), nodes.sched(3).applied());
        nodes.leave(3);
    }

    @Test
    void concurrentChangesFromEveryNodeAreAllKept() throws Exception {
        nodes.sched(0).clear();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> done = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            int node = n;
            done.add(pool.submit(() -> {
                for (int i = 0; i < 5; i++) {
                    nodes.sched(node).createProbe("p" + node + "x" + i, "load", 1000, Map.of());
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        SchedulerConfig c = nodes.sched(2).config();
        assertEquals(15, c.probes().size(), "no change is lost: " + c.probes().keySet());
    }

    @Test
    void badChangesAreRefusedWithAClearErrorAndChangeNothing() {
        ClusterScheduler s = nodes.sched(0);
        s.clear();
        s.createProbe("m", "mosix", 1000, Map.of());
        s.createScheduler("b", "mosix_balancer", ProcessSet.ALL, NodeSet.ALL, Map.of());
        s.link("b", "local_load", "m", "mean_load", List.of());
        SchedulerConfig before = s.config();
        assertMessage("no probe type 'nope'", () -> s.createProbe("x", "nope", 1000, Map.of()));
        assertMessage("no policy type 'nope'", () -> s.createScheduler("x", "nope", ProcessSet.ALL, NodeSet.ALL, Map.of()));
        assertMessage("in use", () -> s.createProbe("b", "load", 1000, Map.of()));
        assertMessage("has no port 'nope'", () -> s.link("b", "nope", "m", "mean_load", List.of()));
        assertMessage("has no source 'nope'", () -> s.link("b", "local_load", "m", "nope", List.of()));
        assertMessage("no probe named 'q'", () -> s.link("b", "local_load", "q", "mean_load", List.of()));
        assertMessage("no scheduler named 'm' (m is a probe)", () -> s.unlink("m", "local_load"));
        assertMessage("feeds b.local_load", () -> s.remove("m"));
        assertMessage("bad threshold", () -> s.link("b", "local_load", "m", "mean_load",
                List.of(FilterSpec.parse("threshold:threshold=x"))));
        assertMessage("has no parameter 'polling'", () -> FilterSpec.parse("threshold:polling=3"));
        assertMessage("no filter type 'nope'", () -> FilterSpec.parse("nope"));
        assertMessage("bad process set", () -> ProcessSet.parse("users:3"));
        assertMessage("node ids are 0-255", () -> NodeSet.parse("300"));
        assertMessage("period must be a number of milliseconds", () -> s.set("m", Map.of("period", "0")));
        assertMessage("has no parameters", () -> s.createProbe("l", "load", 1000, Map.of("x", "1")));
        assertMessage("no plugin named 'nope'", () -> s.unloadPlugin("nope"));
        assertMessage("parameter stab_factor of policy mosix_balancer is a number, not 'abc'",
                () -> s.createScheduler("x", "mosix_balancer", ProcessSet.ALL, NodeSet.ALL, Map.of("stab_factor", "abc")));
        assertMessage("policy mosix_balancer has no parameter 'nope'", () -> s.set("b", Map.of("nope", "1")));
        assertEquals(before, s.config(), "nothing changed");
    }

    @Test
    void theConfigurationSurvivesTheDeathOfANode() throws Exception {
        ClusterScheduler s = nodes.sched(2);
        s.clear();
        long v = s.installDefaults();
        assertTrue(s.awaitApplied(v, Duration.ofSeconds(10)));
        nodes.join(4);
        SchedNodes.await(() -> nodes.sched(4) != null && nodes.sched(4).applied().version() >= v, 10,
                "node 4 applies it");
        nodes.crash(4);
        nodes.crash(2);
        SchedulerConfig c = nodes.sched(0).config();
        assertEquals(v, c.version());
        assertEquals(SchedulerConfig.EMPTY.withDefaults().schedulers().keySet(), c.schedulers().keySet());
        nodes.join(2);
        SchedNodes.await(() -> nodes.sched(2) != null && nodes.sched(2).applied().version() >= v, 10,
                "node 2 is back with the configuration");
    }

    @Test
    void aProbeIsInUseOnlyWhereItIsNamedWhole() {
        ClusterScheduler s = nodes.sched(1);
        s.clear();
        s.installDefaults();                                 // its threshold names mosix/single_process_load
        s.createProbe("x", "load", 1000, Map.of());
        s.remove("x");                                       // "x/" is in "mosix/...", but x feeds nothing
        assertTrue(!s.config().probes().containsKey("x"));
        assertMessage("feeds mosix.local_load", () -> s.remove("migration"));   // named by last_event
    }

    @Test
    void theDefaultsAreKerrighedsLegacySchedulers() {
        String shown = SchedulerConfig.EMPTY.withDefaults().describe();
        for (String line : List.of(
                "scheduler rr: policy round_robin, processes all, nodes all",
                "scheduler mosix: policy mosix_balancer, processes all, nodes all",
                "  local_load <- mosix/mean_load | threshold:threshold=1.5*mosix/single_process_load"
                        + " | freq_limit:last_event=migration/last_migration,min_interval=2000",
                "  process_load <- mosix/process_load",
                "  remote_load <- mosix/current_load | remote_cache:polling=1000",
                "  single_process_load <- mosix/single_process_load",
                "probe migration (migration, every 1000 ms)",
                "probe mosix (mosix, every 1000 ms)")) {
            assertTrue(shown.contains(line + "\n"), "shows '" + line + "' in:\n" + shown);
        }
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should say '" + part + "'");
    }
}
