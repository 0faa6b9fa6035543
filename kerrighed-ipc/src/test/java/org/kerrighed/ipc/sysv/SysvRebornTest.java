package org.kerrighed.ipc.sysv;

import org.junit.jupiter.api.Test;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.membership.Member;
import org.kerrighed.rpc.membership.NodeState;
import org.kerrighed.rpc.membership.View;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.kerrighed.ipc.sysv.Sysv.IPC_CREAT;

/**
 * The members missed the views in which node 2 died and came back: they see it only with another incarnation.
 * They still apply the undo adjustments its dead incarnation left (here: its thread held a semaphore with SEM_UNDO).
 * Views go through the membership's hook; node 2 is not really restarted (its KDDM and IPC stay), so its thread is
 * taken for the old incarnation's only because the views say so.
 */
class SysvRebornTest {
    @Test
    void membersThatSawANodeOnlyComeBackApplyItsDeadIncarnationsUndo() throws Exception {
        try (SysvCluster c = new SysvCluster(3)) {
            long e = 1000;
            for (int n = 0; n < 3; n++) {
                c.kddm(n).hook().viewInstalled(view(e, -1));
            }
            int id = c.sem(2).get(3030, 1, IPC_CREAT, 0600);
            c.sem(2).setVal(id, 0, 1);
            CountDownLatch release = new CountDownLatch(1);
            var holder = c.holdWithUndo(2, id, 1, release, 0);
            try {
                for (int n = 0; n < 3; n++) {                     // node 2's incarnation changed in the views missed
                    c.kddm(n).hook().viewInstalled(view(e + 3, 2));
                }
                c.awaitVal(0, id, 1, 10);
                assertEquals(1, c.sem(1).getVal(id, 0), "the dead incarnation's hold undone by node 0");
            } finally {
                release.countDown();
                holder.get();
            }
            Thread.sleep(600);                                    // the thread reaper looks every 200 ms
            assertEquals(1, c.sem(0).getVal(id, 0), "not undone twice when the thread ended");
        }
    }

    /** A view of nodes 0-2 as the membership gives it; node {@code reborn} (if any) with another incarnation. */
    private static View view(long epoch, int reborn) {
        List<Member> members = List.of(0, 1, 2).stream().map(id -> new Member(id, id == reborn ? 100 + id : id,
                new HostAndPort("127.0.0.1", 1), new HostAndPort("127.0.0.1", 2), NodeState.ONLINE, epoch, 0)).toList();
        return new View(epoch, 0, members, List.of(), Set.of());
    }
}
