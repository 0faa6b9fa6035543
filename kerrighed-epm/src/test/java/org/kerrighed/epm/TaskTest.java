package org.kerrighed.epm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.TestPrograms.Increment;
import org.kerrighed.epm.TestPrograms.SlowTask;
import org.kerrighed.epm.TestPrograms.Square;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cluster threads and the cluster ExecutorService, on 3 in-process nodes. */
@Timeout(60)
class TaskTest {
    /**
     * Set by the test programs once they are about to sleep (their handlers installed): a process shows SLEEPING
     * whenever its thread waits, also in the runtime before its program's first line.
     */
    private static final java.util.concurrent.atomic.AtomicBoolean SLEEPS =
            new java.util.concurrent.atomic.AtomicBoolean();

    static EpmNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new EpmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void threadsRunOnEveryNodeAndShareStateThroughIpc() throws Exception {
        List<ClusterThread> ts = new ArrayList<>();
        Set<Integer> where = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            ts.add(new ClusterThread(nodes.epm(0), new Increment("threads")).start());
        }
        for (ClusterThread t : ts) {
            t.join();
            where.add(t.node());
            assertFalse(t.isAlive());
            assertEquals(ExitStatus.exited(0), t.exitStatus().orElseThrow());
        }
        assertEquals(Set.of(0, 1, 2), where);
        assertEquals(6, nodes.ipc(1).atomicLong("threads").get());
    }

    @Test
    void interruptWakesAThreadBlockedInTheRuntime() throws Exception {
        SLEEPS.set(false);
        ClusterThread t = new ClusterThread(nodes.epm(0), () -> {
            try {
                SLEEPS.set(true);                                 // (an interrupt before the sleep ends it too)
                ClusterThread.context().orElseThrow().sleep(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                return;                                           // ends normally, as a thread that was asked to stop
            }
            throw new IllegalStateException("not interrupted");
        }, SpawnOptions.defaults().onNode(0));
        // a lambda cannot travel: it is started on node 0 with the node named
        t.start();
        EpmNodes.await(() -> SLEEPS.get() && nodes.epm(1).status(t.pid()).map(i -> i.state() == ProcessState.SLEEPING)
                .orElse(false), "thread sleeping");
        t.interrupt();
        assertTrue(t.join(Duration.ofSeconds(10)));
        assertEquals(ExitStatus.exited(0), t.exitStatus().orElseThrow());
        assertThrows(IllegalStateException.class, t::start);
    }

    @Test
    void aThreadOfTheProgramInterruptingTheProcessEndsItsRuntimeWaitButASignalDoesNot() throws Exception {
        SLEEPS.set(false);
        ClusterProcess p = nodes.epm(1).spawn((Program) ctx -> {
            Thread process = Thread.currentThread();
            ctx.handle(Signal.USR1, s -> { });
            SLEEPS.set(true);                                     // its handler installed: USR1 does not end it
            Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
                process.interrupt();
            });
            try {
                ctx.sleep(Duration.ofSeconds(30));
                return 1;
            } catch (InterruptedException e) {
                return 7;
            }
        }, SpawnOptions.defaults().onNode(1));
        EpmNodes.await(() -> SLEEPS.get() && nodes.epm(0).status(p.pid()).map(i -> i.state() == ProcessState.SLEEPING)
                .orElse(false), "sleeping");
        p.signal(Signal.USR1);                                  // handled: the sleep goes on
        assertEquals(ExitStatus.exited(7), p.waitFor());
    }

    @Test
    void theExecutorRunsCallablesAsProcessesAcrossTheCluster() throws Exception {
        ClusterExecutorService ex = new ClusterExecutorService(nodes.epm(2));
        List<Square> tasks = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            tasks.add(new Square(i));
        }
        List<Future<Integer>> fs = ex.invokeAll(tasks);
        for (int i = 0; i < 9; i++) {
            assertEquals(i * i, fs.get(i).get());
        }
        Set<Integer> nodesUsed = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            nodesUsed.add(ex.submit(new SlowTask(1)).get(10, TimeUnit.SECONDS));
        }
        assertEquals(Set.of(0, 1, 2), nodesUsed);
        assertEquals(16, ex.invokeAny(List.of(new Square(4))));
        ex.shutdown();
        assertTrue(ex.awaitTermination(10, TimeUnit.SECONDS));
        assertThrows(RejectedExecutionException.class, () -> ex.submit(new Square(1)));
    }

    @Test
    void aFailedTaskFailsItsFutureAndCancelKillsTheProcess() throws Exception {
        ClusterExecutorService ex = new ClusterExecutorService(nodes.epm(0), SpawnOptions.defaults().onNode(1));
        Future<Integer> bad = ex.submit(new TestPrograms.Fails("task failed"));
        var e = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
        ProcessFailedException failed = assertInstanceOf(ProcessFailedException.class, e.getCause());
        assertEquals(1, failed.status().code());
        assertTrue(failed.status().reason().contains("task failed"), failed.status().reason());
        var notRegistered = assertThrows(RejectedExecutionException.class, () -> ex.submit(() -> 1));
        assertTrue(notRegistered.getMessage().contains("not registered"), notRegistered.getMessage());
        Future<Integer> slow = ex.submit(new SlowTask(60_000));
        EpmNodes.await(() -> nodes.epm(0).ps().stream().anyMatch(i -> i.command().startsWith("task SlowTask")),
                "slow task running");
        assertTrue(slow.cancel(true));
        assertThrows(CancellationException.class, slow::get);
        EpmNodes.await(() -> nodes.epm(0).ps().stream().noneMatch(i -> i.command().startsWith("task SlowTask")),
                "slow task killed");
        Future<Integer> another = ex.submit(new SlowTask(60_000));
        EpmNodes.await(() -> nodes.epm(0).ps().stream().anyMatch(i -> i.command().startsWith("task SlowTask")),
                "another slow task running");
        assertTrue(ex.shutdownNow().isEmpty());
        assertTrue(ex.awaitTermination(10, TimeUnit.SECONDS));
        var killed = assertThrows(ExecutionException.class, another::get);
        assertEquals(Signal.KILL, ((ProcessFailedException) killed.getCause()).status().signal());
    }
}
