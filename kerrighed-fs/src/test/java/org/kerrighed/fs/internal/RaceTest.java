package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Namespace and data operations racing each other from different nodes. */
class RaceTest {
    static final int CHUNK = EngineTest.CHUNK;
    static Engines nodes;

    @BeforeAll
    static void start() {
        nodes = new Engines(3, EngineTest.config());
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    /**
     * A delete of {@code /r/a} racing a rename of {@code /r/a} away and the creation of a new {@code /r/a}: whatever
     * the delete removed, the file moved away keeps its bytes.
     */
    @Test
    void aDeleteRacingARenameNeverDeletesTheMovedFilesData() throws Exception {
        FsEngine a = nodes.engine(0);
        a.createDirectory("/r", 0755);
        byte[] data = EngineTest.random(2 * CHUNK + 5, 7);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int k = 0; k < 40; k++) {
            Inode f = a.createFile("/r/a", 0644, true);
            a.write(f.id(), 0, ByteBuffer.wrap(data));
            String kept = "/r/kept" + k;
            Thread deleter = Thread.ofVirtual().start(() -> {
                try {
                    nodes.engine(1).delete("/r/a");
                } catch (NoSuchFileException expected) {
                    // the rename took it first
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            Thread mover = Thread.ofVirtual().start(() -> {
                try {
                    nodes.engine(2).rename("/r/a", kept, false);
                    nodes.engine(2).createFile("/r/a", 0644, false);
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
                assertArrayEquals(data, EngineTest.readAll(nodes.engine(k % 3), moved.id()), "round " + k);
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

    /**
     * A write that extends a file racing a truncation below where it writes, from another node: the result is one
     * of the two orders (the file cut short, or the written bytes at their place), never the written size with
     * zeros where the bytes went.
     */
    @Test
    void aWriteRacingATruncationIsNeverLost() throws Exception {
        FsEngine a = nodes.engine(0);
        byte[] before = EngineTest.random(CHUNK + 100, 3);
        byte[] written = EngineTest.random(8, 4);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int k = 0; k < 40; k++) {
            Inode f = a.createFile("/cut" + k, 0644, true);
            a.write(f.id(), 0, ByteBuffer.wrap(before));
            long at = k % 2 == 0 ? CHUNK + 200 : 3L * CHUNK + 200;      // in the chunk cut, or in one dropped
            long cut = k % 2 == 0 ? CHUNK + 10 : 10;
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    nodes.engine(1).write(f.id(), at, ByteBuffer.wrap(written));
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            Thread cutter = Thread.ofVirtual().start(() -> {
                try {
                    nodes.engine(2).truncate(f.id(), cut);
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            writer.join();
            cutter.join();
            assertTrue(errors.isEmpty(), errors.toString());
            long size = a.inode(f.id()).size();
            if (size != cut) {
                byte[] all = EngineTest.readAll(nodes.engine(k % 3), f.id());
                assertEquals(at + written.length, size, "round " + k);
                assertArrayEquals(written, java.util.Arrays.copyOfRange(all, (int) at, all.length), "round " + k);
            }
        }
    }
}
