package org.kerrighed.ipc;

import org.junit.jupiter.api.Test;
import org.kerrighed.rpc.testing.LinkFaults;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.kerrighed.ipc.PipeHandOverFailureTest.bytes;
import static org.kerrighed.ipc.PipeHandOverFailureTest.readSome;
import static org.kerrighed.ipc.PipeHandOverFailureTest.readToEof;

/**
 * A write or read whose request reached the buffer node and was applied, but whose reply was lost (the link
 * dropped it, then closed: the caller sees a {@code LinkClosedException}, "may or may not have been processed"),
 * is retried by the end: the retry must not append the bytes again, nor take other bytes and lose the first
 * ones, also when the buffer has moved to another node meanwhile.
 */
class PipeRetryTest {
    /** Buffered bytes of pipe {@code h}, as its buffer node (reached from {@code node}) holds them. */
    static int buffered(IpcCluster cluster, int node, PipeEndHandle h) {
        return cluster.ipc(node).pipeSnapshot(h).orElseThrow().buffered().length;
    }

    static void awaitBuffered(IpcCluster cluster, int node, PipeEndHandle h, int n) throws InterruptedException {
        IpcNodes.awaitTrue(() -> buffered(cluster, node, h) == n, n + " bytes buffered");
        Thread.sleep(100);                         // and the reply was sent (and dropped) after the apply
    }

    /** Runs {@code io} on a thread; the result (or the exception) is in the returned reference once joined. */
    static Thread start(AtomicReference<Object> result, PipeHandOverFailureTest.Io io) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                result.set(io.run());
            } catch (Throwable e) {
                result.set(e);
            }
        });
    }

    static Object join(Thread t, AtomicReference<Object> result) throws InterruptedException {
        t.join(10_000);
        if (t.isAlive()) {
            t.interrupt();
            throw new AssertionError("still blocked after 10 s: " + t.getState());
        }
        return result.get();
    }

    static Object readOnce(PipeReadEnd r) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(100);
        int n = r.read(b);
        return new String(b.array(), 0, Math.max(n, 0), StandardCharsets.UTF_8);
    }

    @Test
    void aWriteWhoseReplyIsLostIsAppliedOnce() throws Exception {
        try (IpcCluster cluster = new IpcCluster(2)) {
            LinkFaults faults = cluster.kddm.faults();
            Pipe p = cluster.ipc(0).pipe();        // the buffer on node 0
            PipeWriteEnd w1 = cluster.ipc(1).openWriteEnd(p.writer().handle());
            w1.write(bytes("<"));                  // the end knows where the buffer is
            assertEquals("<", readSome(p.reader()));

            faults.drop(0, 1);                     // node 0's replies to node 1 are lost
            AtomicReference<Object> wrote = new AtomicReference<>();
            Thread writer = start(wrote, () -> w1.write(bytes("chunk")));
            awaitBuffered(cluster, 0, p.reader().handle(), 5);   // applied on node 0
            faults.heal();
            cluster.kddm.kddm(1).rpc().disconnect(0);            // the call fails: the end retries
            assertEquals(5, join(writer, wrote));

            w1.close();
            p.writer().close();
            assertEquals("chunk", readToEof(p.reader()));
            p.reader().close();
        }
    }

    @Test
    void aReadWhoseReplyIsLostDeliversItsBytes() throws Exception {
        try (IpcCluster cluster = new IpcCluster(2)) {
            LinkFaults faults = cluster.kddm.faults();
            Pipe p = cluster.ipc(0).pipe();        // the buffer on node 0 (its reader stays open)
            PipeReadEnd r1 = cluster.ipc(1).openReadEnd(p.reader().handle());
            p.writer().write(bytes("<"));
            assertEquals("<", readSome(r1));
            p.writer().write(bytes("hello"));

            faults.drop(0, 1);
            AtomicReference<Object> read = new AtomicReference<>();
            Thread reader = start(read, () -> readOnce(r1));
            awaitBuffered(cluster, 0, p.reader().handle(), 0);   // taken on node 0
            faults.heal();
            cluster.kddm.kddm(1).rpc().disconnect(0);
            reader.join(3_000);                    // the retry (on a new link) returns at once
            p.writer().write(bytes("+more"));     // or unblocks a retry that took nothing (and lost "hello")
            Object first = join(reader, read);
            p.writer().close();
            assertEquals("hello+more", "" + first + readToEof(r1));
            r1.close();
            p.reader().close();
        }
    }

    @Test
    void aWriteWhoseReplyIsLostIsAppliedOnceWhenTheBufferMovedMeanwhile() throws Exception {
        try (IpcCluster cluster = new IpcCluster(3)) {
            LinkFaults faults = cluster.kddm.faults();
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r2 = cluster.ipc(2).openReadEnd(p.reader().handle());
            PipeWriteEnd w1 = cluster.ipc(1).openWriteEnd(p.writer().handle());
            w1.write(bytes("<"));
            assertEquals("<", readSome(p.reader()));

            faults.drop(0, 1);
            AtomicReference<Object> wrote = new AtomicReference<>();
            Thread writer = start(wrote, () -> w1.write(bytes("chunk")));
            awaitBuffered(cluster, 0, p.reader().handle(), 5);
            faults.heal();
            p.reader().close();                    // the buffer (and what it applied) moves to node 2
            cluster.kddm.kddm(1).rpc().disconnect(0);            // the end retries: at node 2
            assertEquals(5, join(writer, wrote));

            w1.close();
            p.writer().close();
            assertEquals("chunk", readToEof(r2));
            r2.close();
        }
    }

    @Test
    void aReadWhoseReplyIsLostDeliversItsBytesWhenTheBufferMovedToTheReader() throws Exception {
        try (IpcCluster cluster = new IpcCluster(2)) {
            LinkFaults faults = cluster.kddm.faults();
            Pipe p = cluster.ipc(0).pipe();
            PipeReadEnd r1 = cluster.ipc(1).openReadEnd(p.reader().handle());
            p.writer().write(bytes("<"));
            assertEquals("<", readSome(r1));
            p.writer().write(bytes("hello"));

            faults.drop(0, 1);
            AtomicReference<Object> read = new AtomicReference<>();
            Thread reader = start(read, () -> readOnce(r1));
            awaitBuffered(cluster, 0, p.reader().handle(), 0);
            faults.heal();
            p.reader().close();                    // the buffer moves to node 1: the retry is local
            cluster.kddm.kddm(1).rpc().disconnect(0);
            reader.join(3_000);                    // the retry (local) returns at once
            Thread.sleep(50);                      // and node 0 has seen the link close (no write meets it)
            p.writer().write(bytes("+more"));
            Object first = join(reader, read);
            p.writer().close();
            assertEquals("hello+more", "" + first + readToEof(r1));
            r1.close();
        }
    }
}
