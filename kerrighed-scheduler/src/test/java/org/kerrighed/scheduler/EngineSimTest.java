package org.kerrighed.scheduler;

import org.junit.jupiter.api.Test;
import org.kerrighed.scheduler.sim.SimProcess;
import org.kerrighed.scheduler.sim.SimResult;
import org.kerrighed.scheduler.sim.SimSettings;
import org.kerrighed.scheduler.sim.Simulator;

import java.net.URL;
import java.net.URLClassLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's gating, capability rules, expulsion, failure handling and placement order, on simulated nodes: real
 * engines, probes and filters, with simulated processes and time.
 */
class EngineSimTest {
    private static final SchedulerConfig DEFAULTS = SchedulerConfig.EMPTY.withDefaults();
    private static final SimProcess WORK = SimProcess.endless("work");
    private static final SimProcess PINNED = WORK.withMayMigrate(false);

    /** Simulated nodes whose schedulers all start at time 0. */
    private static Simulator sim(int nodes, Components components, SchedulerConfig config) {
        return new Simulator(SimSettings.of(nodes).withStartSpreadMillis(0), components, config);
    }

    private static SchedulerStats stats(Simulator sim, int node, String scheduler) {
        for (SchedulerStats s : sim.engine(node).stats()) {
            if (s.scheduler().equals(scheduler)) {
                return s;
            }
        }
        throw new AssertionError("no scheduler " + scheduler + " on node " + node);
    }

    /** Components with the built-in types and plugin {@code name}'s policies, as a loaded plugin JAR gives them. */
    private static Components withPolicies(Map<String, Supplier<Policy>> policies) {
        Map<String, PolicyFactory> factories = new HashMap<>();
        policies.forEach((type, make) -> factories.put(type, new PolicyFactory() {
            @Override
            public String type() {
                return type;
            }

            @Override
            public Policy create() {
                return make.get();
            }
        }));
        Components c = new Components();
        c.install(new Components.Plugin("test-policies", "0".repeat(64), new URLClassLoader(new URL[0]), Map.of(),
                factories));
        return c;
    }

    private static SchedulerSpec scheduler(SchedulerConfig c, String name, String policy, ProcessSet processes,
                                           NodeSet nodes, Map<String, PortLink> links) {
        return new SchedulerSpec(name, policy, c.nextSeq(), Map.of(), links, processes, nodes);
    }

    private static SchedulerConfig withNodes(SchedulerConfig c, String scheduler, NodeSet nodes) {
        return c.withScheduler(scheduler, c.schedulers().get(scheduler).withSets(ProcessSet.ALL, nodes));
    }

    // ---------------------------------------------------------------- gating

    @Test
    void aNodeBelowTheThresholdNeverDecides() {
        try (Components c = new Components()) {
            Simulator sim = sim(3, c, DEFAULTS);
            sim.start(0, WORK);
            sim.start(1, WORK);
            sim.start(1, WORK);
            sim.run(Duration.ofSeconds(10));
            assertEquals(0, stats(sim, 0, "mosix").decisions(), "one process: a load of 1 < 1.5 processes");
            assertTrue(stats(sim, 1, "mosix").decisions() > 0, "two processes pass the threshold");
            assertEquals(0, stats(sim, 2, "mosix").decisions());
        }
    }

    @Test
    void aNodeDecidesAtMostOnceEveryTwoSeconds() {
        try (Components c = new Components()) {
            Simulator sim = sim(2, c, DEFAULTS);
            for (int i = 0; i < 10; i++) {
                sim.start(0, PINNED);
            }
            List<Long> decisions = new ArrayList<>();
            for (int s = 0; s < 21; s++) {
                sim.run(Duration.ofSeconds(1));
                decisions.add(stats(sim, 0, "mosix").decisions());
            }
            assertEquals(11, decisions.getLast(), "at 0, 2, ..., 20 s: " + decisions);
            for (int s = 2; s < decisions.size(); s++) {
                assertTrue(decisions.get(s) - decisions.get(s - 2) <= 1, "two decisions within 2 s: " + decisions);
            }
            assertEquals(0, sim.result().migrations(), "nothing may move");
        }
    }

    @Test
    void aMigrationToTheNodeHoldsItsNextDecisionForTwoSeconds() {
        try (Components c = new Components()) {
            Simulator sim = sim(2, c, withNodes(DEFAULTS, "mosix", NodeSet.parse("1")));
            for (int i = 0; i < 10; i++) {
                sim.start(1, PINNED);
            }
            int moved = sim.start(0, WORK);
            sim.run(Duration.ofMillis(500));
            assertEquals(1, sim.nodeOf(moved), "node 0 is not in the node set: it expels its process at once");
            assertEquals(1, stats(sim, 1, "mosix").decisions(), "node 1 decided at 0 s, before the arrival");
            sim.run(Duration.ofSeconds(2));
            assertEquals(1, stats(sim, 1, "mosix").decisions(),
                    "at 2 s, the arrival at 0.1 s is less than 2 s ago: no decision");
            sim.run(Duration.ofSeconds(1));
            assertEquals(2, stats(sim, 1, "mosix").decisions(), "at 3 s it decides again");
        }
    }

    // ---------------------------------------------------------------- what moves

    @Test
    void processesWithoutCanMigrateNeverMove() {
        try (Components c = new Components()) {
            Simulator sim = sim(4, c, DEFAULTS);
            List<Integer> pinned = new ArrayList<>();
            List<Integer> free = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                pinned.add(sim.start(0, PINNED));
                free.add(sim.start(0, WORK));
            }
            for (int i = 0; i < 8; i++) {
                pinned.add(sim.start(3, PINNED));
            }
            sim.run(Duration.ofSeconds(30));
            for (int pid : pinned) {
                assertTrue(sim.nodeOf(pid) == 0 || sim.nodeOf(pid) == 3, "pinned process " + pid + " moved");
            }
            assertTrue(free.stream().filter(pid -> sim.nodeOf(pid) != 0).count() >= 4,
                    "the migratable processes of node 0 spread");
            assertEquals(0, sim.result().failedMigrations(), "the engine never asked to move a pinned process");
            assertEquals(8, sim.runnable(3), "node 3's load is all pinned: it stays");
        }
    }

    @Test
    void aNodeOutsideTheNodeSetExpelsItsProcessesToTheSetInTurn() {
        try (Components c = new Components()) {
            Simulator sim = sim(4, c, withNodes(DEFAULTS, "mosix", NodeSet.parse("1,2,3")));
            List<Integer> free = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                free.add(sim.start(0, WORK));
            }
            int pinned = sim.start(0, PINNED);
            sim.run(Duration.ofSeconds(1));
            List<Integer> where = free.stream().map(sim::nodeOf).toList();
            assertEquals(List.of(1, 2, 3, 1, 2, 3), where);
            assertEquals(0, sim.nodeOf(pinned), "a process without CAN_MIGRATE stays");
            assertTrue(stats(sim, 0, "mosix").last().startsWith("expelled 6 process(es)"),
                    stats(sim, 0, "mosix").last());
            assertEquals(6, stats(sim, 0, "mosix").migrations());
        }
    }

    // ---------------------------------------------------------------- a failing policy

    @Test
    void aPolicyThatThrowsIsDisabledAfterThreeFailuresAndTheNodeRunsOn() {
        Supplier<Policy> throwing = () -> new Policy() {
            @Override
            public Set<String> ports() {
                return Set.of("local_load");
            }

            @Override
            public List<Move> decide(String port, PolicyContext ctx) {
                throw new IllegalStateException("boom at " + ctx.nanoTime());
            }
        };
        try (Components c = withPolicies(Map.of("throwing", throwing))) {
            SchedulerConfig config = DEFAULTS.withScheduler("bad", scheduler(DEFAULTS, "bad", "throwing",
                    ProcessSet.ALL, NodeSet.ALL, Map.of("local_load", new PortLink("mosix", "mean_load", List.of()))));
            Simulator sim = sim(4, c, config);
            List<Integer> ps = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ps.add(sim.start(0, WORK));
            }
            sim.run(Duration.ofSeconds(20));
            SchedulerStats bad = stats(sim, 0, "bad");
            assertEquals(3, bad.decisions(), "called at 0, 1 and 2 s, then no more");
            assertEquals(3, bad.errors());
            assertNotNull(bad.disabled());
            assertTrue(bad.disabled().startsWith("disabled after 3 failures in a row of decide: "
                    + "java.lang.IllegalStateException: boom at 2000000000"), bad.disabled());
            assertNull(stats(sim, 0, "mosix").disabled(), "the other schedulers run on");
            SimResult r = sim.result();
            assertTrue(r.migrations() > 0, "the balancer still balances");
            assertTrue(ps.stream().anyMatch(pid -> sim.nodeOf(pid) != 0));
            assertEquals(4, r.disabled().size(), "disabled on each node: " + r.disabled());
            assertTrue(r.cpuSeconds() > 20, "the processes ran all along, on more than one node: " + r.cpuSeconds());
            assertTrue(sim.engine(2).place(new NewProcess("x", 0, 0, 0, 0)) >= 0, "placement still answers");
        }
    }

    // ---------------------------------------------------------------- placement

    @Test
    void placementAsksTheNewestSchedulerFirstAndFallsThroughToNoChoice() {
        Supplier<Policy> nowhere = () -> new Policy() {
            @Override
            public Set<String> ports() {
                return Set.of();
            }
        };
        Supplier<Policy> two = () -> new Policy() {
            @Override
            public Set<String> ports() {
                return Set.of();
            }

            @Override
            public int place(NewProcess p, PolicyContext ctx) {
                return 2;
            }
        };
        Supplier<Policy> outside = () -> new Policy() {
            @Override
            public Set<String> ports() {
                return Set.of();
            }

            @Override
            public int place(NewProcess p, PolicyContext ctx) {
                return 3;
            }
        };
        Supplier<Policy> throwing = () -> new Policy() {
            @Override
            public Set<String> ports() {
                return Set.of();
            }

            @Override
            public int place(NewProcess p, PolicyContext ctx) {
                throw new IllegalStateException("no idea");
            }
        };
        try (Components c = withPolicies(Map.of("nowhere", nowhere, "two", two, "outside", outside,
                "throwing", throwing))) {
            SchedulerConfig config = DEFAULTS;
            config = config.withScheduler("group7", scheduler(config, "group7", "two", ProcessSet.parse("groups:7"),
                    NodeSet.ALL, Map.of()));
            config = config.withScheduler("outside", scheduler(config, "outside", "outside", ProcessSet.ALL,
                    NodeSet.parse("0,1,2"), Map.of()));
            config = config.withScheduler("throwing", scheduler(config, "throwing", "throwing", ProcessSet.ALL,
                    NodeSet.ALL, Map.of()));
            config = config.withScheduler("nowhere", scheduler(config, "nowhere", "nowhere", ProcessSet.ALL,
                    NodeSet.ALL, Map.of()));
            Simulator sim = sim(4, c, config);
            SchedulerEngine e = sim.engine(1);
            assertEquals(2, e.place(new NewProcess("in-group", 0, 7, 0, 0)),
                    "nowhere, throwing and outside have no valid answer; group7's policy has");
            assertEquals(0, e.place(new NewProcess("other", 0, 0, 0, 0)), "not of group 7: rr, the oldest");
            assertEquals(1, e.place(new NewProcess("other", 0, 0, 0, 0)), "rr's next node");
            assertEquals(1, stats(sim, 1, "group7").placements());
            assertEquals(2, stats(sim, 1, "rr").placements());
            assertEquals(3, stats(sim, 1, "outside").errors(), "node 3 is not in its node set: ignored");
            assertEquals(3, stats(sim, 1, "throwing").errors());
            assertTrue(stats(sim, 1, "throwing").disabled().contains("of place"), "then disabled");
            assertEquals(0, stats(sim, 1, "nowhere").errors(), "no choice is not an error");

            sim.configure(config.withScheduler("rr", null));
            assertEquals(Policy.NO_CHOICE, e.place(new NewProcess("other", 0, 0, 0, 0)),
                    "without rr no scheduler chooses");
            List<Integer> where = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                where.add(sim.nodeOf(sim.spawn(1, WORK)));
            }
            assertEquals(List.of(0, 1, 2, 3, 0), where, "the process layer's round robin then places");
            int local = sim.spawn(1, WORK.withDistantFork(false).withGroup(7, 0));
            assertEquals(1, sim.nodeOf(local), "without DISTANT_FORK a process starts where it is spawned");
            assertEquals(1, stats(sim, 1, "group7").placements(), "and placement is not asked");
        }
    }
}
