package org.kerrighed.ipc;

import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.testing.KddmCluster;
import org.kerrighed.rpc.RpcStats;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** In-process nodes (KDDM on loopback RPC, views by hand) each running IPC. */
final class IpcNodes extends KddmCluster {
    private static final Map<Kddm, Ipc> IPCS = new ConcurrentHashMap<>();

    IpcNodes(int n) {
        super(n, List.of(k -> IPCS.put(k, Ipc.start(k))), Ipc.types());
    }

    Ipc ipc(int node) {
        return IPCS.get(kddm(node));
    }

    /** Frames node {@code node} has sent so far (to every peer). */
    long framesOut(int node) {
        RpcStats s = kddm(node).rpc().stats();
        return s.peers().stream().mapToLong(RpcStats.PeerStats::framesOut).sum();
    }

    /** Requests and one-way messages node {@code node} has sent so far, of every service (replies not counted). */
    long messagesOut(int node) {
        return kddm(node).rpc().stats().services().stream().mapToLong(RpcStats.ServiceStats::callsOut).sum();
    }

    /** Waits until {@code condition} holds, failing after 10 s. */
    static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(2);
        }
    }

    /** Waits until {@code t} is parked (WAITING or TIMED_WAITING), failing after 10 s. */
    static void awaitParked(Thread t) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            if (System.nanoTime() > end) {
                throw new AssertionError(t + " is not parked: " + t.getState());
            }
            Thread.sleep(2);
        }
    }
}
