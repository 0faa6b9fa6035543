package org.kerrighed.scheduler;

import org.junit.jupiter.api.AfterAll;
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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Capabilities and sets bound what the scheduler may do: no CAN_MIGRATE, never moved; no DISTANT_FORK, local. */
@Timeout(120)
class CapabilityRulesTest {
    private static SchedNodes nodes;

    @BeforeAll
    static void start() throws Exception {
        nodes = new SchedNodes(3);
        long v = nodes.sched(0).installDefaults();
        assertTrue(nodes.sched(0).awaitApplied(v, Duration.ofSeconds(10)));
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void processesWithoutCanMigrateAreNeverMoved() throws Exception {
        List<ClusterProcess> ps = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ps.add(nodes.epm(1).spawn(new SchedTestPrograms.Spin(400, 10), SpawnOptions.defaults().onNode(1)));
        }
        for (ClusterProcess p : ps) {
            assertEquals(ExitStatus.exited(400), p.waitFor());
        }
        long decided = 0;
        for (SchedulerStats s : nodes.sched(1).report().schedulers()) {
            assertEquals(0, s.migrations() + s.failed(), "nothing was moved: " + s);
            decided += s.decisions();
        }
        assertTrue(decided > 0, "the balancer did run on the loaded node");
    }

    @Test
    void aParentWithoutDistantForkHasItsChildrenPlacedLocally() throws Exception {
        ClusterProcess without = nodes.epm(2).spawn(new SchedTestPrograms.Spawner(6), SpawnOptions.defaults().onNode(2));
        assertEquals(ExitStatus.exited(1 << 2), without.waitFor(), "every child ran on the parent's node");
        ClusterProcess with = nodes.epm(2).spawn(new SchedTestPrograms.Spawner(6), SpawnOptions.defaults().onNode(2)
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(0b111), with.waitFor(), "round robin spread them");
    }

    @Test
    void aSchedulerForOneGroupPlacesOnlyThatGroupOnItsNodes() throws Exception {
        ClusterScheduler s = nodes.sched(0);
        s.createScheduler("g77", "round_robin", ProcessSet.parse("groups:77"), NodeSet.parse("2"), Map.of());
        long v = s.createScheduler("pin1", "round_robin", ProcessSet.parse("groups:78"), NodeSet.parse("1"), Map.of());
        try {
            assertTrue(s.awaitApplied(v, Duration.ofSeconds(10)));
            for (int i = 0; i < 4; i++) {
                assertEquals(2, nodes.epm(0).spawn(new SchedTestPrograms.Spin(1, 1),
                        SpawnOptions.defaults().processGroup(77)).node());
                assertEquals(1, nodes.epm(0).spawn(new SchedTestPrograms.Spin(1, 1),
                        SpawnOptions.defaults().processGroup(78)).node());
            }
        } finally {
            s.remove("g77");
            s.remove("pin1");
        }
    }
}
