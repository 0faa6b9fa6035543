package org.kerrighed.ipc;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Ends on a node that dies count as closed: EOF for the readers, a broken pipe for the writers. */
class PipeFailureTest {
    static IpcCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new IpcCluster(4);
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void aDeadWritersNodeGivesEofAndADeadReadersNodeABrokenPipe() throws Exception {
        // reader on node 0, its only writer on node 2, which dies while the reader waits
        Pipe p = cluster.ipc(0).pipe();
        PipeWriteEnd w2 = cluster.ipc(2).openWriteEnd(p.writer().handle());
        p.writer().close();
        w2.write(ByteBuffer.wrap(new byte[]{9}));
        ByteBuffer one = ByteBuffer.allocate(10);
        assertEquals(1, p.reader().read(one));
        AtomicReference<Object> readResult = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                readResult.set(p.reader().read(ByteBuffer.allocate(10)));
            } catch (IOException e) {
                readResult.set(e);
            }
        });
        IpcCluster.awaitParked(reader);

        // writer on node 1 blocked on a full pipe whose only reader is on node 3, which dies
        Pipe q = cluster.ipc(1).pipe(4096);
        PipeReadEnd r3 = cluster.ipc(3).openReadEnd(q.reader().handle());
        q.reader().close();                        // the buffer moves to node 3
        q.writer().write(ByteBuffer.wrap(new byte[4096]));
        AtomicReference<Throwable> writeResult = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                q.writer().write(ByteBuffer.wrap(new byte[10]));
            } catch (Throwable e) {
                writeResult.set(e);
            }
        });
        IpcCluster.awaitParked(writer);

        cluster.crash(2);
        reader.join(20_000);
        assertEquals(-1, readResult.get());

        cluster.crash(3);
        writer.join(20_000);
        assertInstanceOf(BrokenPipeException.class, writeResult.get());
        p.reader().close();
        q.writer().close();
        r3.hashCode();
    }
}
