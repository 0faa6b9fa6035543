package org.kerrighed.scheduler.sim;

import org.junit.jupiter.api.Test;
import org.kerrighed.scheduler.Components;
import org.kerrighed.scheduler.NodeSet;
import org.kerrighed.scheduler.ProcessSet;
import org.kerrighed.scheduler.SchedulerConfig;
import org.kerrighed.scheduler.SchedulerSpec;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The simulator's model (processor sharing, migrations, the balance measure) and the default policy on it. */
class SimulatorTest {
    private static final SchedulerConfig DEFAULTS = SchedulerConfig.EMPTY.withDefaults();

    private static SimResult run(Scenario s, Duration d) {
        try (Components c = new Components()) {
            return s.run(c, DEFAULTS, d);
        }
    }

    @Test
    void theDefaultPolicyBalances32NodesStartedFromTenPercent() {
        Scenario s = Scenario.loaded(SimSettings.of(32), 0.1, 4);
        assertEquals(4, s.loadedNodes().size());
        SimResult r = run(s, Duration.ofSeconds(120));
        assertEquals(32 * 4, r.series().getFirst().processes());
        assertEquals(32, r.series().getFirst().maxRunnable(), "all 128 processes start on 4 nodes");
        assertTrue(r.converged(), "never within 10 % of balance: " + r.series().getLast());
        assertTrue(r.convergedSeconds() < 60, "converged at " + r.convergedSeconds() + " s");
        assertTrue(r.series().getLast().maxRunnable() <= 5, "ceil(1.1 x 4) = 5 at most: " + r.series().getLast());
        assertTrue(r.migrations() >= 128 - 16, "at least the processes beyond 4 per node moved: " + r.migrations());
        assertEquals(0, r.policyErrors());
        assertEquals(List.of(), r.disabled());
    }

    @Test
    void theSameSeedGivesTheSameRun() {
        Scenario s = Scenario.loaded(SimSettings.of(16).withSeed(7), 0.2, 4).withCpuSeconds(5, 30);
        SimResult a = run(s, Duration.ofSeconds(30));
        SimResult b = run(s, Duration.ofSeconds(30));
        assertTrue(a.migrations() > 0);
        assertEquals(a, b);
        SimResult other = run(new Scenario(s.settings().withSeed(8), 0.2, 4, 5, 30), Duration.ofSeconds(30));
        assertNotEquals(a.series(), other.series(), "another seed loads other nodes");
    }

    @Test
    void tickingEnginesOnlyWhenSomethingIsDueChangesNothing() {
        for (int latency : new int[] {0, 5}) {
            SimSettings s = SimSettings.of(16).withSeed(3).withPollLatencyTicks(latency);
            Scenario auto = new Scenario(s, 0.2, 4, 3, 30);
            Scenario everyTick = new Scenario(s.withEngineTickMillis(100), 0.2, 4, 3, 30);
            SimResult a = run(auto, Duration.ofSeconds(40));
            SimResult b = run(everyTick, Duration.ofSeconds(40));
            assertTrue(a.migrations() > 0);
            assertEquals(a.series(), b.series(), "poll latency " + latency);
            assertEquals(a.migrations(), b.migrations());
            assertEquals(a.decisions(), b.decisions());
        }
    }

    @Test
    void processorsAreSharedAmongRunnableProcesses() {
        try (Components c = new Components()) {
            Simulator sim = new Simulator(SimSettings.of(2).withCpus(2), c, SchedulerConfig.EMPTY);
            for (int i = 0; i < 3; i++) {
                sim.start(0, SimProcess.cpuBound("third", 1.0));
            }
            int alone = sim.start(1, SimProcess.cpuBound("alone", 0.25));
            assertTrue(sim.runUntilDone(Duration.ofSeconds(10)));
            SimResult r = sim.result();
            assertEquals(1.5, r.lastExitSeconds(), 1e-6, "3 processes on 2 processors: 2/3 of one each");
            assertEquals(3.25, r.cpuSeconds(), 1e-6);
            assertEquals(-1, sim.nodeOf(alone));
            assertEquals(0, r.migrations(), "no scheduler: nothing moves");
        }
    }

    @Test
    void aProcessThatFinishesEarlyLeavesItsShareToTheOthers() {
        try (Components c = new Components()) {
            Simulator sim = new Simulator(SimSettings.of(1).withTickMillis(1000), c, SchedulerConfig.EMPTY);
            sim.start(0, SimProcess.cpuBound("short", 0.2));
            sim.start(0, SimProcess.cpuBound("long", 1.0));
            assertTrue(sim.runUntilDone(Duration.ofSeconds(5)));
            assertEquals(1.2, sim.result().lastExitSeconds(), 1e-6, "both at half a processor to 0.4 s, then alone");
        }
    }

    @Test
    void aMigratingProcessRunsNowhereUntilItLands() {
        SchedulerConfig config = DEFAULTS;
        SchedulerSpec mosix = config.schedulers().get("mosix");
        config = new SchedulerConfig(config.version(), config.nextSeq(), config.probes(), Map.of("mosix",
                new SchedulerSpec("mosix", mosix.policy(), mosix.seq(), mosix.params(), mosix.links(),
                        ProcessSet.ALL, NodeSet.parse("1"))), Map.of());
        try (Components c = new Components()) {
            SimSettings s = SimSettings.of(2).withStartSpreadMillis(0).withMigrationMillis(250, 0);
            Simulator sim = new Simulator(s, c, config);
            int pid = sim.start(0, SimProcess.endless("expelled"));
            sim.run(Duration.ofMillis(100));
            assertTrue(sim.migrating(pid), "node 0 is outside the node set: expelled at its first tick");
            assertEquals(0, sim.nodeOf(pid), "listed on the node it leaves");
            assertEquals(0, sim.runnable(0));
            sim.run(Duration.ofMillis(100));
            assertTrue(sim.migrating(pid), "250 ms: still on its way at 100 and 200 ms");
            sim.run(Duration.ofMillis(200));
            assertFalse(sim.migrating(pid));
            assertEquals(1, sim.nodeOf(pid), "landed at 300 ms, the first tick after 250 ms");
            assertEquals(1, sim.result().migrations());
            sim.run(Duration.ofMillis(600));
            assertEquals(0.7, sim.result().cpuSeconds(), 1e-6, "it left before running and ran from 300 ms on");
        }
    }

    @Test
    void pollAnswersLaterThanThePollingPeriodStillBalance() {
        Scenario s = Scenario.loaded(SimSettings.of(12).withPollLatencyTicks(15), 0.25, 4);
        SimResult r = run(s, Duration.ofSeconds(60));
        assertTrue(r.converged(), "balances with answers 1.5 s late: " + r.series().getLast());
    }

    @Test
    void theBalanceMeasureCountsWholeProcessesAboveTheFairShare() {
        try (Components c = new Components()) {
            Simulator sim = new Simulator(SimSettings.of(4), c, SchedulerConfig.EMPTY);
            Map<Integer, Integer> per = new HashMap<>(Map.of(0, 5, 1, 4, 2, 4, 3, 3));
            per.forEach((node, n) -> {
                for (int i = 0; i < n; i++) {
                    sim.start(node, SimProcess.endless("w"));
                }
            });
            sim.run(Duration.ofSeconds(2));
            SimResult r = sim.result();
            assertTrue(r.series().getFirst().balanced(), "5 <= ceil(1.1 x 4)");
            assertEquals(0.0, r.convergedSeconds());
            assertEquals(1.25, r.series().getFirst().maxOverMean(), 1e-9);
            sim.start(0, SimProcess.endless("w"));
            sim.run(Duration.ofSeconds(1));
            assertFalse(sim.result().converged(), "6 > ceil(1.1 x 17 / 4) = 5");
            assertEquals(1, sim.result().series().getLast().overloaded());
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> SimSettings.of(257));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.of(4).withTickMillis(300));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.of(4).withEngineTickMillis(150));
        assertThrows(IllegalArgumentException.class, () -> SimProcess.cpuBound("x", 0));
        assertThrows(IllegalArgumentException.class, () -> Scenario.loaded(SimSettings.of(4), 0, 4));
        try (Components c = new Components()) {
            Simulator sim = new Simulator(SimSettings.of(4), c, SchedulerConfig.EMPTY);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sim.start(4, SimProcess.endless("x")));
            assertEquals("no virtual node 4: they are 0-3", e.getMessage());
        }
    }
}
