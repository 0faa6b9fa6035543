package org.kerrighed.scheduler;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.SpawnOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The default schedulers on three real nodes: placement round robin, and balancing by migration. */
@Timeout(120)
class BalancingTest {
    static final Capabilities MIGRATABLE = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE);
    private static SchedNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new SchedNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @AfterEach
    void clear() throws Exception {
        long v = nodes.sched(0).clear();
        assertTrue(nodes.sched(0).awaitApplied(v, Duration.ofSeconds(10)));
    }

    @Test
    void theBalancerSpreadsProcessesStartedOnOneNode() throws Exception {
        long v = nodes.sched(1).installDefaults();
        assertTrue(nodes.sched(0).awaitApplied(v, Duration.ofSeconds(10)), "every node applies the defaults");
        List<ClusterProcess> ps = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ps.add(nodes.epm(0).spawn(new SchedTestPrograms.Spin(500, 10), SpawnOptions.defaults().onNode(0)
                    .capabilities(MIGRATABLE)));
        }
        Set<Integer> seen = new HashSet<>();
        SchedNodes.await(() -> {
            nodes.epm(0).ps().forEach(p -> seen.add(p.node()));
            return seen.size() >= 2;
        }, 30, "a process moved off node 0");
        for (ClusterProcess p : ps) {
            assertEquals(ExitStatus.exited(500), p.waitFor(), "every step ran once");
        }
        long moved = 0;
        for (NodeReport r : nodes.sched(2).reports()) {
            for (SchedulerStats s : r.schedulers()) {
                moved += s.migrations();
            }
        }
        assertTrue(moved >= 1, "the stats count the moves");
    }

    @Test
    void theBalancerGoesOnWhenANodeDies() throws Exception {
        try (SchedNodes four = new SchedNodes(4)) {
            long v = four.sched(0).installDefaults();
            assertTrue(four.sched(0).awaitApplied(v, Duration.ofSeconds(10)));
            List<ClusterProcess> ps = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ps.add(four.epm(0).spawn(new SchedTestPrograms.Spin(400, 10), SpawnOptions.defaults().onNode(0)
                        .capabilities(MIGRATABLE)));
            }
            SchedNodes.await(() -> four.epm(0).ps().stream().anyMatch(p -> p.node() == 3), 30,
                    "a process moved to node 3");
            four.crash(3);
            int finished = 0;
            int killed = 0;
            for (ClusterProcess p : ps) {
                ExitStatus st = p.waitFor();
                if (st.equals(ExitStatus.exited(400))) {
                    finished++;
                } else {
                    killed++;                               // it ran on node 3: reported killed to its parent
                }
            }
            assertTrue(killed >= 1, "the processes of the dead node are reported");
            assertEquals(8, finished + killed);
            long decisions = 0;
            for (NodeReport r : four.sched(1).reports()) {
                assertTrue(r.node() != 3);
                decisions += r.schedulers().stream().mapToLong(SchedulerStats::decisions).sum();
            }
            assertTrue(decisions > 0);
        }
    }

    @Test
    void aProbeThatPublishesOnChangeTriggersDecisionsOnlyWhenItsValueChanges() throws Exception {
        ClusterScheduler s = nodes.sched(0);
        s.createProbe("every", "load", 100, Map.of());
        s.createProbe("changes", "load", 100, true, Map.of());
        s.createScheduler("a", "mosix_balancer", ProcessSet.ALL, NodeSet.parse("0"), Map.of());
        s.createScheduler("b", "mosix_balancer", ProcessSet.ALL, NodeSet.parse("0"), Map.of());
        s.link("a", "local_load", "every", "processes", List.of());
        long v = s.link("b", "local_load", "changes", "processes", List.of());
        assertTrue(s.awaitApplied(v, Duration.ofSeconds(10)));
        Thread.sleep(1000);
        long a0 = decisions("a");
        long b0 = decisions("b");
        Thread.sleep(1000);
        assertTrue(decisions("a") - a0 >= 5, "a probe publishing every 100 ms triggers every time");
        assertEquals(b0, decisions("b"), "nothing changed: no decision");
        ClusterProcess p = nodes.epm(0).spawn(new SchedTestPrograms.Spin(100, 10), SpawnOptions.defaults().onNode(0));
        SchedNodes.await(() -> decisions("b") > b0, 10, "a new process is a change");
        p.waitFor();
    }

    private static long decisions(String scheduler) {
        return nodes.sched(0).report().schedulers().stream().filter(x -> x.scheduler().equals(scheduler))
                .mapToLong(SchedulerStats::decisions).sum();
    }

    @Test
    void roundRobinPlacesNewProcessesOnEveryNode() throws Exception {
        long v = nodes.sched(0).installDefaults();
        assertTrue(nodes.sched(0).awaitApplied(v, Duration.ofSeconds(10)));
        Set<Integer> where = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            ClusterProcess p = nodes.epm(1).spawn(new SchedTestPrograms.Spin(1, 1), SpawnOptions.defaults());
            where.add(p.node());
            p.waitFor();
        }
        assertEquals(Set.of(0, 1, 2), where);
        long placed = nodes.sched(1).report().schedulers().stream().filter(s -> s.scheduler().equals("rr"))
                .mapToLong(SchedulerStats::placements).sum();
        assertEquals(6, placed, "scheduler rr placed them");
    }
}
