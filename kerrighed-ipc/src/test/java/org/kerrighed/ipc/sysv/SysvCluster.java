package org.kerrighed.ipc.sysv;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.testing.KddmCluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** An in-process KDDM cluster with IPC started on every node, for the SysV tests. */
final class SysvCluster implements AutoCloseable {
    final KddmCluster cluster;
    private final Map<Integer, Ipc> ipcs = new ConcurrentHashMap<>();

    SysvCluster(int n) {
        cluster = new KddmCluster(n, List.of(k -> ipcs.put(k.nodeId(), Ipc.start(k))), Ipc.types());
    }

    Ipc ipc(int node) {
        return ipcs.get(node);
    }

    SysvSemaphores sem(int node) {
        return ipc(node).semaphores();
    }

    SysvMessageQueues msg(int node) {
        return ipc(node).messageQueues();
    }

    Kddm kddm(int node) {
        return cluster.kddm(node);
    }

    /**
     * Starts a thread on node {@code node} that takes {@code n} from semaphore 0 of set {@code id} with SEM_UNDO and
     * holds it until {@code release} (only a crash of its node undoes it first); returns once node {@code readOn}
     * reads the semaphore at 0.
     */
    Started<Void> holdWithUndo(int node, int id, int n, java.util.concurrent.CountDownLatch release, int readOn)
            throws Exception {
        Started<Void> holder = start("holder-on-" + node, () -> {
            sem(node).semop(id, SemOp.undo(0, -n));
            release.await(30, TimeUnit.SECONDS);
            return null;
        });
        while (sem(readOn).getVal(id, 0) != 0) {
            Thread.sleep(5);
        }
        return holder;
    }

    /** Waits until node {@code readOn} reads semaphore 0 of set {@code id} at {@code want}, {@code seconds} at most. */
    void awaitVal(int readOn, int id, int want, int seconds) throws Exception {
        awaitVal(readOn, id, 0, want, seconds);
    }

    /** The same for semaphore {@code num} of the set. */
    void awaitVal(int readOn, int id, int num, int want, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (sem(readOn).getVal(id, num) != want && System.nanoTime() < end) {
            Thread.sleep(20);
        }
    }

    /** Runs {@code body} with the callers of {@code node} being {@code creds}, then back to root. */
    void as(int node, Credentials creds, ThrowingRunnable body) throws Exception {
        kddm(node).setCallers(CallerContext.ofNode(node, creds));
        try {
            body.run();
        } finally {
            kddm(node).setCallers(CallerContext.ofNode(node, Credentials.ROOT));
        }
    }

    void crash(int node) {
        cluster.crash(node);
        Ipc gone = ipcs.remove(node);
        if (gone != null) {
            gone.close();
        }
    }

    @Override
    public void close() {
        ipcs.values().forEach(Ipc::close);
        cluster.close();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Runs {@code task} on a new platform thread (so its state can be watched) and returns its outcome. */
    static <T> Started<T> start(String name, Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return new Started<>(t, f);
    }

    record Started<T>(Thread thread, CompletableFuture<T> result) {
        T get() throws Exception {
            try {
                return result.get(20, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof Exception x) {
                    throw x;
                }
                throw e;
            }
        }

        Throwable failure() throws Exception {
            try {
                result.get(20, TimeUnit.SECONDS);
                return null;
            } catch (java.util.concurrent.ExecutionException e) {
                return e.getCause();
            }
        }

        /** Waits (bounded) until the thread is parked, waiting for a wake-up. */
        void awaitParked() throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < end) {
                Thread.State s = thread.getState();
                if ((s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) && isSleeping()) {
                    return;
                }
                if (result.isDone()) {
                    throw new AssertionError(thread.getName() + " finished instead of waiting: " + result);
                }
                Thread.sleep(5);
            }
            throw new AssertionError(thread.getName() + " did not park; state " + thread.getState());
        }

        private boolean isSleeping() {
            for (StackTraceElement e : thread.getStackTrace()) {
                if (e.getMethodName().equals("await") && e.getClassName().endsWith("Sleepers$Sleeper")) {
                    return true;
                }
            }
            return false;
        }
    }
}
