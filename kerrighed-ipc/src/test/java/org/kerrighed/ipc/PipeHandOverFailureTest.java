package org.kerrighed.ipc;

import org.junit.jupiter.api.Test;
import org.kerrighed.ipc.internal.PipeWire;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * When the last reader on the buffer's node closes, the buffer moves to another reader's node; when that hand-over
 * fails, no byte is lost and the pipe keeps working: the buffer stays (or goes to another reader), EOF and broken
 * pipe still come, and nothing spins.
 */
class PipeHandOverFailureTest {
    /** The pipes' hand-over service (its id and name as PipeService registers it). */
    static final ServiceKey<PipeWire.Adopt, Boolean> ADOPT =
            ServiceKey.of(148, "ipc.pipe.adopt", PipeWire.Adopt.class, Boolean.class);

    static void refuseHandOvers(IpcCluster cluster, int node) {
        RpcNode rpc = cluster.kddm.kddm(node).rpc();
        rpc.unregister(ADOPT.id());
        rpc.register(ADOPT, HandlerKind.NON_BLOCKING, (ctx, a) -> {
            throw new IllegalStateException("test: node " + node + " refuses the buffer of pipe " + a.pipe());
        });
    }

    static Throwable closeError(java.nio.channels.Channel c) {
        try {
            c.close();
            return null;
        } catch (Throwable e) {
            return e;
        }
    }

    static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads until EOF on another thread, bounded: the text, or the exception; fails when it blocks or spins. */
    static Object readToEof(PipeReadEnd r) throws InterruptedException {
        return bounded(() -> {
            StringBuilder sb = new StringBuilder();
            ByteBuffer b = ByteBuffer.allocate(100);
            while (r.read(b.clear()) >= 0) {
                sb.append(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
            }
            return sb.toString();
        });
    }

    static Object readSome(PipeReadEnd r) throws InterruptedException {
        return bounded(() -> {
            ByteBuffer b = ByteBuffer.allocate(100);
            int n = r.read(b);
            return new String(b.array(), 0, n, StandardCharsets.UTF_8);
        });
    }

    interface Io {
        Object run() throws Exception;
    }

    static Object bounded(Io io) throws InterruptedException {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                result.set(io.run());
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.join(10_000);
        if (t.isAlive()) {
            AssertionError e = new AssertionError("still blocked (or spinning) after 10 s: " + t.getState());
            e.setStackTrace(t.getStackTrace());
            t.interrupt();
            throw e;
        }
        return result.get();
    }

    @Test
    void aRefusedHandOverKeepsTheBufferAndItsBytesWhereItWas() throws Exception {
        try (IpcCluster cluster = new IpcCluster(3)) {
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r1 = cluster.ipc(1).openReadEnd(p.reader().handle());
            p.writer().write(bytes("before"));
            refuseHandOvers(cluster, 1);
            Throwable closed = closeError(p.reader());     // the buffer would move to node 1, which refuses it
            assertEquals("before", readSome(r1));
            assertEquals(null, bounded(() -> {
                p.writer().write(bytes(" after"));
                return null;
            }));
            p.writer().close();
            assertEquals(" after", readToEof(r1));
            r1.close();
            assertEquals(null, closed, "closing the reader failed");

            Pipe q = cluster.ipc(0).pipe();        // the same, then the remaining reader closes: a broken pipe
            PipeReadEnd q1 = cluster.ipc(1).openReadEnd(q.reader().handle());
            assertEquals(null, closeError(q.reader()));
            assertEquals(null, bounded(() -> {
                q.writer().write(bytes("x"));
                return null;
            }));
            assertEquals("x", readSome(q1));
            q1.close();                            // its counts reach the buffer's node (0) in a one-way message
            assertInstanceOf(BrokenPipeException.class, bounded(() -> {
                while (true) {
                    q.writer().write(bytes("y"));
                    Thread.sleep(10);
                }
            }));
            q.writer().close();
        }
    }

    @Test
    void aHandOverTargetThatDiesMeanwhileLeavesTheBufferToAnotherReader() throws Exception {
        try (IpcCluster cluster = new IpcCluster(3)) {
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r1 = cluster.ipc(1).openReadEnd(p.reader().handle());   // the first choice
            PipeReadEnd r2 = cluster.ipc(2).openReadEnd(p.reader().handle());
            p.writer().write(bytes("kept"));
            RpcNode rpc1 = cluster.kddm.kddm(1).rpc();
            rpc1.unregister(ADOPT.id());
            rpc1.registerAsync(ADOPT, HandlerKind.NON_BLOCKING, (ctx, a) -> {
                Thread.ofPlatform().daemon().start(() -> cluster.crash(1));   // dies during the hand-over
                return new CompletableFuture<>();
            });
            Throwable closed = closeError(p.reader());
            assertEquals("kept", readSome(r2));
            p.writer().write(bytes(" and more"));
            p.writer().close();
            assertEquals(" and more", readToEof(r2));
            assertEquals(null, closed, "closing the reader failed");
            r1.hashCode();                         // on the dead node

            Pipe q = cluster.ipc(0).pipe();        // and a writer gets its broken pipe when the last reader closes
            PipeReadEnd q2 = cluster.ipc(2).openReadEnd(q.reader().handle());
            q.reader().close();
            q2.close();
            assertInstanceOf(BrokenPipeException.class, bounded(() -> q.writer().write(bytes("y"))));
            r2.close();
        }
    }

    @Test
    void endsDyingElsewhereLeaveALiveBuffersBytesAlone() throws Exception {
        try (IpcCluster cluster = new IpcCluster(3)) {
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r2 = cluster.ipc(2).openReadEnd(p.reader().handle());
            PipeWriteEnd w1 = cluster.ipc(1).openWriteEnd(p.writer().handle());
            p.reader().close();                    // the buffer moves to node 2
            w1.write(bytes("kept"));
            // node 1 dies; node 0 (which has an end of the pipe, not its buffer) cleans up first
            cluster.kddm.crash(1, java.util.List.of(0, 2), n -> {
            });
            cluster.ipcs.remove(1);
            assertEquals("kept", readSome(r2));
            p.writer().write(bytes(" and more"));
            p.writer().close();
            assertEquals(" and more", readToEof(r2));
            r2.close();
            w1.hashCode();
        }
    }

    @Test
    void aWriteMetDuringASlowFailingHandOverGoesThroughWhenItFails() throws Exception {
        try (IpcCluster cluster = new IpcCluster(3)) {
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r1 = cluster.ipc(1).openReadEnd(p.reader().handle());
            p.writer().write(bytes("a"));
            java.util.concurrent.CountDownLatch adopting = new java.util.concurrent.CountDownLatch(1);
            RpcNode rpc1 = cluster.kddm.kddm(1).rpc();
            rpc1.unregister(ADOPT.id());
            rpc1.registerAsync(ADOPT, HandlerKind.NON_BLOCKING, (ctx, a) -> {   // a slow hand-over, that fails
                adopting.countDown();
                return CompletableFuture.supplyAsync(() -> {
                    throw new IllegalStateException("test: node 1 gives up");
                }, CompletableFuture.delayedExecutor(1500, java.util.concurrent.TimeUnit.MILLISECONDS));
            });
            AtomicReference<Throwable> closed = new AtomicReference<>();
            Thread closer = Thread.ofPlatform().daemon().start(() -> closed.set(closeError(p.reader())));
            assertTrue(adopting.await(10, java.util.concurrent.TimeUnit.SECONDS));
            // the buffer on node 0 has stopped serving; the info still names node 0 until the hand-over ends
            AtomicReference<Throwable> wrote = new AtomicReference<>();
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    p.writer().write(bytes("b"));
                } catch (Throwable e) {
                    wrote.set(e);
                }
            });
            closer.join(10_000);
            writer.join(10_000);
            boolean stuck = writer.isAlive();
            writer.interrupt();
            assertTrue(!stuck, "the writer never wrote: " + writer.getState());
            assertEquals(null, wrote.get());
            assertEquals(null, closed.get(), "closing the reader failed");
            p.writer().close();
            assertEquals("ab", readToEof(r1));
            r1.close();
        }
    }
}
