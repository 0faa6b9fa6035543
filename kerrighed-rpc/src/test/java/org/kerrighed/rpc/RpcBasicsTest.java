package org.kerrighed.rpc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.TestTypes.Ping;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Request/response, one-way, multicast and handler semantics on one shared 3-node in-process cluster. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RpcBasicsTest {
    private static InProcessCluster cluster;
    private static final Map<Integer, long[]> lastSeqBySender = new ConcurrentHashMap<>();
    private static final AtomicLong orderViolations = new AtomicLong();
    private static final AtomicLong pingsReceived = new AtomicLong();
    private static final Map<String, String> handlerThreads = new ConcurrentHashMap<>();

    @BeforeAll
    static void startCluster() {
        cluster = InProcessCluster.start(3, b -> b.types(new TestTypes()).maxFrameBytes(64 * 1024));
        for (RpcNode n : cluster.nodes()) {
            n.register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> {
                handlerThreads.put("nonblocking", Thread.currentThread().toString());
                return s + "@" + n.nodeId();
            });
            n.register(TestTypes.BYTES, HandlerKind.BLOCKING, (ctx, b) -> {
                handlerThreads.put("blocking", Thread.currentThread().toString());
                return b;
            });
            n.register(TestTypes.FAIL, HandlerKind.BLOCKING, (ctx, s) -> {
                throw new IllegalStateException("refused: " + s);
            });
            n.register(TestTypes.SLOW, HandlerKind.BLOCKING, (ctx, s) -> {
                Thread.sleep(Long.parseLong(s));
                return s;
            });
            n.register(TestTypes.ANY, HandlerKind.NON_BLOCKING, (ctx, o) -> o);
            n.register(TestTypes.PING, HandlerKind.NON_BLOCKING, (ctx, p) -> {
                // Per (sender thread) sequence numbers must arrive strictly increasing.
                long[] last = lastSeqBySender.computeIfAbsent(p.from(), k -> new long[]{-1});
                synchronized (last) {
                    if (p.seq() <= last[0]) {
                        orderViolations.incrementAndGet();
                    }
                    last[0] = p.seq();
                }
                pingsReceived.incrementAndGet();
                return null;
            });
        }
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    private static RpcNode node(int id) {
        return cluster.node(id);
    }

    @Test
    void requestReachesTheNamedNodeAndReplies() throws Exception {
        assertEquals("hi@1", node(0).call(1, TestTypes.ECHO, "hi").get(5, TimeUnit.SECONDS));
        assertEquals("hi@2", node(0).call(2, TestTypes.ECHO, "hi").get(5, TimeUnit.SECONDS));
        assertEquals("back@0", node(2).call(0, TestTypes.ECHO, "back").get(5, TimeUnit.SECONDS));
    }

    @Test
    void callToSelfIsServedLocally() throws Exception {
        assertEquals("me@1", node(1).call(1, TestTypes.ECHO, "me").get(5, TimeUnit.SECONDS));
    }

    @Test
    void registeredRecordsWithCollectionsRoundTrip() throws Exception {
        var p = new TestTypes.Payload("text", List.of(1, 2, 3));
        assertEquals(p, node(0).call(1, TestTypes.ANY, p).get(5, TimeUnit.SECONDS));
    }

    @Test
    void messagesOnOneLinkArriveInSendOrderUnderConcurrency() throws Exception {
        int threads = 8;
        int perThread = 3000;
        long before = pingsReceived.get();
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int sender = 100 + t;
            Thread th = (t % 2 == 0 ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                for (int i = 0; i < perThread; i++) {
                    node(0).send(1, TestTypes.PING, new Ping(sender, i));
                    if (i % 500 == 0) {
                        // Mix in requests on the same link: they must not reorder the one-ways.
                        node(0).call(1, TestTypes.ECHO, "x").join();
                    }
                }
            });
            senders.add(th);
        }
        for (Thread th : senders) {
            th.join();
        }
        // A request sent after every one-way returns after the one-ways were handled (same link, same order).
        node(0).call(1, TestTypes.ECHO, "fence").get(10, TimeUnit.SECONDS);
        assertEquals(before + (long) threads * perThread, pingsReceived.get(), "every one-way arrived");
        assertEquals(0, orderViolations.get(), "per-sender order kept on the link");
    }

    @Test
    void remoteFailureArrivesAsDataWithTypeAndMessage() {
        var e = assertThrows(ExecutionException.class, () -> node(0).call(2, TestTypes.FAIL, "no").get(5, TimeUnit.SECONDS));
        RemoteException re = assertInstanceOf(RemoteException.class, e.getCause());
        assertEquals(IllegalStateException.class.getName(), re.remoteType());
        assertEquals(2, re.peer());
        assertTrue(re.getMessage().contains("refused: no"), re.getMessage());
    }

    @Test
    void unknownServiceIsAnErrorNotATimeout() {
        var nope = ServiceKey.of(1099, "nope", String.class, String.class);
        var e = assertThrows(ExecutionException.class, () -> node(0).call(1, nope, "x").get(5, TimeUnit.SECONDS));
        RemoteException re = assertInstanceOf(RemoteException.class, e.getCause());
        assertTrue(re.getMessage().contains("no service 1099"), re.getMessage());
    }

    @Test
    void unregisteredTypeFailsAtTheCallerAndSendsNothing() {
        long framesBefore = framesOut(0, 1);
        var e = assertThrows(SerializationException.class,
                () -> node(0).call(1, TestTypes.ANY, new TestTypes.Unregistered(1)));
        assertTrue(e.getMessage().contains(TestTypes.Unregistered.class.getName()), e.getMessage());
        assertEquals(framesBefore, framesOut(0, 1));
    }

    private static long framesOut(int from, int to) {
        return node(from).stats().peers().stream().filter(p -> p.peer() == to)
                .mapToLong(RpcStats.PeerStats::framesOut).sum();
    }

    @Test
    void oversizedMessageFailsAtTheCaller() {
        var e = assertThrows(FrameTooLargeException.class, () -> node(0).call(1, TestTypes.BYTES, new byte[100_000]));
        assertTrue(e.getMessage().contains("limits.max-frame-bytes"), e.getMessage());
    }

    /**
     * A multicast whose value fits the frame limit but not with a request's header fails at the caller, before any
     * node is called, and the links go on.
     */
    @Test
    void aMulticastTooLargeWithItsHeaderFailsAtTheCaller() throws Exception {
        int limit = node(0).config().maxFrameBytes();
        var e = assertThrows(FrameTooLargeException.class, () -> node(0).multicast(List.of(1, 2), TestTypes.BYTES,
                new byte[limit - 12], Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("limits.max-frame-bytes"), e.getMessage());
        MulticastResult<byte[]> r = node(0).multicast(List.of(1, 2), TestTypes.BYTES, new byte[limit - 64],
                Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
        assertEquals(2, r.replies().size(), "a value with room for the header goes: " + r.failures());
    }

    @Test
    void everyMessageTheSenderAcceptsFitsTheReceiversLimit() throws Exception {
        var sink = ServiceKey.oneWay(1090, "test.sink", byte[].class);
        java.util.concurrent.atomic.AtomicInteger received = new java.util.concurrent.atomic.AtomicInteger();
        node(1).register(sink, HandlerKind.NON_BLOCKING, (ctx, b) -> {
            received.incrementAndGet();
            return null;
        });
        try {
            int limit = node(0).config().maxFrameBytes();
            int sent = 0;
            boolean refused = false;
            for (int size = limit - 48; size <= limit && !refused; size++) {
                try {
                    node(0).send(1, sink, new byte[size]);
                    sent++;
                } catch (FrameTooLargeException e) {
                    refused = true;                      // the sender's limit: nothing larger goes out
                }
            }
            assertTrue(refused && sent > 0, "the sizes tried straddle the limit: sent " + sent);
            // The link survived the largest frames (a receiver refusing one would have closed it).
            assertEquals("after", node(0).call(1, TestTypes.ECHO, "after").get(5, TimeUnit.SECONDS).split("@")[0]);
            assertEquals(sent, received.get());
        } finally {
            node(1).unregister(1090);
        }
    }

    @Test
    void callPastItsDeadlineFailsWithTimeout() {
        var e = assertThrows(ExecutionException.class,
                () -> node(0).call(1, TestTypes.SLOW, "1500", Duration.ofMillis(100)).get(5, TimeUnit.SECONDS));
        assertInstanceOf(RpcTimeoutException.class, e.getCause());
    }

    @Test
    void blockingHandlersRunOnVirtualThreadsAndNonBlockingOnTheIoThread() throws Exception {
        node(0).call(1, TestTypes.ECHO, "a").get(5, TimeUnit.SECONDS);
        node(0).call(1, TestTypes.BYTES, new byte[]{1}).get(5, TimeUnit.SECONDS);
        assertTrue(handlerThreads.get("nonblocking").contains("-io-"), handlerThreads.get("nonblocking"));
        assertTrue(handlerThreads.get("blocking").startsWith("VirtualThread"), handlerThreads.get("blocking"));
    }

    /** Frames node {@code n} sent to node {@code peer} so far. */
    private static long framesTo(RpcNode n, int peer) {
        return n.stats().peers().stream().filter(x -> x.peer() == peer).mapToLong(RpcStats.PeerStats::framesOut)
                .sum();
    }

    @Test
    void tasksLeftForAfterTheReplyRunOnceItWasSentInOrderOnTheIoThread() throws Exception {
        int id = 1094;
        for (HandlerKind kind : HandlerKind.values()) {               // a reply from the I/O thread, or handed to it
            ServiceKey<String, String> key = ServiceKey.of(id++, "after-reply-" + kind, String.class, String.class);
            List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch ran = new CountDownLatch(2);
            long[] framesInHandler = new long[1];
            node(1).register(key, kind, (ctx, s) -> {
                framesInHandler[0] = framesTo(node(1), ctx.caller());
                ctx.afterReply(() -> {
                    events.add("first, reply sent " + (framesTo(node(1), 0) > framesInHandler[0]) + ", on "
                            + Thread.currentThread().getName());
                    ran.countDown();
                });
                ctx.afterReply(() -> {
                    throw new IllegalStateException("a failing task is logged; the next ones still run");
                });
                ctx.afterReply(() -> {
                    events.add("second");
                    ran.countDown();
                });
                events.add("handler");
                return s;
            });
            try {
                assertEquals("x", node(0).call(1, key, "x").get(5, TimeUnit.SECONDS));
                assertTrue(ran.await(5, TimeUnit.SECONDS), events.toString());
                assertEquals(3, events.size(), events.toString());
                assertEquals("handler", events.get(0));
                assertTrue(events.get(1).startsWith("first, reply sent true, on ") && events.get(1).contains("-io-"),
                        kind + ": " + events);
                assertEquals("second", events.get(2));
            } finally {
                node(1).unregister(key.id());
            }
        }
    }

    /**
     * Replies handed to the I/O thread by handler threads, interleaved with replies that thread writes itself (which
     * write the handed-off frames first): every reply's task runs, none is left behind with no drain to come.
     */
    @Test
    void everyTaskLeftForAfterAReplyRunsWhileTheIoThreadWritesOtherFrames() throws Exception {
        ServiceKey<String, String> key = ServiceKey.of(1097, "after-reply-busy", String.class, String.class);
        AtomicInteger ran = new AtomicInteger();
        node(1).register(key, HandlerKind.BLOCKING, (ctx, s) -> {
            ctx.afterReply(ran::incrementAndGet);
            return s;
        });
        try {
            int rounds = 50;
            for (int r = 0; r < rounds; r++) {
                List<CompletableFuture<?>> all = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    all.add(node(0).call(1, key, "b"));
                    all.add(node(0).call(1, TestTypes.ECHO, "e"));       // written by node 1's I/O thread itself
                }
                CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
                int expected = (r + 1) * 20;
                for (int i = 0; i < 500 && ran.get() < expected; i++) {
                    Thread.sleep(2);
                }
                assertEquals(expected, ran.get(), "round " + r + ": a task was left behind");
            }
        } finally {
            node(1).unregister(key.id());
        }
    }

    @Test
    void anAsyncHandlersTasksRunOnceItsLateReplyWentAndTasksGivenAfterRunAtOnce() throws Exception {
        ServiceKey<String, String> key = ServiceKey.of(1096, "after-late-reply", String.class, String.class);
        CompletableFuture<String> reply = new CompletableFuture<>();
        AtomicReference<CallContext> context = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(2);
        node(1).registerAsync(key, HandlerKind.NON_BLOCKING, (ctx, s) -> {
            context.set(ctx);
            ctx.afterReply(ran::countDown);
            return reply;
        });
        try {
            CompletableFuture<String> call = node(0).call(1, key, "x");
            for (int i = 0; i < 500 && context.get() == null; i++) {
                Thread.sleep(10);
            }
            assertNotNull(context.get(), "the handler ran");
            Thread.sleep(100);
            assertEquals(2, ran.getCount(), "nothing ran before the reply");
            reply.complete("late");
            assertEquals("late", call.get(5, TimeUnit.SECONDS));
            for (int i = 0; i < 500 && ran.getCount() == 2; i++) {
                Thread.sleep(10);
            }
            assertEquals(1, ran.getCount(), "the task given in the handler ran once the reply went");
            context.get().afterReply(ran::countDown);           // given after they ran: runs at once, here
            assertEquals(0, ran.getCount());
        } finally {
            node(1).unregister(key.id());
        }
    }

    @Test
    void dependentStagesNeverRunOnAnIoThread() throws Exception {
        for (int i = 0; i < 50; i++) {
            String thread = node(0).call(1, TestTypes.ECHO, "t")
                    .thenApply(s -> Thread.currentThread().toString())
                    .get(5, TimeUnit.SECONDS);
            assertFalse(thread.contains("-io-"), thread);
        }
    }

    @Test
    void continuationsAskingForTheIoThreadRunWhereTheReplyArrived() throws Exception {
        // The handler sleeps 100 ms, so the stage is attached long before the reply arrives.
        String thread = node(0).call(1, TestTypes.SLOW, "100")
                .thenApplyAsync(s -> Thread.currentThread().toString(), RpcNode.ON_IO_THREAD)
                .get(5, TimeUnit.SECONDS);
        assertTrue(thread.contains("-io-"), thread);
    }

    @Test
    void orderedHandlersRunOneKeyAtATimeInArrivalOrder() throws Exception {
        var key = ServiceKey.of(1020, "ordered", TestTypes.Payload.class, String.class);
        Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> active = new ConcurrentHashMap<>();
        AtomicInteger overlap = new AtomicInteger();
        AtomicInteger maxConcurrentKeys = new AtomicInteger();
        AtomicInteger running = new AtomicInteger();
        node(2).registerOrdered(key, TestTypes.Payload::text, (ctx, p) -> {
            int now = running.incrementAndGet();
            maxConcurrentKeys.accumulateAndGet(now, Math::max);
            if (active.computeIfAbsent(p.text(), k -> new AtomicInteger()).incrementAndGet() > 1) {
                overlap.incrementAndGet();
            }
            Thread.sleep(2);
            seen.computeIfAbsent(p.text(), k -> new ArrayList<>()).add(p.numbers().getFirst());
            active.get(p.text()).decrementAndGet();
            running.decrementAndGet();
            return "ok";
        });
        try {
            List<CompletableFuture<String>> calls = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                for (String k : List.of("a", "b", "c")) {
                    calls.add(node(0).call(2, key, new TestTypes.Payload(k, List.of(i))));
                }
            }
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertEquals(0, overlap.get(), "one handler at a time per key");
            for (String k : List.of("a", "b", "c")) {
                List<Integer> order = seen.get(k);
                assertEquals(40, order.size());
                for (int i = 0; i < 40; i++) {
                    assertEquals(i, order.get(i), "arrival order for key " + k);
                }
            }
            assertTrue(maxConcurrentKeys.get() > 1, "different keys ran concurrently");
        } finally {
            node(2).unregister(key.id());
        }
    }

    @Test
    void multicastReturnsEveryNodesOutcome() throws Exception {
        MulticastResult<String> r = node(0).multicast(List.of(0, 1, 2, 77), TestTypes.ECHO, "m", Duration.ofSeconds(5))
                .get(10, TimeUnit.SECONDS);
        assertEquals(Map.of(0, "m@0", 1, "m@1", 2, "m@2"), r.replies());
        assertEquals(List.of(77), List.copyOf(r.failures().keySet()));
        assertInstanceOf(LinkClosedException.class, r.failures().get(77));
        assertFalse(r.allSucceeded());
    }

    @Test
    void statsCountCallsBytesAndLatencyPerServiceAndPeer() throws Exception {
        for (int i = 0; i < 20; i++) {
            node(1).call(2, TestTypes.ECHO, "s").get(5, TimeUnit.SECONDS);
        }
        RpcStats s = node(1).stats();
        RpcStats.ServiceStats echo = s.services().stream().filter(x -> x.serviceId() == TestTypes.ECHO.id())
                .findFirst().orElseThrow();
        assertTrue(echo.callsOut() >= 20);
        assertTrue(echo.bytesOut() > 0 && echo.bytesIn() > 0);
        assertTrue(echo.latency().count() >= 20 && echo.latency().p50Micros() > 0);
        RpcStats.PeerStats peer2 = s.peers().stream().filter(p -> p.peer() == 2).findFirst().orElseThrow();
        assertTrue(peer2.connected());
        assertTrue(peer2.framesOut() >= 20 && peer2.latency().count() >= 20);
    }

    @Test
    void toolClientAuthenticatesAndCallsOneNode() throws Exception {
        RpcConfig clientConfig = cluster.template().toBuilder().nodeId(-1).build();
        try (RpcClient client = RpcClient.connect(clientConfig, node(1).address())) {
            assertEquals(1, client.server());
            assertEquals("tool@1", client.call(TestTypes.ECHO, "tool").get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void conversationStreamsBothWaysInOrderAndEnds() throws Exception {
        AtomicReference<Throwable> serverError = new AtomicReference<>();
        CountDownLatch served = new CountDownLatch(1);
        node(1).registerConversation(TestTypes.STREAM, (conv, opening) -> {
            try {
                int n = Integer.parseInt(opening);
                for (int i = 0; i < n; i++) {
                    conv.send("s" + i);
                }
                int got = 0;
                while (conv.receive(Duration.ofSeconds(10)).isPresent()) {
                    got++;
                }
                conv.send("received " + got);
            } catch (Throwable t) {
                serverError.set(t);
            } finally {
                served.countDown();
            }
        });
        try (Conversation c = node(0).openConversation(1, TestTypes.STREAM, "500")) {
            for (int i = 0; i < 500; i++) {
                assertEquals(java.util.Optional.of("s" + i), c.receive(Duration.ofSeconds(10)));
            }
            for (int i = 0; i < 300; i++) {
                c.send("c" + i);
            }
            c.close();
            assertEquals(java.util.Optional.of("received 300"), c.receive(Duration.ofSeconds(10)));
            assertEquals(java.util.Optional.empty(), c.receive(Duration.ofSeconds(10)));
            c.done().get(10, TimeUnit.SECONDS);
        } finally {
            node(1).unregister(TestTypes.STREAM.id());
        }
        assertTrue(served.await(10, TimeUnit.SECONDS));
        assertNull(serverError.get());
    }
}
