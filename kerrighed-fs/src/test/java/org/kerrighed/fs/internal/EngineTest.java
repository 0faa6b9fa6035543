package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.fs.FsConfig;
import org.kerrighed.fs.FsStatus;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine on three in-process nodes: namespace, replicated data, failures and repair. */
class EngineTest {
    static final int CHUNK = 64 << 10;
    static Engines nodes;

    static FsConfig config() {
        return FsConfig.defaults().withChunkSize(CHUNK).withRepairDelayMillis(300);
    }

    @BeforeAll
    static void start() {
        nodes = new Engines(3, config());
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] readAll(FsEngine e, long ino) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(e.inode(ino).size()));
        long at = 0;
        while (b.hasRemaining()) {
            int n = e.read(ino, at, b);
            if (n < 0) {
                break;
            }
            at += n;
        }
        return b.array();
    }

    /**
     * The removal of a deleted file's inode fails at first (as it may while KDDM recovers from a failure): the
     * delete succeeds all the same (the name is gone), and the inode is removed in the background.
     */
    @Test
    void aDeleteWhoseInodeRemovalFailsAtFirstSucceedsAndTheInodeGoesLater() throws Exception {
        FsEngine a = nodes.engine(0);
        Inode f = a.createFile("/forget-retried", 0644, true);
        a.write(f.id(), 0, ByteBuffer.wrap(random(1000, 5)));
        Namespace.FAIL_FORGETS_FOR_TESTS.set(2);
        try {
            a.delete("/forget-retried");
            assertThrows(NoSuchFileException.class, () -> nodes.engine(1).stat("/forget-retried"));
            long end = System.nanoTime() + 20_000_000_000L;
            while (exists(a, f.id()) && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            assertTrue(!exists(nodes.engine(2), f.id()), "the inode removed in the background");
            assertEquals(0, Namespace.FAIL_FORGETS_FOR_TESTS.get());
        } finally {
            Namespace.FAIL_FORGETS_FOR_TESTS.set(0);
        }
    }

    /**
     * An inode whose removal never succeeds (as when the node retrying it closed or died): the collection removes it
     * once no walk has named it for the collection's age, and leaves the named files alone.
     */
    @Test
    void anInodeWhoseRemovalWasLostIsCollectedOnceNothingNamedItForAWhile() throws Exception {
        FsEngine a = nodes.engine(0);
        Inode kept = a.createFile("/collect-kept", 0644, true);
        a.write(kept.id(), 0, ByteBuffer.wrap(random(1000, 7)));
        Inode lost = a.createFile("/collect-lost", 0644, true);
        a.write(lost.id(), 0, ByteBuffer.wrap(random(1000, 6)));
        Namespace.FAIL_FORGETS_FOR_TESTS.set(Integer.MAX_VALUE);
        Repairer.unnamedAgeMsForTests = 300;
        try {
            a.delete("/collect-lost");
            assertTrue(exists(a, lost.id()), "its removal failed");
            long end = System.nanoTime() + 20_000_000_000L;
            while (exists(a, lost.id()) && System.nanoTime() < end) {
                for (int i = 0; i < 3; i++) {
                    nodes.engine(i).collectNow();
                }
                Thread.sleep(100);
            }
            for (int i = 0; i < 3; i++) {
                assertTrue(!exists(nodes.engine(i), lost.id()), "collected, seen from node " + i);
            }
            assertArrayEquals(random(1000, 7), readAll(nodes.engine(2), nodes.engine(2).stat("/collect-kept").id()),
                    "a named file stays");
        } finally {
            Namespace.FAIL_FORGETS_FOR_TESTS.set(0);
            Repairer.unnamedAgeMsForTests = 0;
        }
    }

    private static boolean exists(FsEngine e, long ino) throws IOException {
        try {
            e.inode(ino);
            return true;
        } catch (NoSuchFileException gone) {
            return false;
        }
    }

    @Test
    void writtenOnOneNodeReadOnAnother() throws IOException {
        FsEngine a = nodes.engine(0);
        FsEngine c = nodes.engine(2);
        Inode f = a.createFile("/across", 0644, true);
        byte[] data = random(5 * CHUNK + 123, 1);
        a.write(f.id(), 0, ByteBuffer.wrap(data));
        assertArrayEquals(data, readAll(c, f.id()));
        Inode now = c.stat("/across");
        assertEquals(data.length, now.size());
        for (int i = 0; i < now.chunkCount(); i++) {
            int[] reps = now.replicas(i);
            assertEquals(2, reps.length, "chunk " + i);
            assertNotEquals(reps[0], reps[1]);
        }
    }

    @Test
    void namespaceOperations() throws IOException {
        FsEngine a = nodes.engine(0);
        FsEngine b = nodes.engine(1);
        a.createDirectory("/ns", 0755);
        a.createDirectory("/ns/d", 0755);
        b.createFile("/ns/d/f", 0644, true);
        assertThrows(FileAlreadyExistsException.class, () -> a.createFile("/ns/d/f", 0644, true));
        assertEquals(List.of("f"), a.list("/ns/d"));
        assertThrows(DirectoryNotEmptyException.class, () -> b.delete("/ns/d"));
        a.rename("/ns/d/f", "/ns/g", false);
        assertEquals(List.of("d", "g"), b.list("/ns"));
        assertThrows(NoSuchFileException.class, () -> b.stat("/ns/d/f"));
        assertThrows(FileSystemException.class, () -> a.rename("/ns", "/ns/d/x", false));
        b.delete("/ns/d");
        assertEquals(List.of("g"), a.list("/ns"));
    }

    /** A write past the largest size a file can have fails with "File too large", as pwrite(2) with EFBIG. */
    @Test
    void aWritePastTheLargestFileSizeFailsClearly() throws IOException {
        FsEngine a = nodes.engine(0);
        Inode f = a.createFile("/huge", 0644, true);
        for (long at : new long[] {Long.MAX_VALUE - 4, (long) CHUNK * FsEngine.MAX_CHUNKS - 4}) {
            FileSystemException e = assertThrows(FileSystemException.class,
                    () -> a.write(f.id(), at, ByteBuffer.wrap(new byte[8])));
            assertTrue(e.getMessage().contains("File too large"), e.getMessage());
        }
        assertEquals(0, a.inode(f.id()).size());
    }

    @Test
    void truncatedThenWrittenPastTheCutReadsZeros() throws IOException {
        FsEngine a = nodes.engine(1);
        Inode f = a.createFile("/cut", 0644, true);
        a.write(f.id(), 0, ByteBuffer.wrap(random(3 * CHUNK, 2)));
        a.truncate(f.id(), 100);
        a.write(f.id(), 2 * CHUNK, ByteBuffer.wrap(new byte[] {7}));
        byte[] all = readAll(nodes.engine(2), f.id());
        assertEquals(2 * CHUNK + 1, all.length);
        for (int i = 100; i < 2 * CHUNK; i++) {
            assertEquals(0, all[i], "byte " + i);
        }
        assertEquals(7, all[2 * CHUNK]);
    }

    @Test
    void concurrentAppendsFromEveryNodeKeepEveryRecord() throws Exception {
        Inode f = nodes.engine(0).createFile("/log", 0644, true);
        List<Thread> ts = new ArrayList<>();
        for (int node = 0; node < 3; node++) {
            FsEngine e = nodes.engine(node);
            int n = node;
            ts.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 20; i++) {
                    try {
                        e.append(f.id(), ByteBuffer.wrap(String.format("%d:%04d\n", n, i).getBytes()));
                    } catch (IOException x) {
                        throw new RuntimeException(x);
                    }
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        String[] lines = new String(readAll(nodes.engine(1), f.id())).split("\n");
        assertEquals(60, lines.length);
        assertEquals(60, new HashSet<>(Arrays.asList(lines)).size());
    }

    @Test
    void aNodeDeathLosesNothingAndRepairRestoresTheCopies() throws Exception {
        Inode f = nodes.engine(0).createFile("/survivor", 0644, true);
        byte[] data = random(8 * CHUNK, 3);
        nodes.engine(0).write(f.id(), 0, ByteBuffer.wrap(data));
        nodes.crash(2);
        try {
            assertArrayEquals(data, readAll(nodes.engine(1), f.id()), () -> describe(f.id()));
            byte[] more = random(2 * CHUNK, 4);
            nodes.engine(1).write(f.id(), 3 * CHUNK, ByteBuffer.wrap(more));
            System.arraycopy(more, 0, data, 3 * CHUNK, more.length);
            assertArrayEquals(data, readAll(nodes.engine(0), f.id()));
            awaitHealthy(nodes.engine(0));
        } finally {
            nodes.join(2);
        }
        awaitHealthy(nodes.engine(2));
        Inode now = nodes.engine(2).inode(f.id());
        StringBuilder lists = new StringBuilder();
        for (int i = 0; i < now.chunkCount(); i++) {
            lists.append(Arrays.toString(now.replicas(i)));
        }
        assertArrayEquals(data, readAll(nodes.engine(2), f.id()), lists.toString());
    }

    static String describe(long ino) {
        try {
            Inode now = nodes.engine(0).inode(ino);
            StringBuilder lists = new StringBuilder(now.toString());
            for (int i = 0; i < now.chunkCount(); i++) {
                lists.append(' ').append(now.generation(i)).append(Arrays.toString(now.replicas(i)));
            }
            return lists.toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    static void awaitHealthy(FsEngine e) throws InterruptedException {
        long end = System.nanoTime() + 30_000_000_000L;
        FsStatus s = e.status();
        while (!s.healthy() && System.nanoTime() < end) {
            Thread.sleep(100);
            s = e.status();
        }
        assertTrue(s.healthy(), "not repaired: " + s);
    }
}
