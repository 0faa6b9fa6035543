package org.kerrighed.fs.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A replica that misses a write (here: it refuses writes, as a failing disk would) must leave the chunk's list, or
 * its stale copy would be read, and served again by its node after a restart. The change of the list fails at
 * first (as it may while KDDM recovers from a failure): it is retried. Three in-process nodes, replication 2; node
 * 0 writes, and is its chunks' primary.
 */
class MissedWriteTest {
    static Engines nodes;

    @BeforeAll
    static void start() {
        nodes = new Engines(3, EngineTest.config());
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    @AfterEach
    void noFaults() {
        DataPath.refuseWritesForTests = null;
        DataPath.FAIL_DROPS_FOR_TESTS.set(0);
    }

    /** A file on node 0 and one other node, written once; returns that other node. */
    private static int fileOnTwoNodes(Inode f) throws Exception {
        nodes.engine(0).write(f.id(), 0, ByteBuffer.wrap(EngineTest.random(5000, 1)));
        int[] reps = nodes.engine(0).inode(f.id()).replicas(0);
        assertEquals(2, reps.length, Arrays.toString(reps));
        assertEquals(0, reps[0], "the writer's node is the primary");
        return reps[1];
    }

    @Test
    void aReplicaThatMissedAWriteLeavesTheListAfterFailedTries() throws Exception {
        FsEngine e0 = nodes.engine(0);
        Inode f = e0.createFile("/missed-retried", 0644, true);
        int other = fileOnTwoNodes(f);
        DataPath.refuseWritesForTests = n -> n == other;
        DataPath.FAIL_DROPS_FOR_TESTS.set(2);
        byte[] second = EngineTest.random(5000, 2);
        e0.write(f.id(), 0, ByteBuffer.wrap(second));              // returns once node `other` is out of the list
        assertEquals(0, DataPath.FAIL_DROPS_FOR_TESTS.get(), "the change was tried three times");
        DataPath.refuseWritesForTests = null;
        // node `other` reads its own copy while it is listed (a repair may have listed it again with a fresh copy)
        assertArrayEquals(second, EngineTest.readAll(nodes.engine(other), f.id()), "no stale copy is read");
    }

    /** The same through a primary on another node than the writer: its retries fit in the writer's call. */
    @Test
    void aRemotePrimaryRetriesTheDropWithinTheWritersCall() throws Exception {
        Inode f = nodes.engine(0).createFile("/missed-remote-primary", 0644, true);
        int other = fileOnTwoNodes(f);
        int writer = other == 1 ? 2 : 1;                              // not a copy: its writes go to node 0
        DataPath.refuseWritesForTests = n -> n == other;
        DataPath.FAIL_DROPS_FOR_TESTS.set(3);
        byte[] second = EngineTest.random(5000, 4);
        nodes.engine(writer).write(f.id(), 0, ByteBuffer.wrap(second));
        assertEquals(0, DataPath.FAIL_DROPS_FOR_TESTS.get(), "the change was tried four times");
        DataPath.refuseWritesForTests = null;
        assertArrayEquals(second, EngineTest.readAll(nodes.engine(other), f.id()), "no stale copy is read");
        assertArrayEquals(second, EngineTest.readAll(nodes.engine(writer), f.id()));
    }

    @Test
    void aDropThatKeepsFailingFailsTheWriteAndIsDoneInTheBackground() throws Exception {
        FsEngine e0 = nodes.engine(0);
        Inode f = e0.createFile("/missed-background", 0644, true);
        int other = fileOnTwoNodes(f);
        DataPath.refuseWritesForTests = n -> n == other;
        DataPath.FAIL_DROPS_FOR_TESTS.set(Integer.MAX_VALUE);
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> e0.write(f.id(), 0, ByteBuffer.wrap(EngineTest.random(5000, 3))));
        assertTrue(e.getMessage().contains("are not out of its list yet"), e.getMessage());
        DataPath.FAIL_DROPS_FOR_TESTS.set(0);
        DataPath.refuseWritesForTests = null;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Arrays.equals(EngineTest.readAll(nodes.engine(other), f.id()), EngineTest.readAll(e0, f.id()))
                && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertArrayEquals(EngineTest.readAll(e0, f.id()), EngineTest.readAll(nodes.engine(other), f.id()),
                "the copies read agree once the background change is done");
    }
}
