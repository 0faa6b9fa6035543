package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.WaiterRef;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A count-down latch shared by the nodes, with the methods and documented semantics of
 * {@link java.util.concurrent.CountDownLatch}: {@code await} waits until the count reaches zero (at once if it is
 * zero), {@code countDown} from any thread of any node decrements it, and it cannot be reset.
 *
 * <p>The count and the waiters are one replicated KDDM object (it survives a node's death). Waiters sleep until
 * the count-down that opens the latch wakes them with a message; a latch that is open is read from a cached
 * read copy without any message. Thread-safe.
 */
public final class ClusterCountDownLatch {
    static final int OPENED = 4;

    private final Ipc ipc;
    private final String name;
    private final long id;
    private final KddmSet<SyncState.Latch> set;

    ClusterCountDownLatch(Ipc ipc, String name, long count, int mode) {
        if (count < 0) {
            throw new IllegalArgumentException("count < 0: " + count);
        }
        this.ipc = ipc;
        this.name = name;
        this.id = Names.id(name);
        this.set = ipc.syncSets().set(SyncSets.LATCHES, SyncState.Latch.class);
        IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
        SyncSets.ensure(set, id, name, "latch", () -> new SyncState.Latch(name, perm, count, List.of()));
    }

    public String name() {
        return name;
    }

    public void await() throws InterruptedException {
        awaitUntil(Long.MAX_VALUE);
    }

    public boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return awaitUntil(ClusterLock.deadline(timeout, unit));
    }

    private boolean awaitUntil(long deadline) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (getCount() == 0) {
            return true;
        }
        try (Sleepers.Sleeper sleeper = ipc.sleepers().sleeper()) {
            WaiterRef me = sleeper.ref();
            boolean[] open = new boolean[1];
            set.update(id, s -> {
                SyncState.Latch cur = checked(s, Access.READ);
                open[0] = cur.count() == 0;
                return open[0] ? cur : cur.with(cur.count(), SyncState.plus(cur.waiters(), me));
            });
            while (!open[0]) {
                boolean timedOut = false;
                InterruptedException interrupted = null;
                try {
                    timedOut = !sleeper.await(deadline);
                } catch (InterruptedException e) {
                    interrupted = e;
                }
                boolean giveUp = timedOut || interrupted != null;
                set.update(id, s -> {
                    SyncState.Latch cur = checked(s, Access.READ);
                    open[0] = cur.count() == 0;
                    return open[0] || !giveUp ? cur
                            : cur.with(cur.count(), SyncState.without(cur.waiters(), me::equals));
                });
                if (open[0]) {
                    if (interrupted != null) {
                        Thread.currentThread().interrupt();
                    }
                    return true;
                }
                if (interrupted != null) {
                    throw interrupted;
                }
                if (timedOut) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Decrements the count; the count-down that reaches zero wakes every waiter, on every node. */
    public void countDown() {
        List<WaiterRef>[] woken = new List[1];
        set.update(id, s -> {
            SyncState.Latch cur = checked(s, Access.WRITE);
            if (cur.count() == 0) {
                return cur;
            }
            if (cur.count() == 1) {
                woken[0] = cur.waiters();
                return cur.with(0, List.of());
            }
            return cur.with(cur.count() - 1, cur.waiters());
        });
        if (woken[0] != null) {
            for (WaiterRef r : woken[0]) {
                ipc.sleepers().wake(r, OPENED, 0);
            }
        }
    }

    public long getCount() {
        return SyncSets.read(set, id, ipc.callers(), "latch '" + name + "'").count();
    }

    private SyncState.Latch checked(SyncState.Latch s, Access access) {
        return SyncSets.checked(s, ipc.callers(), access, "latch '" + name + "'");
    }

    @Override
    public String toString() {
        return "ClusterCountDownLatch[" + name + ", count = " + getCount() + "]";
    }
}
