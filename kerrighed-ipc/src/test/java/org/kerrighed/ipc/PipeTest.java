package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.RpcStats;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipeTest {
    static IpcCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new IpcCluster(3);
    }

    @AfterAll
    static void stop() {
        for (Kddm k : cluster.kddm.all()) {
            k.setCallers(CallerContext.ofNode(k.nodeId(), Credentials.ROOT));
        }
        cluster.close();
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }

    @Test
    void bytesArriveInOrderAcrossNodesThroughAFullBufferThenEof() throws Exception {
        Pipe p = cluster.ipc(0).pipe();
        PipeWriteEnd remote = cluster.ipc(1).openWriteEnd(p.writer().handle());
        p.writer().close();
        byte[] data = pattern(300_000, 7);         // more than the 64 KiB buffer: the writer blocks and resumes
        Thread writer = Thread.ofPlatform().start(() -> {
            try (OutputStream out = remote.outputStream()) {
                out.write(data);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        byte[] got = readAll(p.reader().inputStream());
        writer.join(30_000);
        assertArrayEquals(data, got);
        assertEquals(-1, p.reader().read(ByteBuffer.allocate(10)));
        p.reader().close();
    }

    @Test
    void writerBlocksParkedWhileFullAndReaderWhileEmpty() throws Exception {
        Pipe p = cluster.ipc(2).pipe(4096);
        PipeWriteEnd w = cluster.ipc(0).openWriteEnd(p.writer().handle());
        w.write(ByteBuffer.wrap(pattern(4096, 1)));
        Thread blocked = Thread.ofPlatform().start(() -> {
            try {
                w.write(ByteBuffer.wrap(pattern(100, 2)));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        IpcCluster.awaitParked(blocked);
        assertTrue(blocked.isAlive());
        ByteBuffer b = ByteBuffer.allocate(8192);
        while (b.position() < 4196) {
            assertTrue(p.reader().read(b) > 0);
        }
        blocked.join(10_000);
        assertFalse(blocked.isAlive());
        AtomicReference<Integer> n = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                n.set(p.reader().read(ByteBuffer.allocate(10)));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        IpcCluster.awaitParked(reader);
        p.writer().close();
        assertTrue(reader.isAlive());              // another writer (on node 0) is still open
        w.close();
        reader.join(10_000);
        assertEquals(-1, n.get());
        p.reader().close();
    }

    @Test
    void writingWithNoReaderLeftIsABrokenPipe() throws Exception {
        Pipe p = cluster.ipc(0).pipe();
        PipeReadEnd remoteReader = cluster.ipc(1).openReadEnd(p.reader().handle());
        p.reader().close();
        p.writer().write(ByteBuffer.wrap("still read".getBytes(StandardCharsets.UTF_8)));
        ByteBuffer b = ByteBuffer.allocate(100);
        remoteReader.read(b);
        assertEquals("still read", new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
        remoteReader.close();
        IOException e = assertThrows(IOException.class, () -> p.writer().write(ByteBuffer.wrap(new byte[1])));
        assertInstanceOf(BrokenPipeException.class, e);
        PipeWriteEnd other = cluster.ipc(2).openWriteEnd(p.writer().handle());
        assertThrows(BrokenPipeException.class, () -> other.outputStream().write(1));
        other.close();
        p.writer().close();
        assertThrows(java.nio.channels.ClosedChannelException.class,
                () -> p.writer().write(ByteBuffer.wrap(new byte[1])));
    }

    @Test
    void endsPassedThroughAKddmObjectTalkDirectlyWithoutTheCreatingNode() throws Exception {
        long setId = 20_000;
        List<KddmSet<PipeEndHandle>> sets = cluster.kddm.staticSet(setId,
                cluster.kddm.kddm(0).objectSpec(PipeEndHandle.class), () -> new ObjectLinker<>(PipeEndHandle.class));
        Pipe p = cluster.ipc(0).pipe();
        try (Handle<PipeEndHandle> h = sets.get(0).grab(1)) {
            h.set(p.reader().handle());
        }
        try (Handle<PipeEndHandle> h = sets.get(0).grab(2)) {
            h.set(p.writer().handle());
        }
        PipeReadEnd reader;
        PipeWriteEnd writer;
        try (Handle<PipeEndHandle> h = sets.get(2).get(1)) {
            reader = (PipeReadEnd) cluster.ipc(2).openPipeEnd(h.value());
        }
        try (Handle<PipeEndHandle> h = sets.get(1).get(2)) {
            writer = (PipeWriteEnd) cluster.ipc(1).openPipeEnd(h.value());
        }
        p.close();                                 // the creator's ends: the buffer moves to node 2's reader
        long ioAt0 = callsIn(0, "ipc.pipe.io");
        long ioAt2 = callsIn(2, "ipc.pipe.io");
        byte[] data = pattern(200_000, 3);
        Thread w = Thread.ofPlatform().start(() -> {
            try (writer) {
                writer.write(ByteBuffer.wrap(data));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        byte[] got = readAll(reader.inputStream());
        w.join(30_000);
        assertArrayEquals(data, got);
        assertEquals(0, callsIn(0, "ipc.pipe.io") - ioAt0, "the creating node relayed bytes");
        assertTrue(callsIn(2, "ipc.pipe.io") - ioAt2 >= data.length / 16384, "writes did not go to the reader's node");
    }


    static long callsIn(int node, String service) {
        for (RpcStats.ServiceStats s : cluster.kddm.kddm(node).rpc().stats().services()) {
            if (s.name().equals(service)) {
                return s.callsIn();
            }
        }
        return 0;
    }

    @Test
    void writesOfAtMostPipeBufAreNotInterleaved() throws Exception {
        Pipe p = cluster.ipc(0).pipe();
        List<PipeWriteEnd> writers = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            writers.add(cluster.ipc(n).openWriteEnd(p.writer().handle()));
        }
        p.writer().close();
        List<Thread> ts = new ArrayList<>();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        for (int n = 0; n < 3; n++) {
            PipeWriteEnd w = writers.get(n);
            byte fill = (byte) ('a' + n);
            ts.add(Thread.ofPlatform().start(() -> {
                try (w) {
                    byte[] block = new byte[4096];
                    Arrays.fill(block, fill);
                    for (int i = 0; i < 60; i++) {
                        w.write(ByteBuffer.wrap(block));
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        byte[] all = readAll(p.reader().inputStream());
        for (Thread t : ts) {
            t.join(30_000);
        }
        assertEquals(List.of(), errors);
        assertEquals(3 * 60 * 4096, all.length);
        for (int off = 0; off < all.length; off += 4096) {
            for (int i = 1; i < 4096; i++) {
                if (all[off + i] != all[off]) {
                    throw new AssertionError("bytes of two writers interleaved in block at " + off);
                }
            }
        }
        p.reader().close();
    }

    @Test
    void fifosAreOpenedByNameWithPermissionChecks() throws Exception {
        Kddm k0 = cluster.kddm.kddm(0);
        Kddm k1 = cluster.kddm.kddm(1);
        Kddm k2 = cluster.kddm.kddm(2);
        k0.setCallers(CallerContext.ofNode(0, new Credentials(1000, 100)));
        k1.setCallers(CallerContext.ofNode(1, new Credentials(1000, 100)));
        k2.setCallers(CallerContext.ofNode(2, new Credentials(2000, 200)));
        try {
            assertTrue(cluster.ipc(0).fifo("logs", 0640));
            assertFalse(cluster.ipc(1).fifo("logs", 0600));
            assertThrows(PermissionDeniedException.class, () -> cluster.ipc(2).openFifoForReading("logs"));
            assertThrows(PermissionDeniedException.class, () -> cluster.ipc(2).openFifoForWriting("logs"));
            assertThrows(IllegalArgumentException.class, () -> cluster.ipc(1).openFifoForReading("no-such-fifo"));
            PipeWriteEnd w = cluster.ipc(1).openFifoForWriting("logs");
            AtomicReference<byte[]> got = new AtomicReference<>();
            Thread writer = Thread.ofPlatform().start(() -> {   // waits for a reader to open
                try (OutputStream out = w.outputStream()) {
                    out.write("hello fifo".getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            IpcCluster.awaitParked(writer);
            PipeReadEnd r = cluster.ipc(0).openFifoForReading("logs");
            got.set(readAll(r.inputStream()));
            writer.join(10_000);
            assertEquals("hello fifo", new String(got.get(), StandardCharsets.UTF_8));

            assertTrue(cluster.ipc(2).fifo("open", 0644));      // others may read, not write
            PipeReadEnd r0 = cluster.ipc(0).openFifoForReading("open");
            assertThrows(PermissionDeniedException.class, () -> cluster.ipc(1).openFifoForWriting("open"));
            PipeWriteEnd w2 = cluster.ipc(2).openFifoForWriting("open");
            w2.write(ByteBuffer.wrap(new byte[]{1, 2, 3}));
            w2.close();
            assertArrayEquals(new byte[]{1, 2, 3}, readAll(r0.inputStream()));
            assertThrows(PermissionDeniedException.class, () -> cluster.ipc(0).unlinkFifo("open"));
            assertTrue(cluster.ipc(2).unlinkFifo("open"));
            assertThrows(IllegalArgumentException.class, () -> cluster.ipc(2).openFifoForReading("open"));
        } finally {
            for (Kddm k : List.of(k0, k1, k2)) {
                k.setCallers(CallerContext.ofNode(k.nodeId(), Credentials.ROOT));
            }
        }
    }
}
