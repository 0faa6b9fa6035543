package org.kerrighed.epm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.TestPrograms.Counter;
import org.kerrighed.epm.TestPrograms.ExitWith;
import org.kerrighed.epm.TestPrograms.Handlers;
import org.kerrighed.epm.TestPrograms.NoSafepoint;
import org.kerrighed.epm.TestPrograms.Orphaner;
import org.kerrighed.epm.TestPrograms.Parent;
import org.kerrighed.epm.TestPrograms.Sleeper;
import org.kerrighed.epm.TestPrograms.Throws;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Processes on 3 in-process nodes: spawn, wait and exit across nodes, orphans, signals, groups, ps. */
@Timeout(60)
class ProcessTest {
    static EpmNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new EpmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    static SpawnOptions on(int node) {
        return SpawnOptions.defaults().onNode(node);
    }

    @Test
    void aProcessStartedOnAnotherNodeIsBornThereAndItsExitCodeComesBack() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new ExitWith(7), on(1));
        assertEquals(1, Pids.birthNode(p.pid()));
        assertEquals(1, p.node());
        assertEquals(ExitStatus.exited(7), p.waitFor());
        assertFalse(p.isAlive());
    }

    @Test
    void aParentWaitsForChildrenOnEveryNode() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Parent(new int[]{1, 2, 0, 2}),
                on(0).capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(1 + 2 + 3 + 4), p.waitFor());
    }

    @Test
    void manyShortRemoteProcessesAllReportTheirExit() throws Exception {
        List<ClusterProcess> ps = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            ps.add(nodes.epm(i % 3).spawn(new ExitWith(i % 5), on((i + 1) % 3)));
        }
        Set<Integer> pids = new HashSet<>();
        for (int i = 0; i < ps.size(); i++) {
            assertEquals(ExitStatus.exited(i % 5), ps.get(i).waitFor());
            assertTrue(pids.add(ps.get(i).pid()), "pid given twice");
        }
    }

    @Test
    void placementGoesRoundRobinAndTheHookIsReplaceable() throws Exception {
        Set<Integer> where = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            ClusterProcess p = nodes.epm(0).spawn(new ExitWith(0), SpawnOptions.defaults());
            where.add(p.node());
            p.waitFor();
        }
        assertEquals(Set.of(0, 1, 2), where);
        nodes.epm(0).setPlacement(r -> 2);
        try {
            assertEquals(2, nodes.epm(0).spawn(new ExitWith(0), SpawnOptions.defaults()).node());
            nodes.epm(0).setPlacement(r -> 99);            // not a node: here
            assertEquals(0, nodes.epm(0).spawn(new ExitWith(0), SpawnOptions.defaults()).node());
        } finally {
            nodes.epm(0).setPlacement(null);
        }
    }

    @Test
    void aProgramThatCannotTravelRunsHereOrIsRefusedForAnotherNode() throws Exception {
        Program lambda = ctx -> 4;
        ClusterProcess p = nodes.epm(1).spawn(lambda, SpawnOptions.defaults());
        assertEquals(1, p.node());
        assertEquals(ExitStatus.exited(4), p.waitFor());
        var e = assertThrows(IllegalArgumentException.class, () -> nodes.epm(1).spawn(lambda, on(2)));
        assertTrue(e.getMessage().contains("not registered"), e.getMessage());
    }

    @Test
    void anUncaughtExceptionEndsTheProcessWithCodeOne() throws Exception {
        ExitStatus s = nodes.epm(0).spawn(new Throws("boom"), on(2)).waitFor();
        assertEquals(1, s.code());
        assertTrue(s.exitedNormally());
        assertTrue(s.reason().contains("boom"), s.reason());
    }

    @Test
    void termFromAnyNodeEndsAProcessAndKillEndsOneThatHandlesTerm() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Sleeper(60_000), on(2));
        nodes.epm(1).kill(p.pid(), Signal.TERM);
        assertEquals(ExitStatus.killed(Signal.TERM, ""), p.waitFor());

        ClusterProcess h = nodes.epm(0).spawn(new Handlers("h-kill"), on(1));
        TestPrograms.awaitHandlers(nodes, "h-kill");
        nodes.epm(2).kill(h.pid(), Signal.KILL);
        assertEquals(Signal.KILL, h.waitFor().signal());
        assertThrows(NoSuchProcessException.class, () -> nodes.epm(2).kill(h.pid(), Signal.TERM));
    }

    @Test
    void handlersRunInTheProcessAndIgnoredSignalsDoNothing() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Handlers("h-count"), on(2));
        TestPrograms.awaitHandlers(nodes, "h-count");
        var count = nodes.ipc(0).atomicLong("h-count");
        for (int i = 1; i <= 3; i++) {
            nodes.epm(1).kill(p.pid(), Signal.USR1);
            long want = i;
            EpmNodes.await(() -> count.get() == want, "USR1 number " + i + " handled");
        }
        nodes.epm(0).kill(p.pid(), Signal.HUP);                           // ignored
        assertTrue(p.isAlive());
        nodes.epm(0).kill(p.pid(), Signal.TERM);                          // its handler exits with 100 + count
        assertEquals(ExitStatus.exited(103), p.waitFor());
    }

    @Test
    void stopFreezesAProcessAndContResumesIt() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new Counter("stop-cont"), on(1));
        var count = nodes.ipc(2).atomicLong("stop-cont");
        EpmNodes.await(() -> count.get() > 3, "counting");
        nodes.epm(2).kill(p.pid(), Signal.STOP);
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).orElseThrow().state() == ProcessState.STOPPED, "stopped");
        long frozen = count.get();
        Thread.sleep(100);
        assertEquals(frozen, count.get());
        nodes.epm(0).kill(p.pid(), Signal.CONT);
        EpmNodes.await(() -> count.get() > frozen + 3, "counting again");
        assertTrue(nodes.epm(2).status(p.pid()).orElseThrow().state() != ProcessState.STOPPED);
        nodes.epm(0).kill(p.pid(), Signal.STOP);
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).orElseThrow().state() == ProcessState.STOPPED, "stopped again");
        nodes.epm(0).kill(p.pid(), Signal.KILL);                          // KILL ends a stopped process
        assertEquals(Signal.KILL, p.waitFor().signal());
    }

    @Test
    void killOfAGroupReachesItsMembersOnEveryNode() throws Exception {
        ClusterProcess leader = nodes.epm(0).spawn(new Sleeper(60_000), on(0).newProcessGroup());
        int pgid = leader.pid();
        ClusterProcess a = nodes.epm(0).spawn(new Sleeper(60_000), on(1).processGroup(pgid));
        ClusterProcess b = nodes.epm(1).spawn(new Sleeper(60_000), on(2).processGroup(pgid));
        ClusterProcess outsider = nodes.epm(0).spawn(new Sleeper(60_000), on(2));
        assertEquals(pgid, nodes.epm(2).status(b.pid()).orElseThrow().pgid());
        assertEquals(3, nodes.epm(2).killGroup(pgid, Signal.TERM));
        for (ClusterProcess p : List.of(leader, a, b)) {
            assertEquals(Signal.TERM, p.waitFor().signal());
        }
        assertTrue(outsider.isAlive());
        assertThrows(NoSuchProcessException.class, () -> nodes.epm(0).killGroup(pgid, Signal.TERM));
        outsider.signal(Signal.KILL);
        outsider.waitFor();
    }

    @Test
    void anOrphanIsAdoptedByInit() throws Exception {
        ClusterProcess parent = nodes.epm(0).spawn(new Orphaner(2),
                on(1).capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(0), parent.waitFor());
        int child = (Integer) parent.result().orElseThrow();
        EpmNodes.await(() -> nodes.epm(0).status(child).orElseThrow().ppid() == Pids.INIT, "child adopted by init");
        nodes.epm(0).kill(child, Signal.KILL);
        EpmNodes.await(() -> nodes.epm(0).status(child).isEmpty(), "child gone");
    }

    @Test
    void psListsEveryNodesProcessesWithTheirFigures() throws Exception {
        ClusterProcess a = nodes.epm(0).spawn(new Counter("ps-a"), on(1).name("counter a"));
        ClusterProcess b = nodes.epm(0).spawn(new Sleeper(60_000), on(2).args("x", "y"));
        EpmNodes.await(() -> nodes.ipc(0).atomicLong("ps-a").get() > 2, "counting");
        List<ProcessInfo> ps = nodes.epm(0).ps();
        ProcessInfo ia = ps.stream().filter(i -> i.pid() == a.pid()).findFirst().orElseThrow();
        ProcessInfo ib = ps.stream().filter(i -> i.pid() == b.pid()).findFirst().orElseThrow();
        assertEquals(1, ia.node());
        assertEquals("counter a", ia.command());
        assertEquals(Pids.INIT, ia.ppid());
        assertEquals("Sleeper x y", ib.command());
        assertEquals(2, ib.node());
        assertTrue(ia.cpuNanos() > 0, "cpu time " + ia.cpuNanos());
        assertTrue(ia.allocatedBytes() > 0, "allocated " + ia.allocatedBytes());
        assertEquals(Capabilities.DEFAULT, ia.capabilities());
        assertNull(ia.exit());
        a.signal(Signal.KILL);
        b.signal(Signal.KILL);
        a.waitFor();
        b.waitFor();
        assertTrue(nodes.epm(1).ps().stream().noneMatch(i -> i.pid() == a.pid() || i.pid() == b.pid()));
    }

    @Test
    void aZombieIsListedUntilItsParentWaits() throws Exception {
        // Parent on node 0 starts a child on node 2 and does not wait until told to (USR1 makes it wait)
        ClusterProcess parent = nodes.epm(0).spawn(new ZombieMaker(2),
                on(0).capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        EpmNodes.await(() -> nodes.epm(1).ps().stream().anyMatch(i -> i.ppid() == parent.pid()
                && i.state() == ProcessState.ZOMBIE), "a zombie child");
        ProcessInfo z = nodes.epm(1).ps().stream().filter(i -> i.ppid() == parent.pid()).findFirst().orElseThrow();
        assertEquals(ExitStatus.exited(5), z.exit());
        assertEquals(2, z.node());
        parent.signal(Signal.USR1);
        assertEquals(ExitStatus.exited(5), parent.waitFor());
        assertTrue(nodes.epm(1).ps().stream().noneMatch(i -> i.pid() == z.pid()));
    }

    /** Starts ExitWith(5) on {@code node}, sleeps until USR1, then waits for it and exits with its code. */
    record ZombieMaker(int node) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            boolean[] go = new boolean[1];
            ctx.handle(Signal.USR1, s -> go[0] = true);
            int child = ctx.spawn(new ExitWith(5), SpawnOptions.defaults().onNode(node)).pid();
            while (!go[0]) {
                ctx.sleep(Duration.ofMillis(10));
            }
            return ctx.waitFor(child).code();
        }
    }

    /**
     * A process that ends holding a cluster lock releases it (its pool thread does not keep it for the next process
     * it runs), and its System V semaphore undo adjustments are applied, as exit does.
     */
    @Test
    void aProcessThatEndsReleasesItsLocksAndUndoesItsSemaphoreAdjustments() throws Exception {
        ClusterProcess locker = nodes.epm(0).spawn(new TestPrograms.LocksAndExits("forgotten"), on(1));
        assertEquals(0, locker.waitFor().code());
        org.kerrighed.ipc.ClusterLock l = nodes.ipc(2).lock("forgotten");
        assertTrue(l.tryLock(5, java.util.concurrent.TimeUnit.SECONDS), "the lock was released at the exit");
        try {
            ClusterProcess after = nodes.epm(0).spawn(new TestPrograms.LocksAndExits("forgotten"), on(1));
            Thread.sleep(200);
            assertFalse(after.onExit().isDone(), "the next process on node 1 waits for the lock");
        } finally {
            l.unlock();
        }
        org.kerrighed.ipc.sysv.SysvSemaphores sems = nodes.ipc(0).semaphores();
        int id = sems.get(0x5e3, 1, org.kerrighed.ipc.sysv.Sysv.IPC_CREAT, 0666);
        sems.setVal(id, 0, 1);
        ClusterProcess taker = nodes.epm(0).spawn(new TestPrograms.UndoesAndExits(id), on(2));
        assertEquals(0, taker.waitFor().code());
        assertEquals(1, sems.getVal(id, 0), "the exit undid the process's SEM_UNDO adjustment");
        sems.remove(id);
    }

    @Test
    void aProgramWithoutSafePointsIsShownKillPendingThenKilled() throws Exception {
        ClusterProcess p = nodes.epm(0).spawn(new NoSafepoint(1500), on(1));
        EpmNodes.await(() -> nodes.epm(0).status(p.pid()).isPresent(), "running");
        nodes.epm(0).kill(p.pid(), Signal.KILL);
        assertTrue(nodes.epm(2).status(p.pid()).orElseThrow().killPending());
        assertEquals(Signal.KILL, p.waitFor().signal());
    }

    @Test
    void signalsToNoProcessAndBadPidsAreClearErrors() {
        assertThrows(NoSuchProcessException.class, () -> nodes.epm(0).kill(Pids.make(2, 999_999), Signal.TERM));
        assertThrows(NoSuchProcessException.class, () -> nodes.epm(0).kill(12, Signal.TERM));
        assertThrows(IllegalArgumentException.class, () -> Signal.parse("SIGFOO"));
        assertEquals(Signal.TERM, Signal.parse("sigterm"));
        assertEquals(Signal.KILL, Signal.parse("9"));
    }
}
