package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A barrier's coordinator dies (in-process crashes): its waiting parties get {@link BrokenBarrierException}, the
 * next operation makes another node the coordinator of the broken barrier, and after a reset it works from there,
 * until that coordinator dies in turn. Nothing hangs.
 */
class BarrierFailoverTest {
    static IpcNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new IpcNodes(4);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void coordinatorDeathBreaksTheRoundAndAnotherNodeTakesOver() throws Exception {
        // node 3 makes the barrier (it coordinates) but has no party; parties on nodes 0, 1 and 2
        nodes.ipc(3).cyclicBarrier("failover", 3);
        rounds(List.of(0, 1, 2), 3);
        // two parties wait (nodes 0 and 1) when the coordinator dies
        List<AtomicReference<Throwable>> waiting = waitOn(List.of(0, 1));
        nodes.crash(3);
        assertBroken(waiting);
        assertEquals(3, nodes.ipc(2).cyclicBarrier("failover", 3).getParties(), "the parties survived");
        assertTrue(nodes.ipc(2).cyclicBarrier("failover", 3).isBroken(), "broken from the new coordinator");
        nodes.ipc(1).cyclicBarrier("failover", 3).reset();
        rounds(List.of(0, 1, 2), 3);
        // the new coordinator (node 2, which took over) is a party too; it dies with parties of 0 and 1 waiting
        waiting = waitOn(List.of(0, 1));
        nodes.crash(2);
        assertBroken(waiting);
        ClusterCyclicBarrier b = nodes.ipc(0).cyclicBarrier("failover", 3);
        assertTrue(b.isBroken());
        b.reset();
        rounds(List.of(0, 0, 1), 3);
        assertFalse(nodes.ipc(1).cyclicBarrier("failover", 3).isBroken());
    }

    /** {@code count} rounds with one party per entry of {@code partyNodes} (a node may have several). */
    private static void rounds(List<Integer> partyNodes, int count) throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<AtomicReference<Throwable>> failures = new ArrayList<>();
        for (int node : partyNodes) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            failures.add(failure);
            ClusterCyclicBarrier b = nodes.ipc(node).cyclicBarrier("failover", 3);
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < count; i++) {
                        b.await(30, TimeUnit.SECONDS);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(60_000);
            assertFalse(t.isAlive(), "a party did not finish");
        }
        for (AtomicReference<Throwable> f : failures) {
            assertEquals(null, f.get());
        }
    }

    /** One party waiting on each of {@code partyNodes}, once the barrier counts them all; their outcomes. */
    private static List<AtomicReference<Throwable>> waitOn(List<Integer> partyNodes) throws Exception {
        List<AtomicReference<Throwable>> outcomes = new ArrayList<>();
        for (int node : partyNodes) {
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            outcomes.add(outcome);
            ClusterCyclicBarrier b = nodes.ipc(node).cyclicBarrier("failover", 3);
            Thread.ofPlatform().start(() -> {
                try {
                    b.await(60, TimeUnit.SECONDS);
                    outcome.set(new Exception("passed"));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
        }
        ClusterCyclicBarrier b = nodes.ipc(partyNodes.getFirst()).cyclicBarrier("failover", 3);
        IpcNodes.awaitTrue(() -> b.getNumberWaiting() == partyNodes.size(), "the parties wait");
        return outcomes;
    }

    private static void assertBroken(List<AtomicReference<Throwable>> outcomes) throws InterruptedException {
        for (AtomicReference<Throwable> o : outcomes) {
            IpcNodes.awaitTrue(() -> o.get() != null, "a waiting party is told");
            assertTrue(o.get() instanceof BrokenBarrierException, "got " + o.get());
        }
    }
}
