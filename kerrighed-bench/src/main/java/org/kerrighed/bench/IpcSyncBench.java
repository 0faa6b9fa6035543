package org.kerrighed.bench;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import org.kerrighed.ipc.ClusterCyclicBarrier;
import org.kerrighed.ipc.ClusterLock;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeAdmin;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The lock and barrier rows of {@code krg bench ipc}, node side: what {@link IpcBenchNode}'s lock and barrier
 * commands run. Each returns nanoseconds.
 */
final class IpcSyncBench {
    /** Sides of the uncontended lock row besides {@link IpcBenchNode#OURS} and {@link IpcBenchNode#HAZELCAST}. */
    static final int JDK = 2;

    private IpcSyncBench() {
    }

    /**
     * {@code iterations} lock/unlock pairs of one lock by one thread of this node, after as many to warm up:
     * ours a {@link ClusterLock} last held here; Hazelcast {@code IMap.lock} on a key this member owns; the JDK a
     * {@link ReentrantLock}. Returns nanoseconds per pair.
     */
    static long lockUncontended(Node node, HazelcastInstance hz, int side, int iterations) throws InterruptedException {
        Runnable pair;
        switch (side) {
            case IpcBenchNode.OURS -> {
                ClusterLock l = node.ipc().lock("bench-lock-local-" + node.id());
                pair = () -> {
                    l.lock();
                    l.unlock();
                };
            }
            case IpcBenchNode.HAZELCAST -> {
                IMap<Long, Long> m = hz.getMap("bench-locks");
                long key = localKey(hz);
                pair = () -> {
                    m.lock(key);
                    m.unlock(key);
                };
            }
            case JDK -> {
                ReentrantLock l = new ReentrantLock();
                pair = () -> {
                    l.lock();
                    l.unlock();
                };
            }
            default -> throw new IllegalArgumentException("side " + side);
        }
        for (int i = 0; i < iterations; i++) {
            pair.run();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            pair.run();
        }
        return (System.nanoTime() - t0) / iterations;
    }

    /** A key of map "bench-locks" whose partition this member owns (so the peer's lock is a local operation). */
    private static long localKey(HazelcastInstance hz) throws InterruptedException {
        for (long k = 0; ; k++) {
            var owner = hz.getPartitionService().getPartition(k).getOwner();
            for (int i = 0; owner == null && i < 200; i++) {
                hz.getMap("bench-locks").size();
                Thread.sleep(50);
                owner = hz.getPartitionService().getPartition(k).getOwner();
            }
            if (owner != null && owner.localMember()) {
                return k;
            }
        }
    }

    /**
     * From {@code startAt} (a {@link System#nanoTime()} shared by the JVMs of one machine), takes lock {@code name},
     * keeps it {@code holdNanos} (parked: the other node's request arrives and waits meanwhile) and releases it,
     * {@code iterations} times, while another node does the same. Returns the {@code System.nanoTime()} of each
     * acquisition and release, in turn (acquired, released, acquired, ...), for the hand-offs to be read off.
     */
    static long[] lockPingPong(Node node, String name, int iterations, long startAt, long holdNanos) {
        ClusterLock l = node.ipc().lock(name);
        l.lock();                                          // make it exist (and warm the path) before the start
        l.unlock();
        long[] times = new long[2 * iterations];
        waitUntil(startAt);
        for (int i = 0; i < iterations; i++) {
            l.lock();
            times[2 * i] = System.nanoTime();
            LockSupport.parkNanos(holdNanos);
            times[2 * i + 1] = System.nanoTime();
            l.unlock();
        }
        return times;
    }

    /**
     * The hand-off times in nanoseconds found in two nodes' {@link #lockPingPong} results: for each acquisition
     * by one node whose previous event (in time) was a release by the other, acquisition minus that release.
     */
    static long[] handoffs(long[] a, long[] b) {
        record Event(long at, int node, boolean acquire) {
        }
        java.util.List<Event> events = new java.util.ArrayList<>();
        for (int i = 0; i < a.length; i++) {
            events.add(new Event(a[i], 0, i % 2 == 0));
        }
        for (int i = 0; i < b.length; i++) {
            events.add(new Event(b[i], 1, i % 2 == 0));
        }
        events.sort(java.util.Comparator.comparingLong(Event::at));
        java.util.List<Long> out = new java.util.ArrayList<>();
        for (int i = 1; i < events.size(); i++) {
            Event prev = events.get(i - 1);
            Event e = events.get(i);
            if (e.acquire() && !prev.acquire() && prev.node() != e.node()) {
                out.add(e.at() - prev.at());
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** {@code rounds} awaits of barrier {@code name} ({@code parties} parties) from {@code startAt}; nanoseconds. */
    static long barrierRounds(Node node, String name, int parties, int rounds, long startAt) throws Exception {
        ClusterCyclicBarrier b = node.ipc().cyclicBarrier(name, parties);
        waitUntil(startAt);
        for (int i = 0; i < rounds; i++) {
            b.await(60, TimeUnit.SECONDS);
        }
        return System.nanoTime() - startAt;
    }

    /**
     * The median of {@code calls} sequential RPC round trips (16-byte echo) to node {@code peer}, in nanoseconds;
     * with {@code parkNanos > 0} the caller parks that long before each call, as a lock holder does before it
     * releases (both ends of each call then start from idle threads, as a hand-off does).
     */
    static long rpcRoundTrip(Node node, int peer, int calls, long parkNanos) throws Exception {
        byte[] payload = new byte[16];
        long[] t = new long[calls];
        for (int i = 0; i < calls; i++) {
            if (parkNanos > 0) {
                LockSupport.parkNanos(parkNanos);
            }
            long t0 = System.nanoTime();
            node.rpc().call(peer, NodeAdmin.ECHO, payload).get(30, TimeUnit.SECONDS);
            t[i] = System.nanoTime() - t0;
        }
        java.util.Arrays.sort(t);
        return t[calls / 2];
    }

    private static void waitUntil(long at) {
        long wait = at - System.nanoTime();
        if (wait > 0) {
            LockSupport.parkNanos(wait);
        }
    }
}
