package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.fs.ClusterFs;
import org.kerrighed.kddm.testing.KddmCluster;

import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Namespace and data operations racing each other from different nodes. */
class RaceTest {
    static final int CHUNK = EngineTest.CHUNK;
    static final Map<Integer, FsEngine> engines = new ConcurrentHashMap<>();
    static KddmCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new KddmCluster(3, List.of(k -> engines.put(k.nodeId(), new FsEngine(k, EngineTest.config()))),
                ClusterFs.types());
    }

    @AfterAll
    static void stop() {
        engines.values().forEach(FsEngine::close);
        cluster.close();
    }

    /**
     * A delete of {@code /r/a} racing a rename of {@code /r/a} away and the creation of a new {@code /r/a}: whatever
     * the delete removed, the file moved away keeps its bytes.
     */
    @Test
    void aDeleteRacingARenameNeverDeletesTheMovedFilesData() throws Exception {
        FsEngine a = engines.get(0);
        a.createDirectory("/r", 0755);
        byte[] data = EngineTest.random(2 * CHUNK + 5, 7);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int k = 0; k < 40; k++) {
            Inode f = a.createFile("/r/a", 0644, true);
            a.write(f.id(), 0, ByteBuffer.wrap(data));
            String kept = "/r/kept" + k;
            Thread deleter = Thread.ofVirtual().start(() -> {
                try {
                    engines.get(1).delete("/r/a");
                } catch (NoSuchFileException expected) {
                    // the rename took it first
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            Thread mover = Thread.ofVirtual().start(() -> {
                try {
                    engines.get(2).rename("/r/a", kept, false);
                    engines.get(2).createFile("/r/a", 0644, false);
                } catch (NoSuchFileException expected) {
                    // the delete took it first
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            deleter.join();
            mover.join();
            assertTrue(errors.isEmpty(), errors.toString());
            try {
                Inode moved = a.stat(kept);
                assertArrayEquals(data, EngineTest.readAll(engines.get(k % 3), moved.id()), "round " + k);
            } catch (NoSuchFileException deletedFirst) {
                // the delete came before the rename
            }
            try {
                a.delete("/r/a");
            } catch (NoSuchFileException gone) {
                // deleted by the race
            }
        }
    }
}
