package org.kerrighed.ipc.sysv;

import org.junit.jupiter.api.Test;
import org.kerrighed.ipc.internal.SysvService;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.kerrighed.ipc.sysv.Sysv.IPC_CREAT;

/**
 * The member that applies a dead node's undo adjustments (the lowest) dies before it could: the next lowest takes
 * the work over, so the semaphore the dead thread held does not stay held. Four in-process nodes; node 3's thread
 * holds, node 3 dies, node 0 fails to apply (a test hook), node 0 dies, node 1 applies.
 */
class SysvUndoTakeOverTest {
    @Test
    void theNextLowestMemberAppliesTheUndoTheLowestDidNotFinish() throws Exception {
        try (SysvCluster c = new SysvCluster(4)) {
            int held = c.sem(1).get(3020, 1, IPC_CREAT, 0600);
            c.sem(1).setVal(held, 0, 1);
            CountDownLatch release = new CountDownLatch(1);
            var holder = SysvCluster.start("holder-on-3", () -> {
                c.sem(3).semop(held, SemOp.undo(0, -1));
                release.await(30, TimeUnit.SECONDS);          // alive until the end: only the crash undoes it
                return null;
            });
            while (c.sem(1).getVal(held, 0) != 0) {
                Thread.sleep(5);
            }
            SysvService.FAIL_UNDO_FOR_TESTS.set(Integer.MAX_VALUE);
            try {
                c.crash(3);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (SysvService.FAIL_UNDO_FOR_TESTS.get() > Integer.MAX_VALUE - 2 && System.nanoTime() < end) {
                    Thread.sleep(10);                         // node 0 tried, and failed, twice
                }
                c.crash(0);
                SysvService.FAIL_UNDO_FOR_TESTS.set(0);
                end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (c.sem(1).getVal(held, 0) != 1 && System.nanoTime() < end) {
                    Thread.sleep(20);
                }
                assertEquals(1, c.sem(2).getVal(held, 0), "node 3's hold undone by node 1, after node 0 died");
            } finally {
                SysvService.FAIL_UNDO_FOR_TESTS.set(0);
                release.countDown();
                holder.get();
            }
        }
    }
}
