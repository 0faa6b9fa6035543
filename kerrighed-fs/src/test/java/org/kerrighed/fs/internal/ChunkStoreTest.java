package org.kerrighed.fs.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One node's chunk files. */
class ChunkStoreTest {
    /**
     * Chunks of one file created and deleted at once by two threads (as a truncation on one chunk and a write on
     * another): the deletion of the file's last chunk file never makes the creation of another one fail.
     */
    @Test
    void creatingAChunkWhileAnotherOfItsFileIsDeletedSucceeds(@TempDir Path dir) throws Exception {
        ChunkStore store = new ChunkStore(dir, Long.MAX_VALUE, 0);
        byte[] data = new byte[16];
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        Thread[] ts = new Thread[2];
        for (int t = 0; t < 2; t++) {
            int index = t;
            ts[t] = Thread.ofPlatform().start(() -> {
                try {
                    for (int gen = 1; gen <= 2000 && errors.isEmpty(); gen++) {
                        store.write(7, index, gen, 0, ByteBuffer.wrap(data), false);
                        store.delete(7, index, gen);
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
        }
        for (Thread t : ts) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        assertEquals(0, store.usedBytes());
        assertEquals(0, store.chunkFiles());
    }

    /**
     * The collector's deletion of a chunk file it found unlisted (a copy that missed writes) spares the file when it
     * was written since it was listed (repair copying the chunk back to this node just then).
     */
    @Test
    void anUnlistedChunkFileWrittenAgainSinceItWasListedIsNotCollected(@TempDir Path dir) throws Exception {
        ChunkStore store = new ChunkStore(dir, Long.MAX_VALUE, 0);
        byte[] stale = {1, 2, 3};
        byte[] current = {4, 5, 6, 7};
        store.write(9, 0, 1, 0, ByteBuffer.wrap(stale), false);
        Path f = dir.resolve("9").resolve("0.1");
        Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() - 120_000));
        ChunkStore.Chunk seen = store.list().getFirst();
        store.write(9, 0, 1, 0, ByteBuffer.wrap(current), true);
        assertFalse(store.deleteIfUnchanged(seen));
        assertArrayEquals(current, store.readWhole(9, 0, 1));
        assertTrue(store.deleteIfUnchanged(store.list().getFirst()));
        assertEquals(0, store.chunkFiles());
        assertEquals(0, store.usedBytes());
    }
}
