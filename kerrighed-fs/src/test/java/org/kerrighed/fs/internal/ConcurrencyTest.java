package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writers, readers and renames from every node at once on one file or one directory. */
class ConcurrencyTest {
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
     * Each node writes its own records (every record one byte value, straddling chunk boundaries) into one file
     * while the others read it: a reader never sees a torn record once its write returned, and the end result
     * holds every record whole.
     */
    @Test
    void writersAndReadersOnOneFileFromEveryNode() throws Exception {
        Inode f = nodes.engine(0).createFile("/shared", 0644, true);
        int record = CHUNK / 3 + 17;
        int perNode = 12;
        List<Thread> ts = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        Map<Integer, AtomicInteger> done = new ConcurrentHashMap<>();
        for (int node = 0; node < 3; node++) {
            FsEngine e = nodes.engine(node);
            int n = node;
            done.put(n, new AtomicInteger());
            ts.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < perNode; i++) {
                        int slot = i * 3 + n;
                        byte[] b = new byte[record];
                        java.util.Arrays.fill(b, (byte) (slot + 1));
                        e.write(f.id(), (long) slot * record, ByteBuffer.wrap(b));
                        done.get(n).set(i + 1);
                        checkRecord(nodes.engine((n + 1) % 3), f.id(), slot, record);
                    }
                } catch (Throwable x) {
                    errors.add(x);
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        for (int slot = 0; slot < 3 * perNode; slot++) {
            checkRecord(nodes.engine(slot % 3), f.id(), slot, record);
        }
    }

    /**
     * Every node writes the same two and a half chunks over and over at once, each with its own byte value, from a
     * slice of a larger array (the bytes travel from an offset of the caller's array). A primary releases a chunk's
     * lock before its replicas answer, so operations on one chunk overlap on the way: every copy of a chunk must
     * still end with the same bytes, each chunk's whole content from one write.
     */
    @Test
    void overlappingWritesLeaveEveryCopyOfAChunkTheSame() throws Exception {
        Inode f = nodes.engine(1).createFile("/overlap", 0644, true);
        int length = 2 * CHUNK + CHUNK / 2;
        List<Thread> ts = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int node = 0; node < 3; node++) {
            FsEngine e = nodes.engine(node);
            byte value = (byte) (node + 1);
            ts.add(Thread.ofVirtual().start(() -> {
                try {
                    byte[] big = new byte[length + 100];
                    java.util.Arrays.fill(big, (byte) -1);
                    java.util.Arrays.fill(big, 37, 37 + length, value);
                    for (int i = 0; i < 25; i++) {
                        ByteBuffer src = ByteBuffer.wrap(big, 30, length + 20).slice().position(7).limit(7 + length);
                        e.write(f.id(), 0, src);
                        assertEquals(src.limit(), src.position(), "consumed");
                    }
                } catch (Throwable x) {
                    errors.add(x);
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        Inode now = nodes.engine(0).inode(f.id());
        assertEquals(length, now.size());
        for (int index = 0; index < 3; index++) {
            byte[] first = null;
            for (int n : now.replicas(index)) {
                Path chunk = nodes.storage().resolve("node-" + n).resolve("fs").resolve(Long.toHexString(f.id()))
                        .resolve(index + "." + now.generation(index));
                byte[] copy = Files.readAllBytes(chunk);
                assertEquals(index < 2 ? CHUNK : CHUNK / 2, copy.length, "chunk " + index + " on node " + n);
                for (byte b : copy) {
                    assertEquals(copy[0], b, "chunk " + index + " on node " + n + " mixes two writes");
                }
                assertTrue(copy[0] >= 1 && copy[0] <= 3, "a byte some write wrote");
                if (first == null) {
                    first = copy;
                } else {
                    assertArrayEquals(first, copy, "chunk " + index + ": copies differ");
                }
            }
        }
    }

    private static void checkRecord(FsEngine e, long ino, int slot, int record) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(record);
        long at = (long) slot * record;
        while (b.hasRemaining()) {
            int n = e.read(ino, at + b.position(), b);
            if (n < 0) {
                throw new AssertionError("record " + slot + " cut at " + b.position());
            }
        }
        for (int i = 0; i < record; i++) {
            if (b.get(i) != (byte) (slot + 1)) {
                throw new AssertionError("record " + slot + " byte " + i + " is " + b.get(i));
            }
        }
    }

    /**
     * Every node renames the same files back and forth between two directories at once: at every moment each
     * file is under exactly one name, none is lost or doubled.
     */
    @Test
    void renameRacesLoseNothing() throws Exception {
        FsEngine a = nodes.engine(0);
        a.createDirectory("/left", 0777);
        a.createDirectory("/right", 0777);
        int files = 6;
        for (int i = 0; i < files; i++) {
            a.createFile("/left/f" + i, 0644, true);
        }
        List<Thread> ts = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicInteger moves = new AtomicInteger();
        for (int node = 0; node < 3; node++) {
            FsEngine e = nodes.engine(node);
            ts.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int round = 0; round < 20; round++) {
                        for (int i = 0; i < files; i++) {
                            String l = "/left/f" + i;
                            String r = "/right/f" + i;
                            try {
                                if (round % 2 == 0) {
                                    e.rename(l, r, false);
                                } else {
                                    e.rename(r, l, false);
                                }
                                moves.incrementAndGet();
                            } catch (NoSuchFileException | FileAlreadyExistsException lostRace) {
                                // another node moved it first
                            }
                        }
                    }
                } catch (Throwable x) {
                    errors.add(x);
                }
            }));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        List<String> all = new ArrayList<>(a.list("/left"));
        all.addAll(nodes.engine(2).list("/right"));
        all.sort(null);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < files; i++) {
            expected.add("f" + i);
        }
        assertEquals(expected, all, "every file under exactly one name after " + moves + " moves");
        assertTrue(moves.get() > 0);
    }

    /** Two directories moved into each other at once from two nodes: one wins, no cycle is made. */
    @Test
    void crossedDirectoryMovesMakeNoCycle() throws Exception {
        FsEngine a = nodes.engine(0);
        for (int round = 0; round < 10; round++) {
            String x = "/x" + round;
            String y = "/y" + round;
            a.createDirectory(x, 0777);
            a.createDirectory(y, 0777);
            Thread t1 = Thread.ofVirtual().start(() -> quietly(() -> nodes.engine(1).rename(x, y + "/x", false)));
            Thread t2 = Thread.ofVirtual().start(() -> quietly(() -> nodes.engine(2).rename(y, x + "/y", false)));
            t1.join();
            t2.join();
            boolean xAtTop = a.list("/").contains("x" + round);
            boolean yAtTop = a.list("/").contains("y" + round);
            assertTrue(xAtTop ^ yAtTop, "exactly one stays at the top, round " + round);
        }
    }

    interface Io {
        void run() throws IOException;
    }

    private static void quietly(Io io) {
        try {
            io.run();
        } catch (IOException expected) {
            // the loser of the race
        }
    }
}
