package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.fs.FsStatus;

import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Full nodes: a write past every node's quota fails with a clear error and corrupts nothing. */
class QuotaTest {
    static final long QUOTA = 512 << 10;
    static Engines nodes;

    @BeforeAll
    static void start() {
        nodes = new Engines(3, EngineTest.config().withQuota(QUOTA));
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void aWritePastTheQuotaFailsClearlyAndKeepsWhatWasWritten() throws Exception {
        FsEngine a = nodes.engine(0);
        Inode kept = a.createFile("/kept", 0644, true);
        byte[] data = EngineTest.random(100_000, 9);
        a.write(kept.id(), 0, ByteBuffer.wrap(data));
        Inode big = a.createFile("/big", 0644, true);
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> a.write(big.id(), 0, ByteBuffer.wrap(new byte[(int) (3 * QUOTA)])));
        assertTrue(e.getMessage().contains("no space left"), e.getMessage());
        assertArrayEquals(data, EngineTest.readAll(nodes.engine(1), kept.id()));
        FsStatus s = a.status();
        for (FsStatus.NodeStorage n : s.nodes()) {
            assertTrue(n.usedBytes() <= QUOTA, n.toString());
            assertEquals(QUOTA, n.quota());
        }
        a.delete("/big");
        byte[] again = EngineTest.random(50_000, 10);
        Inode after = a.createFile("/after", 0644, true);
        a.write(after.id(), 0, ByteBuffer.wrap(again));
        assertArrayEquals(again, EngineTest.readAll(nodes.engine(2), after.id()), "space is back once deleted");
    }
}
