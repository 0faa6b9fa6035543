package org.kerrighed.scheduler;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.ProcessState;
import org.kerrighed.epm.SpawnOptions;

import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plugins on three real nodes: broken JARs are refused, a policy or probe that throws is disabled on its node and
 * the node keeps scheduling, a plugin is replaced while processes run and move, a node that joins later loads it.
 */
@Timeout(120)
class PluginTest {
    private static final Duration APPLY = Duration.ofSeconds(10);
    private static SchedNodes nodes;

    @TempDir
    Path dir;

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
        ClusterScheduler s = nodes.sched(0);
        long v = s.clear();
        for (String plugin : s.config().plugins().keySet()) {
            v = s.unloadPlugin(plugin);
        }
        assertTrue(s.awaitApplied(v, APPLY));
    }

    @Test
    void aBrokenJarIsRefusedWithTheReasonAndNothingChanges() throws Exception {
        ClusterScheduler s = nodes.sched(1);
        s.loadPlugin(PluginJars.idle(dir, "one", "shared"), "one");
        s.createScheduler("user", "shared", ProcessSet.ALL, NodeSet.ALL, Map.of());
        SchedulerConfig before = s.config();

        Path missing = PluginJars.build(dir, "missing", Map.of("plugin.missing.Present",
                "package plugin.missing; public class Present {}"),
                Map.of(PluginJars.POLICY_SERVICES, "plugin.missing.Absent\n"));
        assertMessage("plugin.missing.Absent", () -> s.loadPlugin(missing, "missing"));
        Path none = PluginJars.build(dir, "none", Map.of("plugin.none.Present",
                "package plugin.none; public class Present {}"), Map.of());
        assertMessage("lists no", () -> s.loadPlugin(none, "none"));
        Path clash = PluginJars.idle(dir, "clash", "round_robin");
        assertMessage("round_robin", () -> s.loadPlugin(clash, "clash"));
        assertMessage("round_robin", () -> s.loadPlugin(clash, "one"));
        assertMessage("plugin one", () -> s.loadPlugin(PluginJars.idle(dir, "two", "shared"), "two"));
        assertMessage("lacks a type that scheduler user uses", () -> s.loadPlugin(PluginJars.idle(dir, "renamed",
                "other"), "one"));
        Path text = Files.writeString(dir.resolve("text.jar"), "not a JAR");
        assertMessage("refused", () -> s.loadPlugin(text, "text"));
        assertMessage("bad plugin name", () -> s.loadPlugin(clash, "3"));

        assertEquals(before, s.config(), "nothing changed");
        for (NodeReport r : s.reports()) {
            assertEquals(Set.of("one"), r.plugins().keySet(), "node " + r.node() + " loaded only plugin one");
            assertEquals(Map.of(), r.pluginErrors());
        }
        assertTrue(nodes.sched(2).componentTypes().stream().noneMatch(t -> t.contains("clash")));
    }

    @Test
    void aComponentThatThrowsIsDisabledOnItsNodeAndTheNodeKeepsScheduling() throws Exception {
        ClusterScheduler s = nodes.sched(0);
        s.loadPlugin(PluginJars.flaky(dir), "flaky");
        s.createProbe("tick", "load", 100, Map.of());
        s.createProbe("bad", "flaky_probe", 100, Map.of());
        s.createScheduler("rr", "round_robin", ProcessSet.ALL, NodeSet.ALL, Map.of());
        s.createScheduler("steady", "mosix_balancer", ProcessSet.ALL, NodeSet.ALL, Map.of());
        s.link("steady", "local_load", "tick", "runnable", List.of());
        s.createScheduler("bad_decide", "flaky", ProcessSet.ALL, NodeSet.ALL, Map.of("fail", "decide",
                "error", "stack"));
        s.link("bad_decide", "tick", "tick", "runnable", List.of());
        long v = s.createScheduler("bad_place", "flaky", ProcessSet.ALL, NodeSet.ALL, Map.of("fail", "place",
                "error", "checked"));
        assertTrue(s.awaitApplied(v, APPLY));

        Set<Integer> where = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            ClusterProcess p = nodes.epm(0).spawn(new SchedTestPrograms.Spin(1, 1), SpawnOptions.defaults());
            where.add(p.node());
            assertEquals(ExitStatus.exited(1), p.waitFor());
        }
        assertEquals(Set.of(0, 1, 2), where, "round robin placed them all the same");
        for (int n = 0; n < 3; n++) {
            int node = n;
            SchedNodes.await(() -> stats(node, "bad_decide").disabled() != null
                    && nodes.sched(node).report().probesDisabled().containsKey("bad"), 10, "node " + n + " disables them");
        }
        SchedulerStats place = stats(0, "bad_place");
        assertTrue(place.disabled().contains("3 failures in a row of place: java.io.IOException: flaky place"),
                place.disabled());
        assertEquals(3, place.errors());
        assertNull(stats(1, "bad_place").disabled(), "place failed on node 0 only");
        assertEquals(6, stats(0, "rr").placements(), "the next scheduler placed every process");
        for (int n = 0; n < 3; n++) {
            NodeReport r = nodes.sched(n).report();
            assertTrue(stats(n, "bad_decide").disabled().contains("of decide: java.lang.StackOverflowError: flaky decide"),
                    stats(n, "bad_decide").disabled());
            assertTrue(r.probesDisabled().get("bad").contains("3 failures in a row: java.lang.IllegalStateException:"
                    + " flaky sample"), r.probesDisabled().get("bad"));
            long decided = stats(n, "steady").decisions();
            int node = n;
            SchedNodes.await(() -> stats(node, "steady").decisions() > decided, 10, "node " + n + " keeps deciding");
            assertEquals(0, stats(n, "steady").errors());
        }
    }

    @Test
    void aPluginReplacedWhileProcessesRunAndMoveSwitchesEveryNodeAndLosesNoProcess() throws Exception {
        Path version1 = PluginJars.versioned(dir, 1);
        Path version2 = PluginJars.versioned(dir, 2);
        ClusterScheduler s = nodes.sched(0);
        s.createProbe("tick", "load", 300, Map.of());
        PluginSpec v1 = s.loadPlugin(version1, "versioned");
        s.createScheduler("rot", "versioned", ProcessSet.ALL, NodeSet.ALL, Map.of());
        long v = s.link("rot", "tick", "tick", "runnable", List.of());
        assertTrue(s.awaitApplied(v, APPLY));

        int steps = 500;
        List<ClusterProcess> ps = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ClusterProcess p = nodes.epm(0).spawn(new SchedTestPrograms.Spin(steps, 10), SpawnOptions.defaults()
                    .capabilities(BalancingTest.MIGRATABLE));
            assertEquals(1, p.node(), "version 1 places on the second node");
            ps.add(p);
        }
        SchedNodes.await(() -> migrations("rot") >= 2, 10, "version 1 moves processes");

        PluginSpec v2 = nodes.sched(2).loadPlugin(version2, "versioned");
        assertNotEquals(v1.sha256(), v2.sha256());
        long swapped = s.config().version();
        SchedNodes.await(() -> s.reports().stream().allMatch(r -> r.version() >= swapped
                && v2.sha256().equals(r.plugins().get("versioned")) && r.pluginErrors().isEmpty()), 10,
                "every node loads version 2");
        for (int n = 0; n < 3; n++) {
            ClusterProcess p = nodes.epm(n).spawn(new SchedTestPrograms.Spin(1, 1), SpawnOptions.defaults());
            assertEquals(2, p.node(), "node " + n + " places with version 2");
            assertEquals(ExitStatus.exited(1), p.waitFor());
        }
        assertEquals(1, stats(0, "rot").placements(), "the counters restarted with the new policy");
        SchedNodes.await(() -> {
            for (int n = 0; n < 3; n++) {
                if (stats(n, "rot").last().startsWith("move ")) {
                    return true;
                }
            }
            return false;
        }, 10, "version 2 moves a process");
        for (int n = 0; n < 3; n++) {
            String last = stats(n, "rot").last();
            if (last.startsWith("move ")) {
                assertTrue(last.endsWith("->" + (n + 2) % 3), "node " + n + " moves as version 2 does: " + last);
            }
        }

        assertTrue(s.awaitApplied(s.unlink("rot", "tick"), APPLY));
        Set<Integer> pids = new HashSet<>(ps.stream().map(ClusterProcess::pid).toList());
        SchedNodes.await(() -> nodes.epm(0).ps().stream().noneMatch(i -> pids.contains(i.pid())
                && i.state() == ProcessState.MIGRATING), 10, "the last moves end");
        List<ProcessInfo> listed = nodes.epm(2).ps().stream().filter(i -> pids.contains(i.pid())).toList();
        assertEquals(pids, new HashSet<>(listed.stream().map(ProcessInfo::pid).toList()), "none lost: " + listed);
        assertEquals(4, listed.size(), "none listed twice: " + listed);
        for (ClusterProcess p : ps) {
            assertEquals(ExitStatus.exited(steps), p.waitFor(), "every step ran once");
        }

        List<URLClassLoader> old = PluginTrace.loaders("versioned-v1");
        assertTrue(old.size() >= 4, "node 0 checked version 1 and every node loaded it: " + old);
        assertTrue(old.stream().allMatch(l -> PluginTrace.closed(l, "versioned.txt")), "version 1's loaders are closed");
        assertEquals(3, PluginTrace.loaders("versioned-v2").stream().filter(l -> !PluginTrace.closed(l,
                "versioned.txt")).count(), "each node has version 2 open");

        assertMessage("in use by scheduler rot", () -> s.unloadPlugin("versioned"));
        s.remove("rot");
        long u = s.unloadPlugin("versioned");
        assertTrue(s.awaitApplied(u, APPLY));
        for (NodeReport r : s.reports()) {
            assertFalse(r.plugins().containsKey("versioned"), "node " + r.node() + " unloaded it");
        }
        assertTrue(PluginTrace.loaders("versioned-v2").stream().allMatch(l -> PluginTrace.closed(l, "versioned.txt")));
        assertTrue(nodes.sched(1).componentTypes().stream().noneMatch(t -> t.contains("versioned")));
    }

    @Test
    void aNodeThatJoinsAfterAPluginWasLoadedFetchesItAndRunsIt() throws Exception {
        ClusterScheduler s = nodes.sched(1);
        PluginSpec p = s.loadPlugin(PluginJars.versioned(dir, 3), "late");
        s.createProbe("tick", "load", 200, Map.of());
        s.createScheduler("last", "versioned", ProcessSet.ALL, NodeSet.ALL, Map.of());
        long v = s.link("last", "tick", "tick", "runnable", List.of());
        assertTrue(s.awaitApplied(v, APPLY));
        nodes.join(3);
        try {
            SchedNodes.await(() -> nodes.sched(3) != null && nodes.sched(3).applied().version() >= v, 10,
                    "node 3 applies the configuration");
            NodeReport r = nodes.sched(3).report();
            assertEquals(p.sha256(), r.plugins().get("late"), "node 3 fetched the JAR and checked it");
            assertEquals(Map.of(), r.pluginErrors());
            SchedNodes.await(() -> stats(3, "last").decisions() > 0, 10, "node 3's policy decides");
            assertNull(stats(3, "last").disabled());
            for (int n : List.of(3, 0)) {
                ClusterProcess c = nodes.epm(n).spawn(new SchedTestPrograms.Spin(1, 1), SpawnOptions.defaults());
                assertEquals(3, c.node(), "version 3 places on the fourth node, from node " + n);
                c.waitFor();
            }
        } finally {
            nodes.leave(3);
        }
    }

    private static SchedulerStats stats(int node, String scheduler) {
        return nodes.sched(node).report().schedulers().stream().filter(s -> s.scheduler().equals(scheduler))
                .findFirst().orElseThrow(() -> new AssertionError("no scheduler " + scheduler + " on node " + node));
    }

    private static long migrations(String scheduler) {
        return nodes.sched(0).reports().stream().flatMap(r -> r.schedulers().stream())
                .filter(s -> s.scheduler().equals(scheduler)).mapToLong(SchedulerStats::migrations).sum();
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should say '" + part + "'");
    }
}
