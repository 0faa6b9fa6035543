package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node that comes back under its id with an emptied chunk store (a new disk) before repair gave up on it: it
 * must not serve zeros for the chunks it is still listed for; it leaves their lists and repair copies them again.
 */
class WipedStorageTest {
    static Engines nodes;

    @BeforeAll
    static void start() {
        nodes = new Engines(3, EngineTest.config().withRepairDelayMillis(30_000));
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @Test
    void aNodeBackWithAnEmptyDiskReadsRightAndIsRepaired() throws Exception {
        FsEngine a = nodes.engine(0);
        Inode f = a.createFile("/kept", 0644, true);
        byte[] data = EngineTest.random(8 * EngineTest.CHUNK, 21);
        a.write(f.id(), 0, ByteBuffer.wrap(data));
        Inode written = a.inode(f.id());
        assertTrue(java.util.stream.IntStream.range(0, written.usedChunks())
                .anyMatch(i -> contains(written.replicas(i), 1)), "node 1 holds some chunks");
        nodes.crash(1);
        Path store = nodes.storage().resolve("node-1").resolve("fs");
        try (Stream<Path> s = Files.walk(store)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        nodes.join(1);
        FsEngine back = nodes.engine(1);
        assertArrayEquals(data, EngineTest.readAll(back, f.id()), "no zeros from the emptied node");
        long end = System.nanoTime() + 30_000_000_000L;
        // Lists first: before node 1 leaves them the status is healthy (node 1 is live and listed) while the lists
        // do not match; once they match, the status is healthy only after repair. The other order could see the
        // healthy status of before and the matching lists of after.
        while (System.nanoTime() < end && !(listsMatchFiles(f.id()) && a.status().healthy())) {
            Thread.sleep(100);
        }
        assertTrue(a.status().healthy(), "repaired: " + a.status());
        assertTrue(listsMatchFiles(f.id()), "node 1 is listed only where it holds a file");
        assertArrayEquals(data, EngineTest.readAll(back, f.id()));
    }

    private static boolean listsMatchFiles(long ino) throws Exception {
        Inode now = nodes.engine(0).inode(ino);
        Path dir = nodes.storage().resolve("node-1").resolve("fs").resolve(Long.toHexString(ino));
        for (int i = 0; i < now.usedChunks(); i++) {
            int[] reps = now.replicas(i);
            if (reps != null && contains(reps, 1)
                    && !Files.exists(dir.resolve(i + "." + now.generation(i)))) {
                return false;
            }
        }
        return true;
    }

    private static boolean contains(int[] a, int v) {
        return Arrays.stream(a).anyMatch(x -> x == v);
    }
}
