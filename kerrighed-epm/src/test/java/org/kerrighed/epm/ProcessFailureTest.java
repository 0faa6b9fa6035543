package org.kerrighed.epm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.TestPrograms.ExitWith;
import org.kerrighed.epm.TestPrograms.Sleeper;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A node's death: its processes are reported killed to their parents, its processes' children are adopted. */
@Timeout(60)
class ProcessFailureTest {
    EpmNodes nodes;

    @BeforeEach
    void start() {
        nodes = new EpmNodes(3);
    }

    @AfterEach
    void stop() {
        nodes.close();
    }

    static final Capabilities FORK = Capabilities.DEFAULT.plus(Capability.DISTANT_FORK);

    /** Starts a Sleeper on {@code node}, then waits for it and exits with its exit code. */
    record WaitsForRemoteChild(int node) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ClusterProcess c = ctx.spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(node));
            ctx.ipc().atomicLong("spawned").incrementAndGet();
            return ctx.waitFor(c.pid()).code();
        }
    }

    /** Starts a Sleeper on {@code node} and sleeps itself. */
    record ParentOfRemoteChild(int node) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ctx.spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(node));
            ctx.sleep(java.time.Duration.ofSeconds(60));
            return 0;
        }
    }

    @Test
    void processesOfADeadNodeAreReportedKilledToTheirParents() throws Exception {
        ClusterProcess top = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        ClusterProcess parent = nodes.epm(0).spawn(new WaitsForRemoteChild(2),
                SpawnOptions.defaults().onNode(1).capabilities(FORK));
        EpmNodes.await(() -> nodes.ipc(0).atomicLong("spawned").get() == 1, "the parent's child started on node 2");
        nodes.crash(2);
        ExitStatus s = top.waitFor();
        assertEquals(Signal.KILL, s.signal());
        assertEquals("node 2 failed", s.reason());
        assertEquals(ExitStatus.exited(128 + 9), parent.waitFor(), "the parent's wait returned the child's death");
        assertTrue(nodes.epm(0).ps().stream().noneMatch(i -> i.node() == 2));
    }

    @Test
    void childrenOfAProcessOfADeadNodeAreAdoptedByInit() throws Exception {
        ClusterProcess parent = nodes.epm(0).spawn(new ParentOfRemoteChild(1),
                SpawnOptions.defaults().onNode(2).capabilities(FORK));
        EpmNodes.await(() -> nodes.epm(0).ps().stream().anyMatch(i -> i.ppid() == parent.pid()), "child started");
        int child = nodes.epm(0).ps().stream().filter(i -> i.ppid() == parent.pid()).findFirst().orElseThrow().pid();
        nodes.crash(2);
        assertEquals(Signal.KILL, parent.waitFor().signal());
        EpmNodes.await(() -> nodes.epm(0).status(child).map(i -> i.ppid() == Pids.INIT).orElse(false), "adopted");
        nodes.epm(0).kill(child, Signal.KILL);
        EpmNodes.await(() -> nodes.epm(1).status(child).isEmpty(), "child gone");
    }

    @Test
    void theTableSurvivesAndPidsOfTheDeadNodeAreGone() throws Exception {
        List<ClusterProcess> onOne = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            onOne.add(nodes.epm(2).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(1)));
        }
        ClusterProcess onTwo = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        nodes.crash(2);
        assertThrows(NoSuchProcessException.class, () -> nodes.epm(0).kill(onTwo.pid(), Signal.TERM));
        for (ClusterProcess p : onOne) {
            assertEquals(1, nodes.epm(0).status(p.pid()).orElseThrow().node());
            nodes.epm(0).kill(p.pid(), Signal.TERM);                    // found through the table from node 0
        }
        nodes.crash(0);                                                  // and again: node 1's rows still found
        nodes.join(3);
        EpmNodes.await(() -> nodes.epm(1).ps().isEmpty(), "the TERMed processes ended");
        ClusterProcess again = nodes.epm(3).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(1));
        nodes.epm(3).kill(again.pid(), Signal.KILL);
        assertEquals(Signal.KILL, again.waitFor().signal());
    }

    @Test
    void aNodeIdWhosePidsWrappedAroundStartsOverAndChecksRows() throws Exception {
        ClusterProcess old = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        nodes.crash(2);
        assertEquals(Signal.KILL, old.waitFor().signal());
        // node 2's pid map says its local pids are nearly all used: the next node 2 wraps around to 1
        nodes.kddm(0).set(org.kerrighed.epm.internal.EpmWire.PID_MAP_SET, org.kerrighed.epm.internal.EpmWire.PidMap.class)
                .update(org.kerrighed.kddm.DefaultOwner.idOnNode(2, 0),
                        m -> new org.kerrighed.epm.internal.EpmWire.PidMap(Pids.MAX_LOCAL - 5, false));
        nodes.join(2);
        ClusterProcess fresh = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        assertEquals(1, Pids.local(fresh.pid()), Pids.describe(fresh.pid()));
        var rows = nodes.kddm(1).set(org.kerrighed.epm.internal.EpmWire.TABLE_SET,
                org.kerrighed.epm.internal.EpmWire.Entry.class);
        try (var row = rows.getIfExists(Pids.tableId(fresh.pid())).orElseThrow()) {
            assertEquals(2, row.value().node(), "after a wrap-around the claim writes the row");
        }
        nodes.epm(1).kill(fresh.pid(), Signal.KILL);
        assertEquals(Signal.KILL, fresh.waitFor().signal());
    }

    @Test
    void aNodeThatLeavesEndsItsProcessesAndTheirParentsAreTold() throws Exception {
        ClusterProcess onTwo = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        ClusterProcess parent = nodes.epm(0).spawn(new WaitsForRemoteChild(2),
                SpawnOptions.defaults().onNode(1).capabilities(FORK));
        EpmNodes.await(() -> nodes.ipc(0).atomicLong("spawned").get() == 1, "the parent's child started on node 2");
        nodes.leave(2);
        assertEquals(Signal.KILL, onTwo.waitFor().signal());
        assertEquals(ExitStatus.exited(128 + 9), parent.waitFor());
    }

    @Test
    void aNodeThatRejoinsUnderTheSameIdReusesNoLivePid() throws Exception {
        ClusterProcess old = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        nodes.crash(2);
        assertEquals(Signal.KILL, old.waitFor().signal());
        nodes.join(2);
        ClusterProcess fresh = nodes.epm(0).spawn(new ExitWith(9), SpawnOptions.defaults().onNode(2));
        assertEquals(2, Pids.birthNode(fresh.pid()));
        assertTrue(Pids.local(fresh.pid()) > Pids.local(old.pid()), "the node's pid map survived: "
                + Pids.describe(fresh.pid()) + " after " + Pids.describe(old.pid()));
        assertEquals(ExitStatus.exited(9), fresh.waitFor());
    }

    /**
     * A process that moved away from its birth node, which then died, and whose table row is gone (a lookup that
     * found it naming the dead node removed it just after the move rewrote it): a signal still finds it, the
     * sender's node asking every node when the row leads nowhere.
     */
    @Test
    void aSignalFindsAProcessAwayFromItsDeadBirthNodeWithoutItsRow() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new MigrationTest.Ticker(), SpawnOptions.defaults().onNode(1)
                .capabilities(MigrationTest.MIGRATABLE));
        assertEquals(1, Pids.birthNode(p.pid()), "born where it runs");
        assertEquals(2, nodes.epm(0).migrate(p.pid(), 2).to());
        nodes.crash(1);
        nodes.epm(0).table().remove(p.pid());
        nodes.epm(0).kill(p.pid(), Signal.KILL);
        assertEquals(Signal.KILL, p.waitFor(java.time.Duration.ofSeconds(20)).orElseThrow().signal());
    }
}
