package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.fs.FsConfig;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Chunks larger than a message: writes, reads and repair's copies travel in pieces. */
class BigChunkRepairTest {
    static Engines nodes;

    @BeforeAll
    static void start() {
        nodes = new Engines(3, FsConfig.defaults().withChunkSize(16 << 20).withRepairDelayMillis(100));
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void aChunkBiggerThanAMessageIsWrittenReadAndRepairedWhole() throws Exception {
        FsEngine a = nodes.engine(0);
        Inode f = a.createFile("/big", 0644, true);
        byte[] data = EngineTest.random(20 << 20, 11);
        a.write(f.id(), 0, ByteBuffer.wrap(data));
        Inode now = a.inode(f.id());
        assertEquals(2, now.usedChunks());
        int lost = now.replicas(0)[1];
        int survivor = 3 - lost - 0;
        nodes.crash(lost);
        EngineTest.awaitHealthy(a);
        assertArrayEquals(data, EngineTest.readAll(nodes.engine(survivor), f.id()), "read from the repaired copy");
    }
}
