package org.kerrighed.rpc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.testing.Await;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.*;

/** Links that close, nodes that stop, frames dropped and delayed: nothing pending waits for its deadline. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RpcFailureTest {

    private static InProcessCluster cluster(int n, CountDownLatch release) {
        InProcessCluster c = InProcessCluster.start(n, b -> b.types(new TestTypes()));
        for (RpcNode node : c.nodes()) {
            node.register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> s);
            node.register(TestTypes.SLOW, HandlerKind.BLOCKING, (ctx, s) -> {
                release.await(60, TimeUnit.SECONDS);
                return s;
            });
            node.registerConversation(TestTypes.STREAM, (conv, opening) -> {
                release.await(60, TimeUnit.SECONDS);
            });
        }
        return c;
    }

    @Test
    void theFirstCallOfAnInterruptedThreadKeepsItsInterrupt() throws Exception {
        try (InProcessCluster c = cluster(2, new CountDownLatch(0))) {
            Thread.currentThread().interrupt();            // a fresh endpoint's first call with a timeout
            CompletableFuture<String> f = c.node(0).call(1, TestTypes.ECHO, "x");
            assertTrue(Thread.interrupted(), "the call swallowed the caller's interrupt");
            assertEquals("x", f.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void closedLinkFailsEveryPendingCallAndConversationAtOnce() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (InProcessCluster c = cluster(2, release)) {
            RpcNode a = c.node(0);
            List<CompletableFuture<String>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                calls.add(a.call(1, TestTypes.SLOW, "c" + i));         // default deadline: 30 s
            }
            List<Conversation> convs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                convs.add(a.openConversation(1, TestTypes.STREAM, "o" + i));
            }
            Await.until(() -> c.node(1).stats().services().stream()
                    .filter(s -> s.serviceId() == TestTypes.SLOW.id()).mapToLong(RpcStats.ServiceStats::callsIn)
                    .sum() == 50, Duration.ofSeconds(10), "all calls reached node 1");

            long start = System.nanoTime();
            c.closeLink(0, 1);
            for (CompletableFuture<String> f : calls) {
                var e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
                assertInstanceOf(LinkClosedException.class, e.getCause());
                assertEquals(1, ((LinkClosedException) e.getCause()).peer());
            }
            for (Conversation conv : convs) {
                assertThrows(LinkClosedException.class, () -> conv.receive(Duration.ofSeconds(5)));
                assertThrows(ExecutionException.class, () -> conv.done().get(5, TimeUnit.SECONDS));
            }
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(elapsedMs < 5_000, "failed at once, not at the deadline: " + elapsedMs + " ms");
            release.countDown();
            // The next call opens a fresh link.
            assertEquals("again", a.call(1, TestTypes.ECHO, "again").get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void stoppedNodeFailsCallsPendingOnItOnBothSides() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (InProcessCluster c = cluster(3, release)) {
            CompletableFuture<String> toTwo = c.node(0).call(2, TestTypes.SLOW, "x");
            Await.until(() -> c.node(2).stats().services().stream()
                    .anyMatch(s -> s.serviceId() == TestTypes.SLOW.id() && s.callsIn() == 1),
                    Duration.ofSeconds(10), "call reached node 2");
            c.stop(2);
            var e = assertThrows(ExecutionException.class, () -> toTwo.get(5, TimeUnit.SECONDS));
            assertInstanceOf(LinkClosedException.class, e.getCause());
            assertEquals("ok", c.node(0).call(1, TestTypes.ECHO, "ok").get(5, TimeUnit.SECONDS));
            release.countDown();
        }
    }

    @Test
    void multicastWithAPeerClosingMidCallReportsEachNode() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (InProcessCluster c = cluster(3, release)) {
            CompletableFuture<MulticastResult<String>> m =
                    c.node(0).multicast(List.of(1, 2), TestTypes.SLOW, "m", Duration.ofSeconds(30));
            Await.until(() -> c.node(2).stats().services().stream()
                    .anyMatch(s -> s.serviceId() == TestTypes.SLOW.id() && s.callsIn() == 1),
                    Duration.ofSeconds(10), "multicast reached node 2");
            c.stop(2);
            release.countDown();                       // node 1 now answers
            MulticastResult<String> r = m.get(10, TimeUnit.SECONDS);
            assertEquals("m", r.replies().get(1));
            assertInstanceOf(LinkClosedException.class, r.failures().get(2));
            assertEquals(java.util.Set.of(1, 2), r.nodes());
        }
    }

    @Test
    void callToAnUnreachableAddressFailsQuickly() throws Exception {
        try (InProcessCluster c = cluster(1, new CountDownLatch(0))) {
            c.node(0).addPeer(9, new HostAndPort("127.0.0.1", 1));   // nothing listens on port 1
            var e = assertThrows(ExecutionException.class,
                    () -> c.node(0).call(9, TestTypes.ECHO, "x").get(10, TimeUnit.SECONDS));
            assertInstanceOf(LinkClosedException.class, e.getCause());
        }
    }

    @Test
    void droppedFramesEndInATimeoutAndHealedLinksWorkAgain() throws Exception {
        try (InProcessCluster c = cluster(2, new CountDownLatch(0))) {
            assertEquals("warm", c.node(0).call(1, TestTypes.ECHO, "warm").get(5, TimeUnit.SECONDS));
            c.faults().drop(0, 1);
            var e = assertThrows(ExecutionException.class,
                    () -> c.node(0).call(1, TestTypes.ECHO, "lost", Duration.ofMillis(300)).get(5, TimeUnit.SECONDS));
            assertInstanceOf(RpcTimeoutException.class, e.getCause());
            c.faults().heal();
            assertEquals("back", c.node(0).call(1, TestTypes.ECHO, "back").get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void delayedLinkDeliversLateButInOrder() throws Exception {
        try (InProcessCluster c = cluster(2, new CountDownLatch(0))) {
            List<Long> arrivals = java.util.Collections.synchronizedList(new ArrayList<>());
            c.node(1).register(TestTypes.PING, HandlerKind.NON_BLOCKING, (ctx, p) -> {
                arrivals.add(p.seq());
                return null;
            });
            assertEquals("warm", c.node(0).call(1, TestTypes.ECHO, "warm").get(5, TimeUnit.SECONDS));
            c.faults().delay(0, 1, Duration.ofMillis(150));
            long start = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                c.node(0).send(1, TestTypes.PING, new TestTypes.Ping(0, i));
            }
            // The fault applies when the frame reaches the wire, which happens on the I/O thread after
            // send() returns; so the fault stays in place until the fence call, itself delayed, is answered.
            c.node(0).call(1, TestTypes.ECHO, "fence").get(5, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            c.faults().heal();
            assertTrue(ms >= 140, "delayed by the fault: " + ms + " ms");
            assertEquals(100, arrivals.size());
            for (int i = 0; i < 100; i++) {
                assertEquals(i, arrivals.get(i));
            }
        }
    }

    @Test
    void closedEndpointRefusesNewCalls() {
        InProcessCluster c = cluster(2, new CountDownLatch(0));
        RpcNode a = c.node(0);
        c.close();
        assertThrows(LinkClosedException.class, () -> a.call(1, TestTypes.ECHO, "x"));
    }

    @Test
    void conversationSenderWaitsForCreditAndReceiverHoldsAtMostTheWindow() throws Exception {
        int window = 8;
        try (InProcessCluster c = InProcessCluster.start(2, b -> b.types(new TestTypes()).conversationWindow(window))) {
            CountDownLatch startReading = new CountDownLatch(1);
            List<Object> received = java.util.Collections.synchronizedList(new ArrayList<>());
            c.node(1).registerConversation(TestTypes.STREAM, (conv, opening) -> {
                startReading.await(30, TimeUnit.SECONDS);
                while (true) {
                    var m = conv.receive(Duration.ofSeconds(10));
                    if (m.isEmpty()) {
                        break;
                    }
                    received.add(m.get());
                }
            });
            try (Conversation conv = c.node(0).openConversation(1, TestTypes.STREAM, "go")) {
                for (int i = 0; i < window; i++) {
                    conv.send("m" + i, Duration.ofSeconds(5));           // within the window: no wait
                }
                // The receiver reads nothing yet: the next send finds no credit.
                assertThrows(TimeoutException.class, () -> conv.send("blocked", Duration.ofMillis(300)));
                startReading.countDown();
                for (int i = window; i < 2000; i++) {
                    conv.send("m" + i, Duration.ofSeconds(10));
                }
                conv.close();
                conv.done().get(20, TimeUnit.SECONDS);
            }
            assertEquals(2000, received.size());
            for (int i = 0; i < 2000; i++) {
                assertEquals("m" + i, received.get(i));
            }
        }
    }

    @Test
    void conversationHandlerFailureReachesTheInitiator() throws Exception {
        try (InProcessCluster c = InProcessCluster.start(2, b -> b.types(new TestTypes()))) {
            c.node(1).registerConversation(TestTypes.STREAM, (conv, opening) -> {
                throw new IllegalArgumentException("bad opening " + opening);
            });
            try (Conversation conv = c.node(0).openConversation(1, TestTypes.STREAM, "zz")) {
                RemoteException e = assertThrows(RemoteException.class, () -> conv.receive(Duration.ofSeconds(5)));
                assertEquals(IllegalArgumentException.class.getName(), e.remoteType());
                assertTrue(e.getMessage().contains("bad opening zz"));
            }
            // Unknown conversation service: aborted at once.
            var other = ConversationKey.of(1011, "nobody", String.class);
            try (Conversation conv = c.node(0).openConversation(1, other, "x")) {
                RemoteException e = assertThrows(RemoteException.class, () -> conv.receive(Duration.ofSeconds(5)));
                assertTrue(e.getMessage().contains("no conversation service"), e.getMessage());
            }
        }
    }

    @Test
    void admissionFencesAnIncarnationAndListenersSeeLinksComeAndGo() throws Exception {
        try (InProcessCluster c = cluster(2, new CountDownLatch(0))) {
            List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
            c.node(0).addLinkListener(new LinkListener() {
                @Override
                public void linkUp(int nodeId, long incarnation) {
                    events.add("up " + nodeId + " " + (incarnation == c.node(nodeId).incarnation()));
                }

                @Override
                public void linkDown(int nodeId, String reason) {
                    events.add("down " + nodeId);
                }
            });
            assertEquals("x", c.node(1).call(0, TestTypes.ECHO, "x").get(5, TimeUnit.SECONDS));
            Await.until(() -> events.contains("up 1 true"), Duration.ofSeconds(5), "link up seen with incarnation");
            long fenced = c.node(1).incarnation();
            c.node(0).setAdmission((id, inc) -> inc == fenced ? "incarnation " + inc + " was declared failed" : null);
            c.node(0).removePeer(1, new NodeFailedException(1, "declared failed"));
            Await.until(() -> events.contains("down 1"), Duration.ofSeconds(5), "link down seen");
            // Node 1 may first see its old link close; from then on every attempt is refused by admission.
            Throwable last = null;
            for (int attempt = 0; attempt < 20; attempt++) {
                var e = assertThrows(ExecutionException.class, () ->
                        c.node(1).call(0, TestTypes.ECHO, "still me", Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS));
                last = e.getCause();
                assertInstanceOf(LinkClosedException.class, last);
                if (last.getMessage().contains("was declared failed")) {
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(last.getMessage().contains("was declared failed"), last.getMessage());
            assertTrue(c.node(0).silenceMillis().isEmpty() || !c.node(0).silenceMillis().containsKey(1));
        }
    }
}
