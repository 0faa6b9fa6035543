package org.kerrighed.node;

import org.kerrighed.node.KddmNodeMain.WriteReq;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RpcClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Writers that append unique tokens to the objects of one KDDM set through the nodes' {@link KddmNodeMain#WRITE}
 * service, and the record of every acknowledged write (the node's write handle {@code close()} returned and
 * the reply reached this JVM), with the times it was sent and acknowledged. {@link #check} then proves from
 * the objects' final values that no acknowledged write was lost, none was applied twice, and acknowledged
 * writes are in real-time order. Thread-safe.
 */
final class KddmLoad {
    /** Longer than the nodes' own 10 s bound on a KDDM operation. */
    static final Duration CALL = Duration.ofSeconds(20);
    private static final AtomicInteger WRITER_IDS = new AtomicInteger();

    /** One acknowledged write. */
    record Ack(long token, long sentNanos, long ackNanos) {
    }

    final long set;
    final long t0 = System.nanoTime();
    private final Map<Long, Queue<Ack>> acked = new ConcurrentHashMap<>();
    private final Map<Integer, Writer> writers = new ConcurrentHashMap<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private volatile boolean stopping;

    KddmLoad(long set) {
        this.set = set;
    }

    long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos - t0);
    }

    /** A writer: its own id, one write at a time (tokens are id << 32 | sequence number). */
    final class Writer {
        final int id = WRITER_IDS.incrementAndGet();
        final String via;
        private long seq;
        volatile int acks;
        volatile int failures;
        volatile long maxAckNanos;                // the slowest acknowledged write
        volatile long lastAckNanos;
        volatile Throwable lastError;

        Writer(String via) {
            this.via = via;
            writers.put(id, this);
        }

        /** A new token for an external write (for example a HOLD); record it with {@link #acknowledged}. */
        synchronized long nextToken() {
            return ((long) id << 32) | ++seq;
        }

        /** Appends a new token to {@code obj} through {@code tool}; the latency in nanoseconds, or -1 if it failed. */
        long write(RpcClient tool, long obj) throws InterruptedException {
            long token = nextToken();
            long sent = System.nanoTime();
            try {
                tool.call(KddmNodeMain.WRITE, new WriteReq(set, obj, token), CALL)
                        .get(CALL.toMillis() + 5000, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                lastError = e.getCause();
                failures++;
                return -1;
            } catch (TimeoutException e) {
                lastError = e;
                failures++;
                return -1;
            }
            long now = System.nanoTime();
            acknowledged(obj, token, sent, now);
            acks++;
            maxAckNanos = Math.max(maxAckNanos, now - sent);
            lastAckNanos = now;
            return now - sent;
        }

        /** Writes until one is acknowledged, for at most {@code max}; the time it took, or -1. */
        long writeUntilAcked(RpcClient tool, long obj, Duration max) throws InterruptedException {
            long start = System.nanoTime();
            while (System.nanoTime() - start < max.toNanos()) {
                if (write(tool, obj) >= 0) {
                    return System.nanoTime() - start;
                }
                Thread.sleep(20);
            }
            return -1;
        }
    }

    Writer writer(String via) {
        return new Writer(via);
    }

    void acknowledged(long obj, long token, long sentNanos, long ackNanos) {
        acked.computeIfAbsent(obj, k -> new ConcurrentLinkedQueue<>()).add(new Ack(token, sentNanos, ackNanos));
    }

    /** Starts a writer thread appending to random objects of {@code objs} through {@code tool}, pausing between writes. */
    Writer start(String via, RpcClient tool, long[] objs, long pauseMillis) {
        Writer w = writer(via);
        threads.add(Thread.ofVirtual().name("writer-" + w.id + "-" + via).start(() -> {
            Random r = new Random(w.id);
            try {
                while (!stopping) {
                    long ns = w.write(tool, objs[r.nextInt(objs.length)]);
                    if (ns < 0 && w.lastError instanceof LinkClosedException) {
                        return;                       // the node is gone: this writer is done
                    }
                    Thread.sleep(ns < 0 ? 20 : pauseMillis);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        return w;
    }

    /** Stops the writer threads and waits for their last writes (bounded by the call timeout). */
    void stop() throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + CALL.toNanos() + TimeUnit.SECONDS.toNanos(10);
        for (Thread t : threads) {
            t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (t.isAlive()) {
                throw new AssertionError("writer " + t.getName() + " did not stop");
            }
        }
    }

    /** Waits until {@code more} writes more than now are acknowledged, for at least {@code min} and at most {@code max}. */
    void awaitAcks(int more, Duration min, Duration max) throws InterruptedException {
        long start = System.nanoTime();
        int target = ackCount() + more;
        while (System.nanoTime() - start < max.toNanos()
                && (ackCount() < target || System.nanoTime() - start < min.toNanos())) {
            Thread.sleep(20);
        }
    }

    int ackCount() {
        return acked.values().stream().mapToInt(Queue::size).sum();
    }

    int failureCount() {
        return writers.values().stream().mapToInt(w -> w.failures).sum();
    }

    List<Writer> writers() {
        List<Writer> l = new ArrayList<>(writers.values());
        l.sort(Comparator.comparingInt(w -> w.id));
        return l;
    }

    /** Every acknowledged token, by object. */
    Map<Long, List<Long>> ackedTokens() {
        Map<Long, List<Long>> m = new HashMap<>();
        acked.forEach((obj, q) -> m.put(obj, q.stream().map(Ack::token).toList()));
        return m;
    }

    String describe(long token) {
        int w = (int) (token >>> 32);
        Writer wr = writers.get(w);
        return "w" + w + "#" + (token & 0xFFFF_FFFFL) + (wr == null ? "" : " via " + wr.via);
    }

    /**
     * Checks the final values against the acknowledged writes; adds what is wrong to
     * {@code problems} and returns the number of acknowledged writes checked.
     */
    int check(long[] objs, Map<Long, long[]> values, List<String> problems) {
        int checked = 0;
        for (long obj : objs) {
            long[] v = values.get(obj);
            Map<Long, Integer> pos = new HashMap<>();
            for (int i = 0; i < v.length; i++) {
                Integer before = pos.put(v[i], i);
                if (before != null) {
                    problems.add("object " + obj + ": token " + describe(v[i]) + " applied twice (at " + before
                            + " and " + i + ")");
                }
            }
            List<Ack> acks = new ArrayList<>(acked.getOrDefault(obj, new ConcurrentLinkedQueue<>()));
            List<Ack> lost = new ArrayList<>();
            for (Ack a : acks) {
                checked++;
                if (!pos.containsKey(a.token())) {
                    lost.add(a);
                }
            }
            if (!lost.isEmpty()) {
                Map<String, Integer> byWriter = new java.util.TreeMap<>();
                lost.forEach(a -> byWriter.merge(describe(a.token()).replaceAll("^w\\d+#\\d+ ?", ""), 1, Integer::sum));
                StringBuilder b = new StringBuilder("object " + obj + ": " + lost.size() + " of " + acks.size()
                        + " acknowledged writes lost " + byWriter + ", e.g.");
                for (Ack a : lost.subList(0, Math.min(3, lost.size()))) {
                    b.append(' ').append(describe(a.token())).append(" (sent at ").append(ms(a.sentNanos()))
                            .append(" ms, acknowledged at ")
                            .append(a.ackNanos() == Long.MAX_VALUE ? "?" : Long.toString(ms(a.ackNanos()))).append(" ms)");
                }
                problems.add(b.append("; the value has ").append(v.length).append(" tokens, the last ")
                        .append(v.length == 0 ? "-" : describe(v[v.length - 1])).toString());
            }
            // real-time order: a write acknowledged before another was sent comes first in the value
            List<Ack> present = new ArrayList<>(acks.stream().filter(a -> pos.containsKey(a.token())).toList());
            present.sort(Comparator.comparingLong(Ack::ackNanos));
            long[] ackTimes = present.stream().mapToLong(Ack::ackNanos).toArray();
            int[] prefixMaxPos = new int[present.size()];
            long[] prefixMaxToken = new long[present.size()];
            int max = -1;
            long maxToken = 0;
            for (int i = 0; i < present.size(); i++) {
                int p = pos.get(present.get(i).token());
                if (p > max) {
                    max = p;
                    maxToken = present.get(i).token();
                }
                prefixMaxPos[i] = max;
                prefixMaxToken[i] = maxToken;
            }
            int disorders = 0;
            String example = null;
            for (Ack b : present) {
                int k = Arrays.binarySearch(ackTimes, b.sentNanos());
                k = k < 0 ? -k - 2 : k - 1;                   // the last acknowledged strictly before b was sent
                while (k >= 0 && ackTimes[k] >= b.sentNanos()) {
                    k--;
                }
                if (k >= 0 && prefixMaxPos[k] > pos.get(b.token())) {
                    disorders++;
                    if (example == null) {
                        example = describe(b.token()) + " (sent at " + ms(b.sentNanos()) + " ms) is before "
                                + describe(prefixMaxToken[k]) + ", acknowledged before it was sent";
                    }
                }
            }
            if (disorders > 0) {
                problems.add("object " + obj + ": " + disorders + " acknowledged writes out of real-time order, e.g. "
                        + example);
            }
        }
        return checked;
    }
}
