package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RpcNode;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Copies that come back, fail to answer, or are cut while written: a write that returned is on every listed copy,
 * and nothing past a file's end comes back (each test on a cluster of its own: most take a node away).
 */
class FailoverTest {
    static final int CHUNK = EngineTest.CHUNK;
    Engines nodes;

    @BeforeEach
    void start() {
        nodes = new Engines(3, EngineTest.config());
    }

    @AfterEach
    void stop() {
        Repairer.beforeCopyForTests = null;
        Repairer.beforeIdentifyForTests = null;
        nodes.close();
    }

    /**
     * A chunk's first node dies; its second node repairs it and, while it copies the chunk to the third node, the
     * first node comes back (its disk intact) and a write is made through it. The write must be on every copy
     * listed afterwards, the new one included: it goes through the repairing node (the dead node left the list
     * before the chunk was read), not around it.
     */
    @Test
    void aWriteThroughANodeBackFromTheDeadDuringARepairReachesTheNewCopy() throws Exception {
        FsEngine e1 = nodes.engine(1);
        Inode f = e1.createFile("/r", 0644, true);
        e1.write(f.id(), 0, ByteBuffer.wrap(EngineTest.random(CHUNK, 1)));
        int[] reps = e1.inode(f.id()).replicas(0);
        assertEquals(1, reps[0], "the writing node is the first copy");
        int a = reps[0];
        int b = reps[1];
        CountDownLatch copying = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Repairer.beforeCopyForTests = (ino, index) -> {
            if (ino == f.id()) {
                copying.countDown();
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        nodes.crash(a);
        assertTrue(copying.await(20, TimeUnit.SECONDS), "node " + b + " repairs the chunk");
        nodes.join(a);
        byte[] written = EngineTest.random(100, 2);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                nodes.engine(a).write(f.id(), 0, ByteBuffer.wrap(written));
            } catch (Throwable t) {
                errors.add(t);
            }
        });
        writer.join(300);                                    // it returns before the copy ends without the fence
        release.countDown();
        writer.join(20_000);
        assertTrue(errors.isEmpty(), errors.toString());
        Repairer.beforeCopyForTests = null;
        int c = 3 - a - b;
        long end = System.nanoTime() + 20_000_000_000L;
        while (Arrays.stream(nodes.engine(0).inode(f.id()).replicas(0)).noneMatch(n -> n == c)
                && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        int[] now = nodes.engine(0).inode(f.id()).replicas(0);
        assertEquals(2, now.length, Arrays.toString(now));
        assertTrue(Arrays.stream(now).anyMatch(n -> n == c), "repaired onto node " + c + ": " + Arrays.toString(now));
        for (int n : now) {
            assertArrayEquals(written, firstBytes(n, f.id(), written.length), "the copy on node " + n
                    + " of " + Arrays.toString(now));
        }
    }

    /** What node {@code n}'s own copy of chunk 0 holds first (read from its chunk store). */
    private byte[] firstBytes(int n, long ino, int length) throws Exception {
        Inode file = nodes.engine(n).inode(ino);
        ByteBuffer b = ByteBuffer.allocate(length);
        ChunkStore store = (ChunkStore) field(nodes.engine(n), "store");
        store.read(ino, 0, file.generation(0), 0, b, length);
        return b.array();
    }

    private static Object field(Object o, String name) throws Exception {
        java.lang.reflect.Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }

    /**
     * A node comes back with an emptied disk while still listed, and a write reaches it before it checked its store:
     * it must not serve the zeros of a file made by that write for the bytes written before it died.
     */
    @Test
    void aNodeBackWithAnEmptyDiskServesNoChunkBeforeItCheckedItsStore() throws Exception {
        FsEngine e0 = nodes.engine(0);
        Inode f = e0.createFile("/w", 0644, true);
        byte[] data = EngineTest.random(8 * CHUNK, 3);
        e0.write(f.id(), 0, ByteBuffer.wrap(data));
        Inode w = e0.inode(f.id());
        int chunk = -1;
        for (int i = 0; i < w.usedChunks() && chunk < 0; i++) {
            if (w.replicas(i)[0] == 0 && Arrays.stream(w.replicas(i)).anyMatch(n -> n == 1)) {
                chunk = i;
            }
        }
        assertTrue(chunk >= 0, "a chunk on nodes 0 and 1");
        nodes.crash(1);
        Path store = nodes.storage().resolve("node-1").resolve("fs");
        try (Stream<Path> s = Files.walk(store)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        CountDownLatch release = new CountDownLatch(1);
        Repairer.beforeIdentifyForTests = id -> {
            if (id == 1) {
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        nodes.join(1);
        long at = (long) chunk * CHUNK + CHUNK - 16;
        byte[] tail = EngineTest.random(16, 4);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        byte[][] read = new byte[1][];
        Thread client = Thread.ofVirtual().start(() -> {
            try {
                e0.write(f.id(), at, ByteBuffer.wrap(tail));   // its copy goes to node 1 too while it is listed
                ByteBuffer b = ByteBuffer.allocate(CHUNK);
                nodes.engine(1).read(f.id(), (long) chunk0(at) * CHUNK, b);
                read[0] = b.array();
            } catch (Throwable t) {
                errors.add(t);
            }
        });
        client.join(500);
        release.countDown();
        client.join(20_000);
        assertTrue(errors.isEmpty(), errors.toString());
        byte[] expected = Arrays.copyOfRange(data, chunk * CHUNK, (chunk + 1) * CHUNK);
        System.arraycopy(tail, 0, expected, CHUNK - 16, 16);
        assertArrayEquals(expected, read[0], "chunk " + chunk + " read on node 1");
    }

    /**
     * A node whose repair thread waits (here in its first check of the chunk store, as a KDDM read or RPC to a leaving
     * peer would) is closed: the wait is interrupted, rather than holding the close for seconds.
     */
    @Test
    void closingANodeInterruptsItsRepairThreadsWait() throws Exception {
        nodes.crash(1);
        CountDownLatch waiting = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        Repairer.beforeIdentifyForTests = id -> {
            if (id == 1) {
                waiting.countDown();
                try {
                    Thread.sleep(20_000);
                } catch (InterruptedException e) {
                    interrupted.countDown();
                    Thread.currentThread().interrupt();
                }
            }
        };
        nodes.join(1);
        assertTrue(waiting.await(10, TimeUnit.SECONDS), "node 1's repair thread waits");
        nodes.crash(1);                                        // closes node 1's engine first
        assertTrue(interrupted.await(10, TimeUnit.SECONDS), "the wait was interrupted by the close");
    }

    /**
     * A repair that its node's close interrupts while it copies a chunk goes no further: no copy to another node and
     * no change of the chunk's list after the close (the interrupt used to fail one copy, and the next candidate was
     * copied to and listed).
     */
    @Test
    void aRepairInterruptedByItsNodesCloseCopiesNoFurther() throws Exception {
        nodes.close();
        nodes = new Engines(4, EngineTest.config());
        FsEngine e1 = nodes.engine(1);
        Inode f = e1.createFile("/i", 0644, true);
        e1.write(f.id(), 0, ByteBuffer.wrap(EngineTest.random(CHUNK, 3)));
        int[] reps = e1.inode(f.id()).replicas(0);
        assertEquals(1, reps[0], "the writing node is the first copy");
        CountDownLatch copying = new CountDownLatch(1);
        Repairer.beforeCopyForTests = (ino, index) -> {
            if (ino == f.id()) {
                copying.countDown();
                try {
                    Thread.sleep(20_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        nodes.crash(reps[1]);                                  // node 1 repairs: two nodes to copy the chunk to
        assertTrue(copying.await(20, TimeUnit.SECONDS), "node 1 repairs the chunk");
        int reader = java.util.stream.IntStream.of(0, 2, 3).filter(n -> n != reps[1]).findFirst().orElseThrow();
        nodes.crash(1);                                        // closes node 1's engine first: interrupts the repair
        assertArrayEquals(new int[]{1}, nodes.engine(reader).inode(f.id()).replicas(0),
                "no copy listed after node 1's close");
    }

    private static int chunk0(long at) {
        return (int) (at / CHUNK);
    }

    /**
     * Truncations racing writes past the cut in the chunk they cut: when the truncation came last (the file ends at
     * the cut), no byte of the write is left past the end to come back when the file grows again.
     */
    @Test
    void aWriteRacingATruncationLeavesNoBytePastTheEnd() throws Exception {
        long cut = CHUNK + 10;
        int lastLanded = 0;
        for (int k = 0; k < 30; k++) {
            FsEngine e0 = nodes.engine(0);
            Inode f = e0.createFile("/t" + k, 0644, true);
            e0.write(f.id(), 0, ByteBuffer.wrap(EngineTest.random(CHUNK + 100, k)));
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            long delay = (k % 10) * 500_000L;                // the truncation starts up to 4.5 ms after the write
            Thread truncater = Thread.ofVirtual().start(() -> {
                try {
                    java.util.concurrent.locks.LockSupport.parkNanos(delay);
                    nodes.engine(0).truncate(f.id(), cut);
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    byte[] sevens = new byte[8];
                    Arrays.fill(sevens, (byte) 7);
                    nodes.engine(1).write(f.id(), CHUNK + 50, ByteBuffer.wrap(sevens));
                } catch (Throwable t) {
                    errors.add(t);
                }
            });
            truncater.join();
            writer.join();
            assertTrue(errors.isEmpty(), errors.toString());
            if (e0.inode(f.id()).size() != cut) {
                lastLanded++;                                 // the write came after the truncation
                continue;
            }
            nodes.engine(2).write(f.id(), CHUNK + 200, ByteBuffer.wrap(new byte[]{9}));
            byte[] all = EngineTest.readAll(nodes.engine(2), f.id());
            assertArrayEquals(new byte[CHUNK + 200 - (int) cut], Arrays.copyOfRange(all, (int) cut, CHUNK + 200),
                    "round " + k + ": zeros from the cut to the new write");
        }
        assertTrue(lastLanded < 30, "some truncations came last");
    }

    /**
     * A chunk whose file is shorter than the range read (written at its start only, the file extended past it):
     * the rest reads as zeros into a buffer that held other bytes, from the local copy and from a remote one.
     */
    @Test
    void theUnwrittenEndOfAChunkReadsAsZerosIntoAReusedBuffer() throws Exception {
        FsEngine e0 = nodes.engine(0);
        Inode f = e0.createFile("/sparse", 0644, true);
        byte[] head = EngineTest.random(100, 6);
        e0.write(f.id(), 0, ByteBuffer.wrap(head));
        e0.write(f.id(), 3L * CHUNK, ByteBuffer.wrap(new byte[]{1}));
        int[] reps = e0.inode(f.id()).replicas(0);
        byte[] expected = new byte[CHUNK];
        System.arraycopy(head, 0, expected, 0, head.length);
        for (int n : new int[]{reps[0], 3 - reps[0] - reps[1]}) {   // a node with a copy, the one without
            byte[] dirty = new byte[CHUNK];
            Arrays.fill(dirty, (byte) 0x55);
            ByteBuffer b = ByteBuffer.wrap(dirty);
            while (b.hasRemaining()) {
                nodes.engine(n).read(f.id(), b.position(), b);
            }
            assertArrayEquals(expected, dirty, "chunk 0 read on node " + n);
        }
    }

    /** A copy whose node answers reads with an error: the read is served by another copy. */
    @Test
    void aReadGoesToAnotherCopyWhenOneFails() throws Exception {
        FsEngine e0 = nodes.engine(0);
        Inode f = e0.createFile("/f", 0644, true);
        byte[] data = EngineTest.random(CHUNK, 5);
        e0.write(f.id(), 0, ByteBuffer.wrap(data));
        int[] reps = e0.inode(f.id()).replicas(0);
        int reader = 3 - reps[0] - reps[1];
        for (int broken : reps) {                            // whichever copy the reader asks first
            RpcNode rpc = nodes.kddm(broken).rpc();
            rpc.unregister(DataPath.READ.id());
            rpc.register(DataPath.READ, HandlerKind.BLOCKING, (ctx, op) -> {
                throw new java.io.IOException("test: node " + broken + "'s disk fails");
            });
            try {
                assertArrayEquals(data, EngineTest.readAll(nodes.engine(reader), f.id()), "node " + broken
                        + " failing");
            } finally {
                rpc.unregister(DataPath.READ.id());
                DataPath healthy = (DataPath) field(nodes.engine(broken), "data");
                rpc.register(DataPath.READ, HandlerKind.BLOCKING, (ctx, op) -> healthy.readLocal(op));
            }
        }
    }
}
