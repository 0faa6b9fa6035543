package org.kerrighed.ipc;

import org.junit.jupiter.api.Test;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RpcNode;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A change of a pipe's info by one thread excludes the other threads of its node too: an end opened on the node
 * while another end's close hands the buffer over (holding the info the while) is not lost when the close ends.
 */
class PipeConcurrentEndsTest {
    @Test
    void anEndOpenedDuringAHandOverOnTheSameNodeIsNotLost() throws Exception {
        try (IpcCluster cluster = new IpcCluster(2)) {
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r1 = cluster.ipc(1).openReadEnd(p.reader().handle());
            CountDownLatch adopting = new CountDownLatch(1);
            RpcNode rpc1 = cluster.kddm.kddm(1).rpc();
            rpc1.unregister(PipeHandOverFailureTest.ADOPT.id());
            rpc1.registerAsync(PipeHandOverFailureTest.ADOPT, HandlerKind.NON_BLOCKING, (ctx, a) -> {   // slow, fails
                adopting.countDown();
                return CompletableFuture.supplyAsync(() -> {
                    throw new IllegalStateException("test: node 1 gives up");
                }, CompletableFuture.delayedExecutor(1000, TimeUnit.MILLISECONDS));
            });
            Thread closer = Thread.ofPlatform().daemon().start(() -> p.reader().close());
            assertTrue(adopting.await(10, TimeUnit.SECONDS));
            AtomicReference<PipeWriteEnd> opened = new AtomicReference<>();
            Thread opener = Thread.ofPlatform().daemon().start(        // on node 0, during the hand-over
                    () -> opened.set(cluster.ipc(0).openWriteEnd(p.writer().handle())));
            closer.join(10_000);
            opener.join(10_000);
            PipeWriteEnd w = opened.get();
            p.writer().close();                    // w is still open: no EOF for r1
            AtomicReference<Object> result = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try {
                    ByteBuffer b = ByteBuffer.allocate(10);
                    int n = r1.read(b);
                    result.set(n < 0 ? "EOF" : new String(b.array(), 0, n));
                } catch (Throwable e) {
                    result.set(e);
                }
            });
            reader.join(300);
            assertTrue(reader.isAlive(), "the reader got " + result.get() + " while a writer is open");
            assertEquals(null, PipeHandOverFailureTest.bounded(() -> w.write(ByteBuffer.wrap("z".getBytes())) > 0
                    ? null : "nothing written"));
            reader.join(10_000);
            assertEquals("z", result.get());
            w.close();
            assertEquals(-1, r1.read(ByteBuffer.allocate(10)));
            r1.close();
        }
    }
}
