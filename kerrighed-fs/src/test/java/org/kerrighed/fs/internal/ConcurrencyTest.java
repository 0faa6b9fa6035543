package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

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
