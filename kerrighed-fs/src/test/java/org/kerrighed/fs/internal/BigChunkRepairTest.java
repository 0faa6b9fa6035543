package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.fs.ClusterFs;
import org.kerrighed.fs.FsConfig;
import org.kerrighed.kddm.testing.KddmCluster;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Chunks larger than a message: writes, reads and repair's copies travel in pieces. */
class BigChunkRepairTest {
    static final Map<Integer, FsEngine> engines = new ConcurrentHashMap<>();
    static KddmCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new KddmCluster(3, List.of(k -> engines.put(k.nodeId(), new FsEngine(k,
                FsConfig.defaults().withChunkSize(16 << 20).withRepairDelayMillis(100)))), ClusterFs.types());
    }

    @AfterAll
    static void stop() {
        engines.values().forEach(FsEngine::close);
        cluster.close();
    }

    @Test
    void aChunkBiggerThanAMessageIsWrittenReadAndRepairedWhole() throws Exception {
        FsEngine a = engines.get(0);
        Inode f = a.createFile("/big", 0644, true);
        byte[] data = EngineTest.random(20 << 20, 11);
        a.write(f.id(), 0, ByteBuffer.wrap(data));
        Inode now = a.inode(f.id());
        assertEquals(2, now.usedChunks());
        int lost = now.replicas(0)[1];
        int survivor = 3 - lost - 0;
        engines.remove(lost).close();
        cluster.crash(lost);
        EngineTest.awaitHealthy(a);
        assertArrayEquals(data, EngineTest.readAll(engines.get(survivor), f.id()), "read from the repaired copy");
    }
}
