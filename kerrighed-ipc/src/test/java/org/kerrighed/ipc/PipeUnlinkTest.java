package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An unlinked FIFO lives on while ends are open: they keep their bytes, EOF and broken pipe; its name is free at
 * once, and a FIFO made again under it is a new, empty one.
 */
class PipeUnlinkTest {
    static IpcCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new IpcCluster(3);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads on another thread, bounded: the text read until EOF, or the exception; fails when it blocks. */
    static Object readToEof(PipeReadEnd r) throws InterruptedException {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            StringBuilder sb = new StringBuilder();
            try {
                ByteBuffer b = ByteBuffer.allocate(100);
                while (r.read(b.clear()) >= 0) {
                    sb.append(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
                }
                result.set(sb.toString());
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.join(10_000);
        if (t.isAlive()) {
            t.interrupt();
            throw new AssertionError("the reader is still blocked (no EOF); read so far: " + result.get());
        }
        return result.get();
    }

    static String readSome(PipeReadEnd r) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(100);
        int n = r.read(b);
        return new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    @Test
    void theReaderOfAnUnlinkedFifoGetsEofWhenTheWriterCloses() throws Exception {
        assertTrue(cluster.ipc(0).fifo("unlink-eof", 0666));
        PipeReadEnd r = cluster.ipc(1).openFifoForReading("unlink-eof");
        PipeWriteEnd w = cluster.ipc(2).openFifoForWriting("unlink-eof");
        w.write(bytes("one"));
        assertEquals("one", readSome(r));
        w.write(bytes("two"));
        assertTrue(cluster.ipc(0).unlinkFifo("unlink-eof"));
        assertThrows(IllegalArgumentException.class, () -> cluster.ipc(1).openFifoForReading("unlink-eof"));
        w.close();
        assertEquals("two", readToEof(r));
        PipeEndHandle h = r.handle();
        assertTrue(cluster.ipc(0).pipeSnapshot(h).isPresent(), "the open reader keeps the pipe");
        r.close();
        assertFalse(cluster.ipc(0).pipeSnapshot(h).isPresent(), "the last end closed: the tombstone stays");
    }

    @Test
    void theWriterOfAnUnlinkedFifoGetsABrokenPipeWhenTheReaderCloses() throws Exception {
        assertTrue(cluster.ipc(0).fifo("unlink-epipe", 0666));
        PipeReadEnd r = cluster.ipc(1).openFifoForReading("unlink-epipe");
        PipeWriteEnd w = cluster.ipc(2).openFifoForWriting("unlink-epipe");
        w.write(bytes("x"));
        assertEquals("x", readSome(r));
        assertTrue(cluster.ipc(0).unlinkFifo("unlink-epipe"));
        r.close();
        AtomicReference<Throwable> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (int i = 0; i < 100; i++) {    // more than the 64 KiB buffer: without EPIPE it fills and blocks
                    w.write(ByteBuffer.wrap(new byte[4096]));
                }
            } catch (Throwable e) {
                result.set(e);
            }
        });
        t.join(10_000);
        if (t.isAlive()) {
            t.interrupt();
            throw new AssertionError("the writer blocked instead of getting a broken pipe");
        }
        assertInstanceOf(BrokenPipeException.class, result.get());
        w.close();
    }

    @Test
    void endsOpenedBeforeTheUnlinkKeepWorkingAndKeepTheirBytes() throws Exception {
        assertTrue(cluster.ipc(0).fifo("unlink-keep", 0666));
        PipeReadEnd r = cluster.ipc(1).openFifoForReading("unlink-keep");
        PipeWriteEnd w = cluster.ipc(2).openFifoForWriting("unlink-keep");
        PipeWriteEnd late = cluster.ipc(0).openFifoForWriting("unlink-keep");   // has never written
        w.write(bytes("hello"));
        assertTrue(cluster.ipc(0).unlinkFifo("unlink-keep"));
        assertFalse(cluster.ipc(0).unlinkFifo("unlink-keep"));
        assertEquals("hello", readSome(r));        // never read before the unlink
        late.write(bytes(" world"));               // never wrote before the unlink
        late.close();
        w.close();
        assertEquals(" world", readToEof(r));
        r.close();
    }

    @Test
    void aFifoMadeAgainAfterAnUnlinkIsANewEmptyOne() throws Exception {
        assertTrue(cluster.ipc(0).fifo("unlink-again", 0666));
        PipeReadEnd oldR = cluster.ipc(1).openFifoForReading("unlink-again");
        PipeWriteEnd oldW = cluster.ipc(2).openFifoForWriting("unlink-again");
        oldW.write(bytes("old"));                  // left in the old FIFO's buffer on node 1
        assertTrue(cluster.ipc(0).unlinkFifo("unlink-again"));
        assertTrue(cluster.ipc(2).fifo("unlink-again", 0666));
        assertFalse(cluster.ipc(0).fifo("unlink-again", 0666));
        PipeReadEnd newR = cluster.ipc(1).openFifoForReading("unlink-again");   // same node as the old buffer
        PipeWriteEnd newW = cluster.ipc(0).openFifoForWriting("unlink-again");
        newW.write(bytes("new"));
        newW.close();
        assertEquals("new", readToEof(newR));
        newR.close();
        oldW.write(bytes(" and more"));            // the old ends still talk to each other only
        oldW.close();
        assertEquals("old and more", readToEof(oldR));
        oldR.close();
        assertTrue(cluster.ipc(1).unlinkFifo("unlink-again"));
    }
}
