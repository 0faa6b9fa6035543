package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node dies while one of its threads waits, and comes back (a new incarnation, same node id) before anyone met
 * the waiter it left in the object's state: that waiter is not taken for one of the new incarnation's. Given a
 * permit or a signal, it would lose it (nobody sleeps there any more); a SysV semaphore would count it as waiting.
 * In-process crashes; node 2 dies and comes back in each test.
 */
class RejoinTest {
    static IpcNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new IpcNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    /** Starts {@code body} on a daemon thread (the dying node's never ends), and waits until it sleeps. */
    private static Thread sleeping(Runnable body) throws InterruptedException {
        Thread t = Thread.ofPlatform().daemon(true).start(body);
        IpcNodes.awaitParked(t);
        Thread.sleep(30);                               // listed in the object's state
        return t;
    }

    @Test
    void aPermitReleasedAfterTheNodeCameBackIsNotGrantedToTheWaiterItLeft() throws Exception {
        ClusterSemaphore s2 = nodes.ipc(2).semaphore("rejoin-sem", 0);
        sleeping(() -> {
            try {
                s2.acquire();
            } catch (Exception | Error ignored) {
                // its node dies under it
            }
        });
        nodes.crash(2);
        nodes.join(2);
        nodes.ipc(1).semaphore("rejoin-sem", 0).release();
        assertTrue(nodes.ipc(0).semaphore("rejoin-sem", 0).tryAcquire(5, TimeUnit.SECONDS),
                "the permit went to the waiter the dead node left, and was lost");
    }

    @Test
    void aSysvWaiterTheDeadNodeLeftIsNotCountedOnceTheNodeIsBack() throws Exception {
        var s2 = nodes.ipc(2).semaphores();
        int id = s2.get(4242, 1, org.kerrighed.ipc.sysv.Sysv.IPC_CREAT, 0666);
        sleeping(() -> {
            try {
                s2.semop(id, org.kerrighed.ipc.sysv.SemOp.of(0, -1));
            } catch (Exception | Error ignored) {
                // its node dies under it
            }
        });
        assertEquals(1, nodes.ipc(0).semaphores().getNcnt(id, 0), "node 2's thread waits");
        nodes.crash(2);
        nodes.join(2);
        assertEquals(0, nodes.ipc(0).semaphores().getNcnt(id, 0), "the waiter the dead node left is not counted");
    }

    @Test
    void aSignalAfterTheNodeCameBackGoesToALiveWaiter() throws Exception {
        ClusterLock l2 = nodes.ipc(2).lock("rejoin-lock");
        Condition c2 = l2.newCondition("c");
        sleeping(() -> {
            l2.lock();
            try {
                c2.await();
            } catch (Exception | Error ignored) {
                // its node dies under it
            }
        });
        ClusterLock l0 = nodes.ipc(0).lock("rejoin-lock");
        l0.lock();                                      // the lock's state, with the waiter, leaves node 2
        l0.unlock();
        nodes.crash(2);
        nodes.join(2);
        ClusterLock l1 = nodes.ipc(1).lock("rejoin-lock");
        Condition c1 = l1.newCondition("c");
        AtomicBoolean woke = new AtomicBoolean();
        Thread live = sleeping(() -> {
            l1.lock();
            try {
                c1.await();
                woke.set(true);
            } catch (InterruptedException ignored) {
                // not expected: the assertion below fails
            } finally {
                l1.unlock();
            }
        });
        l0.lock();
        try {
            l0.newCondition("c").signal();
        } finally {
            l0.unlock();
        }
        live.join(10_000);
        assertTrue(woke.get(), "the signal went to the waiter the dead node left, and was lost");
    }
}
