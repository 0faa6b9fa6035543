package org.kerrighed.kddm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.kerrighed.kddm.KddmNodes.Counter;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.testing.Await;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.kddm.KddmNodes.read;
import static org.kerrighed.kddm.KddmNodes.write;

/**
 * Node crashes, joins and graceful leaves with real sockets: replicated sets lose no acknowledged write,
 * unreplicated ones report lost objects instead of re-creating them, homes move without losing objects.
 */
class KddmFailureTest {
    private static final int OBJECTS = 60;

    private static List<KddmSet<Counter>> counters(KddmNodes nodes, int replication) {
        return nodes.staticSet(1, SetSpec.of("object", "").withReplication(replication),
                () -> new ObjectLinker<>(Counter.class, id -> new Counter(0)));
    }

    @Test
    void replicatedSetsSurviveACrashThenAnotherAfterAJoin() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            var s = counters(nodes, 2);
            for (int i = 0; i < OBJECTS; i++) {
                write(s.get(i % 3), i, 1000 + i);        // owners spread over the three nodes
            }
            for (int i = 0; i < OBJECTS; i += 4) {
                read(s.get((i + 1) % 3), i);             // and some read copies
            }
            nodes.crash(1);
            KddmSet<Counter> a = nodes.kddm(0).set(1, Counter.class);
            KddmSet<Counter> b = nodes.kddm(2).set(1, Counter.class);
            for (int i = 0; i < OBJECTS; i++) {
                assertEquals(1000 + i, read(i % 2 == 0 ? a : b, i), "object " + i + " after node 1 died");
            }
            for (int i = 0; i < OBJECTS; i++) {
                write(i % 2 == 0 ? b : a, i, 2000 + i);
            }
            Kddm joined = nodes.join(3);                 // full replication is restored with the new node
            KddmSet<Counter> c = joined.createStaticSet(1, SetSpec.of("object", "").withReplication(2),
                    new ObjectLinker<>(Counter.class, id -> new Counter(0)));
            Await.until(() -> backupsOf(nodes) >= OBJECTS * 2L, java.time.Duration.ofSeconds(20),
                    "re-replication to the new node");
            nodes.crash(0);
            for (int i = 0; i < OBJECTS; i++) {
                assertEquals(2000 + i, read(i % 2 == 0 ? c : b, i), "object " + i + " after node 0 died too");
            }
        }
    }

    /**
     * A write released while another pin of its node still holds the object (a reader on another thread) is on the
     * backup when its close returns: the owner's crash right after it does not lose it.
     */
    @Test
    void aWriteReleasedWhileAReaderHoldsTheObjectIsOnItsBackupWhenItReturns() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            var s = counters(nodes, 2);
            write(s.get(1), 7, 1);                           // node 1 owns object 7
            Handle<Counter> reading = s.get(1).get(7);       // a reader of node 1 keeps its pin
            write(s.get(1), 7, 2);
            nodes.crash(1);
            reading.close();
            assertEquals(2, read(nodes.kddm(0).set(1, Counter.class), 7), "the write that returned survived");
        }
    }

    /**
     * A node that misses the view in which another failed (the membership pushes the next one first) sees it only
     * vanish: it takes it as failed, as the membership does, so its view listeners hear of the failure, and the
     * objects the dead node owned are recovered from their replicas. Views go through the membership's hook here,
     * node 2 cut off by link faults.
     */
    @Test
    void aNodeThatMissedTheViewOfAFailureStillTakesItAsFailed() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            long e = 1000;
            writtenUnderMembershipViews(nodes, e, 3000);
            java.util.Set<Integer> heard = java.util.concurrent.ConcurrentHashMap.newKeySet();
            nodes.kddm(0).addViewListener((epoch, members, failed) -> heard.addAll(failed));
            nodes.faults().partition(2, 0).partition(2, 1);
            nodes.kddm(1).hook().viewInstalled(view(e + 1, List.of(0, 1), List.of(2)));
            nodes.kddm(0).hook().viewInstalled(view(e + 2, List.of(0, 1), List.of()));   // e + 1 missed
            nodes.kddm(1).hook().viewInstalled(view(e + 2, List.of(0, 1), List.of()));
            Await.until(() -> heard.contains(2), java.time.Duration.ofSeconds(10), "node 0 told that node 2 failed");
            assertFalse(nodes.kddm(0).sameIncarnation(2, e), "node 2's incarnation of epoch " + e);
            assertTrue(nodes.kddm(0).incarnationEnded(2, e), "node 2's incarnation whose first view was " + e);
            assertFalse(nodes.kddm(0).incarnationEnded(2, e + 3), "a later incarnation of node 2");
            KddmSet<Counter> a = nodes.kddm(0).set(1, Counter.class);
            for (int i = 0; i < OBJECTS; i++) {
                assertEquals(3000 + i, read(a, i), "object " + i + " after node 2 died");
            }
        }
    }

    /**
     * A node that missed the views in which another failed and came back (a new incarnation under the same id)
     * sees only its incarnation change: KDDM takes the old one as failed too, and what the new incarnation makes
     * (stamped with a later epoch) is not taken for the old one's. The view listeners are not told of a failure:
     * they go by node id, and would undo what the new incarnation holds.
     */
    @Test
    void aNodeThatMissedAFailureAndARejoinTakesTheOldIncarnationAsFailed() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            long e = 1000;
            writtenUnderMembershipViews(nodes, e, 4000);
            java.util.Map<Long, java.util.Set<Integer>> heard = new java.util.concurrent.ConcurrentHashMap<>();
            nodes.kddm(0).addViewListener((epoch, members, failed) -> heard.put(epoch, failed));
            for (int n = 0; n < 3; n++) {                // node 2's incarnation changed in the views between
                nodes.kddm(n).hook().viewInstalled(view(e + 3, List.of(0, 1, 2), List.of(), 2));
            }
            Await.until(() -> heard.containsKey(e + 3), java.time.Duration.ofSeconds(10), "node 0's listener told");
            assertEquals(java.util.Set.of(), heard.get(e + 3), "no failure told: node 2 is a member");
            assertFalse(nodes.kddm(0).sameIncarnation(2, e), "node 2's old incarnation");
            assertTrue(nodes.kddm(0).sameIncarnation(2, e + 2), "node 2's new incarnation (it joined after e)");
            assertEquals(e, nodes.kddm(0).lastDeparture(2), "the last view node 0 saw the old incarnation in");
            assertTrue(nodes.kddm(0).incarnationEnded(2, e), "an incarnation whose first view was e ended");
            assertFalse(nodes.kddm(0).incarnationEnded(2, e + 3), "the new incarnation (first view e + 3 at most)");
            KddmSet<Counter> a = nodes.kddm(0).set(1, Counter.class);
            for (int i = 0; i < OBJECTS; i++) {
                assertEquals(4000 + i, read(a, i), "object " + i);
            }
        }
    }

    /**
     * Installs view {@code epoch} of nodes 0-2 through the membership's hook on each, then writes the replicated
     * counters, {@code base + i} into counter i (its owner: node i % 3).
     */
    private static void writtenUnderMembershipViews(KddmNodes nodes, long epoch, long base) {
        for (int n = 0; n < 3; n++) {
            nodes.kddm(n).hook().viewInstalled(view(epoch, List.of(0, 1, 2), List.of()));
        }
        var s = counters(nodes, 2);
        for (int i = 0; i < OBJECTS; i++) {
            write(s.get(i % 3), i, base + i);
        }
    }

    private static org.kerrighed.rpc.membership.View view(long epoch, List<Integer> members, List<Integer> failed) {
        return view(epoch, members, failed, -1);
    }

    /** A view as the membership gives it; node {@code reborn} (if a member) with another incarnation than before. */
    private static org.kerrighed.rpc.membership.View view(long epoch, List<Integer> members, List<Integer> failed,
                                                          int reborn) {
        java.util.function.BiFunction<Integer, org.kerrighed.rpc.membership.NodeState,
                org.kerrighed.rpc.membership.Member> member = (id, state) -> new org.kerrighed.rpc.membership.Member(
                id, id == reborn ? 100 + id : id, new org.kerrighed.rpc.HostAndPort("127.0.0.1", 1),
                new org.kerrighed.rpc.HostAndPort("127.0.0.1", 2), state, epoch, 0);
        return new org.kerrighed.rpc.membership.View(epoch, members.getFirst(),
                members.stream().map(id -> member.apply(id, org.kerrighed.rpc.membership.NodeState.ONLINE)).toList(),
                failed.stream().map(id -> member.apply(id, org.kerrighed.rpc.membership.NodeState.FAILED)).toList(),
                java.util.Set.of());
    }

    private static long backupsOf(KddmNodes nodes) {
        long n = 0;
        for (Kddm k : nodes.all()) {
            for (SetStats st : k.stats()) {
                n += st.backups() + st.owned();
            }
        }
        return n;
    }

    @Test
    void unreplicatedObjectsOfADeadNodeAreLostNotRecreated() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            var s = counters(nodes, 1);
            for (int i = 0; i < 30; i++) {
                write(s.get(i % 3), i, 500 + i);
            }
            nodes.crash(1);
            KddmSet<Counter> a = nodes.kddm(0).set(1, Counter.class);
            for (int i = 0; i < 30; i++) {
                int id = i;
                if (i % 3 == 1) {
                    assertThrows(ObjectLostException.class, () -> read(a, id), "object " + i);
                    assertThrows(ObjectLostException.class, () -> write(a, id, 1), "object " + i);
                } else {
                    assertEquals(500 + i, read(a, i));
                }
            }
            a.remove(1);                                // removing a lost object frees its id
            assertEquals(0, read(a, 1));
        }
    }

    @Test
    void aRequestWaitingForADeadOwnersPinEndsWhenItDies() throws Exception {
        for (int replication : new int[]{1, 2}) {
            try (KddmNodes nodes = new KddmNodes(3)) {
                var s = counters(nodes, replication);
                write(s.get(2), 7, 70);                        // published (and backed up with replication 2)
                Handle<Counter> pin = s.get(2).grab(7);        // node 2 pins it, then dies with the pin
                pin.set(new Counter(71));                      // never published
                var waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return s.get(0).grab(7, Long.MAX_VALUE, java.util.concurrent.TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                });
                Thread.sleep(100);
                assertFalse(waiting.isDone(), "the pin on node 2 holds the request");
                nodes.crash(2);
                if (replication == 2) {
                    try (Handle<Counter> h = waiting.get(20, java.util.concurrent.TimeUnit.SECONDS).orElseThrow()) {
                        assertEquals(70, h.value().value(), "the last published value");
                    }
                } else {
                    var e = assertThrows(java.util.concurrent.ExecutionException.class,
                            () -> waiting.get(20, java.util.concurrent.TimeUnit.SECONDS));
                    assertInstanceOf(ObjectLostException.class, e.getCause(), "got " + e.getCause());
                }
            }
        }
    }

    /**
     * A request for an object whose owner just died, issued on node 1 while the view that declares the owner failed
     * reaches the survivors one at a time (node 1 first, or node 0 first). Node 1 asks the object's home, node 0,
     * which, still on the old view, forwards the request to the dead owner, where it is lost: the request must be
     * sent again once the view is reconciled, and end (with the recovered value, or lost) in well under the call
     * timeout (10 s here), never by waiting it out. With replication 2 the object is recovered on node 0 (its
     * backup), not on the requester, so only a new request brings it.
     */
    @ParameterizedTest(name = "replication {0}, {1}, node {2} learns first")
    @CsvSource({"1, get, 1", "1, get, 0", "1, grab, 1", "1, grab, 0",
            "2, get, 1", "2, get, 0", "2, grab, 1", "2, grab, 0"})
    void aRequestRacingTheOwnersFailureViewEndsPromptly(int replication, String op, int learnsFirst)
            throws Exception {
        try (KddmNodes nodes = new KddmNodes(3)) {
            var s = counters(nodes, replication);
            write(s.get(2), 0, 10);         // node 2 owns object 0, backed up on node 0; its home is node 0
            assertEquals(ObjState.WRITE_OWNER, s.get(2).stateOf(0));
            var request = new java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<Long>>();
            nodes.crash(2, learnsFirst == 1 ? List.of(1, 0) : List.of(0, 1), node -> {
                if (node == learnsFirst) {
                    request.set(java.util.concurrent.CompletableFuture.supplyAsync(() -> op.equals("get")
                            ? read(s.get(1), 0) : s.get(1).update(0, c -> new Counter(c.value() + 1)).value()));
                    sleep(200);         // node 0, on the old view or not synced yet, has had the request by now
                }
            });
            try {
                long v = request.get().get(3, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(2, replication, "a lost object read as " + v);
                assertEquals(op.equals("get") ? 10 : 11, v);
            } catch (java.util.concurrent.ExecutionException e) {
                assertEquals(1, replication, "a recovered object failed: " + e.getCause());
                assertInstanceOf(ObjectLostException.class, e.getCause(), "got " + e.getCause());
            } catch (java.util.concurrent.TimeoutException e) {
                fail("the " + op + " was still waiting 3 s after every survivor installed the view: "
                        + nodes.kddm(1).describe(1, 0) + " / " + nodes.kddm(0).describe(1, 0));
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Test
    void nullValuesTravelAndSurviveAsNull() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            var s = nodes.staticSet(2, SetSpec.of("object", "").withReplication(2),
                    () -> new org.kerrighed.kddm.linkers.ObjectLinker<>(Counter.class));
            for (int n = 0; n < 3; n++) {
                try (Handle<Counter> h = s.get(n).grab(5)) {      // first touch null, then moved as null
                    assertNull(h.value());
                }
            }
            try (Handle<Counter> h = s.get(1).get(5)) {
                assertNull(h.value());
            }
            nodes.crash(2);                                    // node 2 owned it: recovered from its backup
            try (Handle<Counter> h = s.get(0).grab(5)) {
                assertNull(h.value());
                h.set(new Counter(9));
            }
            assertEquals(9, read(s.get(1), 5));
        }
    }

    @Test
    void theFirstWriterAfterAnOwnersDeathIsToldOnce() throws Exception {
        try (KddmNodes nodes = new KddmNodes(4)) {
            var s = counters(nodes, 2);
            for (int i = 0; i < 4; i++) {
                write(s.get(3), i, 100 + i);                   // node 3 owns 0-3, backed up elsewhere
            }
            write(s.get(2), 10, 7);
            try (Handle<Counter> h = s.get(1).grab(10)) {      // taken from a live owner: nothing to tell
                assertFalse(h.ownerDied());
            }
            Handle<Counter> held = s.get(3).grab(0);           // node 3 dies holding object 0...
            var waiter = s.get(0).grabAsync(0);                // ...while node 0 waits for it
            Thread.sleep(50);
            assertFalse(waiter.isDone());
            nodes.crash(3);
            try (Handle<Counter> h = waiter.get(20, java.util.concurrent.TimeUnit.SECONDS)) {
                assertTrue(h.ownerDied(), "the waiter takes over from a dead holder");
                assertEquals(100, h.value().value());
            }
            try (Handle<Counter> h = s.get(1).grab(0)) {
                assertFalse(h.ownerDied(), "told once");
            }
            try (Handle<Counter> h = s.get(1).get(1)) {        // a reader is never told...
                assertFalse(h.ownerDied());
                assertEquals(101, h.value().value());
            }
            try (Handle<Counter> h = s.get(2).grab(1)) {       // ...so the first writer still is
                assertTrue(h.ownerDied());
            }
            try (Handle<Counter> h = s.get(0).grab(1)) {
                assertFalse(h.ownerDied());
            }
            assertFalse(held.ownerDied());
        }
    }

    @Test
    void aJoinMovesHomesWithoutLosingOrDuplicatingObjects() {
        try (KddmNodes nodes = new KddmNodes(2)) {
            var s = counters(nodes, 1);
            for (int i = 0; i < OBJECTS; i++) {
                write(s.get(i % 2), i, 10 + i);
            }
            Kddm joined = nodes.join(2);
            KddmSet<Counter> c = joined.createStaticSet(1, SetSpec.of("object", "").withReplication(1),
                    new ObjectLinker<>(Counter.class, id -> new Counter(0)));
            for (int i = 0; i < OBJECTS; i++) {
                try (Handle<Counter> h = c.grab(i)) {    // the new node is home of a third of them now
                    assertEquals(10 + i, h.value().value(), "object " + i);
                    h.set(new Counter(h.value().value() + 1));
                }
            }
            for (int i = 0; i < OBJECTS; i++) {
                assertEquals(11 + i, read(s.get(i % 2), i));
            }
        }
    }

    @Test
    void aGracefulLeaveHandsEverythingOver() {
        try (KddmNodes nodes = new KddmNodes(3)) {
            var s = counters(nodes, 1);
            for (int i = 0; i < OBJECTS; i++) {
                write(s.get(1), i, 7 + i);              // node 1 owns every object
            }
            nodes.leave(1);
            KddmSet<Counter> a = nodes.kddm(0).set(1, Counter.class);
            for (int i = 0; i < OBJECTS; i++) {
                assertEquals(7 + i, read(a, i), "object " + i + " after node 1 left");
            }
        }
    }

    @Test
    void aCrashUnderAWriteLoadLosesNoAcknowledgedIncrement() throws Exception {
        int objects = 8;
        try (KddmNodes nodes = new KddmNodes(4)) {
            var s = nodes.staticSet(1, SetSpec.of("object", "").withReplication(2).withFlags(SetFlag.LOCAL_EXCLUSIVE),
                    () -> new ObjectLinker<>(Counter.class, id -> new Counter(0)));
            java.util.concurrent.atomic.AtomicLongArray acked = new java.util.concurrent.atomic.AtomicLongArray(objects);
            java.util.concurrent.atomic.AtomicInteger unacked = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.ConcurrentLinkedQueue<String> survivorErrors = new java.util.concurrent.ConcurrentLinkedQueue<>();
            List<Thread> threads = new java.util.ArrayList<>();
            for (int n = 0; n < 4; n++) {
                KddmSet<Counter> set = s.get(n);
                int node = n;
                for (int t = 0; t < 2; t++) {
                    java.util.Random rnd = new java.util.Random(n * 10L + t);
                    threads.add(Thread.ofPlatform().start(() -> {
                        while (!stop.get()) {
                            int o = rnd.nextInt(objects);
                            try (Handle<Counter> h = set.grab(o)) {
                                h.set(new Counter(h.value().value() + 1));
                            } catch (RuntimeException e) {    // on the killed node: KDDM stopped under it
                                unacked.incrementAndGet();     // the write may or may not have happened
                                if (node != 3) {
                                    survivorErrors.add(e.toString());
                                }
                                if (node == 3) {
                                    return;
                                }
                                continue;
                            }
                            acked.incrementAndGet(o);
                        }
                    }));
                }
            }
            Thread.sleep(700);
            nodes.crash(3);                                  // sockets close mid-load, like a SIGKILL
            Thread.sleep(700);
            stop.set(true);
            for (Thread t : threads) {
                t.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(60));
                assertFalse(t.isAlive(), "a writer is stuck");
            }
            if (!survivorErrors.isEmpty()) {
                StringBuilder sb = new StringBuilder("survivors failed: " + survivorErrors);
                for (int o = 0; o < objects; o++) {
                    for (Kddm k : nodes.all()) {
                        sb.append("\n  ").append(k.describe(1, o));
                    }
                }
                fail(sb.toString());
            }
            long total = 0;
            for (int o = 0; o < objects; o++) {
                long v = read(s.get(0), o);
                if (v < acked.get(o)) {
                    StringBuilder sb = new StringBuilder("object " + o + ": " + v + " < " + acked.get(o) + " acknowledged");
                    for (Kddm k : nodes.all()) {
                        sb.append("\n  ").append(k.describe(1, o));
                    }
                    fail(sb.toString());
                }
                assertEquals(v, read(s.get(1), o));
                assertEquals(v, read(s.get(2), o));
                total += v - acked.get(o);
            }
            assertTrue(total <= unacked.get(), total + " increments appeared that were neither acknowledged nor in doubt ("
                    + unacked.get() + ")");
        }
    }
}
