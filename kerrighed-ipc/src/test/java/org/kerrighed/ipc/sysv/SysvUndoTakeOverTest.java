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
            var holder = c.holdWithUndo(3, held, 1, release, 1);
            SysvService.FAIL_UNDO_FOR_TESTS.set(Integer.MAX_VALUE);
            try {
                c.crash(3);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (SysvService.FAIL_UNDO_FOR_TESTS.get() > Integer.MAX_VALUE - 2 && System.nanoTime() < end) {
                    Thread.sleep(10);                         // node 0 tried, and failed, twice
                }
                c.crash(0);
                SysvService.FAIL_UNDO_FOR_TESTS.set(0);
                c.awaitVal(1, held, 1, 15);
                assertEquals(1, c.sem(2).getVal(held, 0), "node 3's hold undone by node 1, after node 0 died");
            } finally {
                SysvService.FAIL_UNDO_FOR_TESTS.set(0);
                release.countDown();
                holder.get();
            }
        }
    }
}
