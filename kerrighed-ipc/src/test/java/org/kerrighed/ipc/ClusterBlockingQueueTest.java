package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterBlockingQueueTest {
    static IpcCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new IpcCluster(3);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void producersAndConsumersOnDifferentNodesLoseAndDuplicateNothingAndKeepEachProducersOrder() throws Exception {
        ClusterBlockingQueue<String> q0 = cluster.ipc(0).queue("mpmc", String.class, 64);
        int perProducer = 400;
        int[] producerNodes = {1, 1, 2, 2};
        int[] consumerNodes = {0, 0, 2, 1};
        int total = perProducer * producerNodes.length;
        AtomicInteger taken = new AtomicInteger();
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producerNodes.length; p++) {
            int id = p;
            ClusterBlockingQueue<String> q = cluster.ipc(producerNodes[p]).queue("mpmc", String.class, 64);
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < perProducer; i++) {
                        q.put(id + ":" + i);
                    }
                } catch (Throwable e) {
                    errors.add("producer " + id + ": " + e);
                }
            }));
        }
        for (int c = 0; c < consumerNodes.length; c++) {
            ClusterBlockingQueue<String> q = cluster.ipc(consumerNodes[c]).queue("mpmc", String.class, 64);
            int cid = c;
            threads.add(Thread.ofPlatform().start(() -> {
                Map<Integer, Integer> last = new HashMap<>();
                try {
                    while (taken.get() < total) {
                        String s = q.poll(200, TimeUnit.MILLISECONDS);
                        if (s == null) {
                            continue;
                        }
                        taken.incrementAndGet();
                        if (seen.merge(s, 1, Integer::sum) > 1) {
                            errors.add("duplicate " + s);
                        }
                        String[] parts = s.split(":");
                        int prod = Integer.parseInt(parts[0]);
                        int seq = Integer.parseInt(parts[1]);
                        Integer before = last.put(prod, seq);
                        if (before != null && before >= seq) {
                            errors.add("consumer " + cid + " saw producer " + prod + " out of order: " + before
                                    + " then " + seq);
                        }
                    }
                } catch (Throwable e) {
                    errors.add("consumer " + cid + ": " + e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(60_000);
        }
        assertEquals(List.of(), errors);
        assertEquals(total, seen.size());
        assertEquals(0, q0.size());
        assertNull(q0.poll());
    }

    @Test
    void offerRefusesWhenFullAndTimedOfferAndPollTimeOut() throws Exception {
        ClusterBlockingQueue<String> q = cluster.ipc(1).queue("bounded2", String.class, 2);
        ClusterBlockingQueue<String> other = cluster.ipc(2).queue("bounded2", String.class, 2);
        assertTrue(q.offer("a"));
        assertTrue(other.offer("b"));
        assertFalse(q.offer("c"));
        assertEquals(0, q.remainingCapacity());
        long t0 = System.nanoTime();
        assertFalse(other.offer("c", 150, TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(150));
        assertThrows(IllegalStateException.class, () -> q.add("c"));
        assertEquals("a", other.poll());
        assertEquals("b", q.poll(1, TimeUnit.SECONDS));
        assertNull(q.poll());
        t0 = System.nanoTime();
        assertNull(other.poll(150, TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(150));
        assertTrue(other.offer("d", 1, TimeUnit.SECONDS));
        assertEquals("d", q.poll(0, TimeUnit.SECONDS));
        assertEquals(2, q.remainingCapacity());
    }

    @Test
    void putBlocksParkedWhileFullAndTakeBlocksParkedWhileEmpty() throws Exception {
        ClusterBlockingQueue<Integer> q = cluster.ipc(0).queue("blocking", Integer.class, 1);
        ClusterBlockingQueue<Integer> q1 = cluster.ipc(1).queue("blocking", Integer.class, 1);
        ClusterBlockingQueue<Integer> q2 = cluster.ipc(2).queue("blocking", Integer.class, 1);
        q.put(1);
        Thread putter = Thread.ofPlatform().start(() -> {
            try {
                q1.put(2);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        IpcCluster.awaitParked(putter);
        assertEquals(1, q.size());
        assertEquals(1, q2.take());
        putter.join(10_000);
        assertFalse(putter.isAlive());
        assertEquals(2, q2.take());

        AtomicReference<Integer> got = new AtomicReference<>();
        AtomicReference<Integer> gotTimed = new AtomicReference<>();
        Thread taker = Thread.ofPlatform().start(() -> {
            try {
                got.set(q2.take());
            } catch (InterruptedException e) {
                // the other consumer got the item
            }
        });
        IpcCluster.awaitParked(taker);
        Thread timedTaker = Thread.ofPlatform().start(() -> {
            try {
                gotTimed.set(q1.poll(30, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                // the other consumer got the item
            }
        });
        IpcCluster.awaitState(timedTaker, Thread.State.TIMED_WAITING);
        q.put(3);                                  // one of the two waiting consumers gets it (no fairness promised)
        IpcNodes.awaitTrue(() -> got.get() != null || gotTimed.get() != null, "a waiting consumer got the item");
        taker.interrupt();
        timedTaker.interrupt();
        taker.join(10_000);
        timedTaker.join(10_000);
        assertEquals(3, got.get() != null ? got.get() : gotTimed.get());
        assertTrue(got.get() == null || gotTimed.get() == null, "one item, taken twice");
        assertEquals(0, q.size());
    }

    @Test
    void interruptedWaitsThrowClearTheStatusAndLeaveTheQueueUnchanged() throws Exception {
        ClusterBlockingQueue<String> q = cluster.ipc(0).queue("interrupts", String.class, 1);
        ClusterBlockingQueue<String> q2 = cluster.ipc(2).queue("interrupts", String.class, 1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> statusAfter = new AtomicReference<>();
        Thread taker = Thread.ofPlatform().start(() -> {
            try {
                q2.take();
            } catch (Throwable e) {
                thrown.set(e);
                statusAfter.set(Thread.currentThread().isInterrupted());
            }
        });
        IpcCluster.awaitParked(taker);
        taker.interrupt();
        taker.join(10_000);
        assertInstanceOf(InterruptedException.class, thrown.get());
        assertFalse(statusAfter.get());
        q.put("x");                                // not swallowed by the interrupted taker
        assertEquals("x", q2.poll(5, TimeUnit.SECONDS));

        q.put("full");
        thrown.set(null);
        Thread putter = Thread.ofPlatform().start(() -> {
            try {
                q2.put("never");
            } catch (Throwable e) {
                thrown.set(e);
                statusAfter.set(Thread.currentThread().isInterrupted());
            }
        });
        IpcCluster.awaitParked(putter);
        putter.interrupt();
        putter.join(10_000);
        assertInstanceOf(InterruptedException.class, thrown.get());
        assertFalse(statusAfter.get());
        assertEquals(List.of("full"), new ArrayList<>(q));

        Thread.currentThread().interrupt();        // already interrupted: throws at once
        assertThrows(InterruptedException.class, () -> q.poll(1, TimeUnit.SECONDS));
        assertFalse(Thread.interrupted());
        assertEquals("full", q.take());
    }

    @Test
    void drainToIterationAndCollectionMethods() throws Exception {
        ClusterBlockingQueue<String> q = cluster.ipc(1).queue("drain", String.class);
        ClusterBlockingQueue<String> q0 = cluster.ipc(0).queue("drain", String.class);
        assertEquals(Integer.MAX_VALUE, q.remainingCapacity());
        for (int i = 0; i < 10; i++) {
            q0.put("e" + i);
        }
        assertEquals(10, q.size());
        assertTrue(q.contains("e3"));
        assertFalse(q.contains("nope"));
        assertFalse(q.contains(null));
        assertEquals("e0", q.peek());
        assertEquals("e0", q.element());
        assertArrayEquals(new Object[]{"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"}, q.toArray());
        assertEquals(10, q.toArray(new String[0]).length);
        assertTrue(q.remove("e5"));
        assertFalse(q.remove("e5"));
        Iterator<String> it = q0.iterator();
        assertEquals("e0", it.next());
        it.remove();
        assertThrows(IllegalStateException.class, it::remove);
        List<String> rest = new ArrayList<>();
        it.forEachRemaining(rest::add);
        assertEquals(List.of("e1", "e2", "e3", "e4", "e6", "e7", "e8", "e9"), rest);
        assertThrows(NoSuchElementException.class, it::next);
        List<String> out = new ArrayList<>();
        assertEquals(3, q.drainTo(out, 3));
        assertEquals(List.of("e1", "e2", "e3"), out);
        assertEquals(0, q.drainTo(out, 0));
        assertEquals(5, q0.drainTo(out));
        assertEquals(List.of("e1", "e2", "e3", "e4", "e6", "e7", "e8", "e9"), out);
        assertEquals(0, q.drainTo(out));
        assertThrows(IllegalArgumentException.class, () -> q.drainTo(q));
        assertThrows(NullPointerException.class, () -> q.drainTo(null));
        q.addAll(List.of("a", "b", "c"));
        assertEquals("a", q0.remove());
        q0.clear();
        assertTrue(q.isEmpty());
        assertThrows(NoSuchElementException.class, q::remove);
        assertThrows(NoSuchElementException.class, q::element);
        assertNull(q.peek());
    }

    @Test
    void nullsAndWrongTypesAreRefusedAndTheQueueIsFoundByName() throws Exception {
        ClusterBlockingQueue<String> q = cluster.ipc(2).queue("nulls", String.class, 10);
        assertThrows(NullPointerException.class, () -> q.offer(null));
        assertThrows(NullPointerException.class, () -> q.add(null));
        assertThrows(NullPointerException.class, () -> q.put(null));
        assertThrows(NullPointerException.class, () -> q.offer(null, 1, TimeUnit.SECONDS));
        assertThrows(IllegalArgumentException.class, () -> cluster.ipc(0).queue("nulls", Integer.class, 10));
        assertThrows(IllegalArgumentException.class, () -> cluster.ipc(0).queue("nulls", String.class, 11));
        @SuppressWarnings({"unchecked", "rawtypes"})
        ClusterBlockingQueue<Object> raw = (ClusterBlockingQueue) q;
        assertThrows(ClassCastException.class, () -> raw.offer(42));
        assertEquals(2, q.home());
        assertEquals(2, cluster.ipc(0).queue("nulls", String.class, 10).home());
        assertEquals("nulls", q.name());
        assertEquals(10, q.capacity());
    }

    @Test
    void itemsFetchedByANodeThatStopsTakingGoBackToTheQueue() throws Exception {
        ClusterBlockingQueue<Integer> q0 = cluster.ipc(0).queue("linger", Integer.class, 20);
        ClusterBlockingQueue<Integer> q1 = cluster.ipc(1).queue("linger", Integer.class, 20);
        ClusterBlockingQueue<Integer> q2 = cluster.ipc(2).queue("linger", Integer.class, 20);
        for (int i = 0; i < 20; i++) {
            q0.put(i);
        }
        assertEquals(0, q0.remainingCapacity());
        assertEquals(0, q1.poll());                // node 1 fetches a batch, takes one
        List<Integer> rest = new ArrayList<>();
        for (int i = 1; i < 20; i++) {             // the rest reach node 2 once node 1 gives them back
            rest.add(q2.poll(10, TimeUnit.SECONDS));
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 1; i < 20; i++) {
            expected.add(i);
        }
        assertEquals(expected, rest);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (q0.remainingCapacity() < 20 && System.nanoTime() < end) {
            Thread.sleep(5);                       // acknowledgements are one-way messages
        }
        assertEquals(20, q0.remainingCapacity());
    }

    @Test
    void manyProducerThreadsOnOneNodeShareBatches() throws Exception {
        ClusterBlockingQueue<Integer> q = cluster.ipc(0).queue("batches", Integer.class);
        ClusterBlockingQueue<Integer> q1 = cluster.ipc(1).queue("batches", Integer.class);
        int threads = 8;
        int per = 200;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int base = t * per;
            Thread.ofVirtual().start(() -> {
                for (int i = 0; i < per; i++) {
                    q1.offer(base + i);
                }
                done.countDown();
            });
        }
        assertTrue(done.await(30, TimeUnit.SECONDS));
        Set<Integer> all = new HashSet<>();
        List<Integer> out = new ArrayList<>();
        q.drainTo(out);
        all.addAll(out);
        assertEquals(threads * per, out.size());
        assertEquals(threads * per, all.size());
    }
}
