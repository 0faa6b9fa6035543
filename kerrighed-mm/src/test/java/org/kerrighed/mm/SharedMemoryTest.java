package org.kerrighed.mm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.mm.SharedMemory.*;

/** Segments on a three-node in-process cluster: creation and flags, permissions, typed and bulk access, removal. */
class SharedMemoryTest {
    private static MmNodes nodes;
    private static final AtomicLong keys = new AtomicLong(0x1000);

    @BeforeAll
    static void start() {
        nodes = new MmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    private static SharedMemory shm(int node) {
        return nodes.shm(node);
    }

    private static long newKey() {
        return keys.incrementAndGet();
    }

    /** Runs {@code body} with node {@code node}'s callers having {@code creds}, then root again. */
    private static void as(int node, Credentials creds, Runnable body) {
        nodes.cluster.kddm(node).setCallers(CallerContext.ofNode(node, creds));
        try {
            body.run();
        } finally {
            nodes.cluster.kddm(node).setCallers(CallerContext.ofNode(node, Credentials.ROOT));
        }
    }

    // ------------------------------------------------------------------ create, open, attach

    @Test
    void createOpensTheSameSegmentOnEveryNode() {
        long key = newKey();
        long id = shm(0).open(key, 10_000, CREATE | 0640);
        assertEquals(id, shm(1).open(key, 10_000, 0));
        assertEquals(id, shm(2).open(key, 0, CREATE));          // CREATE without EXCLUSIVE opens an existing one
        assertEquals(id, shm(2).open(key, 5, 0));                // smaller sizes are fine
        SegmentStat st = shm(1).stat(id);
        assertEquals(key, st.key());
        assertEquals(10_000, st.size());
        assertEquals(DEFAULT_PAGE_SIZE, st.pageSize());
        assertEquals(1, st.replication());
        assertEquals(0640, st.perm().mode());
        assertEquals(0, st.creator().node());
        assertEquals(0, st.attachCount());
        assertFalse(st.markedForRemoval());
        assertTrue(shm(2).list().stream().anyMatch(s -> s.id() == id));
        try (Segment a = shm(1).attach(id); Segment b = shm(2).attach(id, READ_ONLY)) {
            assertEquals(2, shm(0).stat(id).attachCount());
            assertEquals(10_000, a.size());
            assertTrue(b.readOnly());
            assertTrue(shm(1).attachedHere().contains(a));
        }
        assertEquals(0, shm(0).stat(id).attachCount());
        assertTrue(shm(0).stat(id).detachTime().toEpochMilli() > 0);
    }

    @Test
    void exclusiveCreateOfAnExistingKeyFails() {
        long key = newKey();
        long id = shm(0).open(key, 100, CREATE | EXCLUSIVE | 0600);
        SegmentExistsException e = assertThrows(SegmentExistsException.class,
                () -> shm(1).open(key, 100, CREATE | EXCLUSIVE | 0600));
        assertTrue(e.getMessage().contains("segment " + id), e.getMessage());
    }

    @Test
    void missingKeyWithoutCreateFails() {
        long key = newKey();
        NoSuchSegmentException e = assertThrows(NoSuchSegmentException.class, () -> shm(2).open(key, 100, 0600));
        assertTrue(e.getMessage().contains(Long.toHexString(key)), e.getMessage());
        assertThrows(NoSuchSegmentException.class, () -> shm(1).attach(987_654_321L));
        assertThrows(NoSuchSegmentException.class, () -> shm(1).stat(987_654_321L));
        assertThrows(NoSuchSegmentException.class, () -> shm(1).remove(987_654_321L));
    }

    @Test
    void openingWithALargerSizeIsInvalid() {
        long key = newKey();
        shm(0).open(key, 100, CREATE | 0600);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shm(1).open(key, 101, 0));
        assertTrue(e.getMessage().contains("100 bytes"), e.getMessage());
    }

    @Test
    void privateKeysAlwaysMakeNewSegments() {
        long a = shm(0).open(PRIVATE, 64, 0600);
        long b = shm(0).open(PRIVATE, 64, CREATE | 0600);
        assertNotEquals(a, b);
        assertEquals(PRIVATE, shm(1).stat(a).key());
    }

    @Test
    void concurrentCreatesOfOneKeyMakeOneSegment() throws Exception {
        long key = newKey();
        long[] ids = new long[3];
        Thread[] ts = new Thread[3];
        for (int n = 0; n < 3; n++) {
            int node = n;
            ts[n] = Thread.ofVirtual().start(() -> ids[node] = shm(node).open(key, 4096, CREATE | 0600));
        }
        for (Thread t : ts) {
            t.join();
        }
        assertEquals(ids[0], ids[1]);
        assertEquals(ids[0], ids[2]);
    }

    @Test
    void badArgumentsAreRefused() {
        long key = newKey();
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 0, CREATE | 0600));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, -1, CREATE | 0600));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, MAX_SIZE + 1, CREATE | 0600));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 100, CREATE | 01777_0000));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 100, CREATE | 0600, 1000, 1));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 100, CREATE | 0600, 32, 1));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 100, CREATE | 0600, 16 << 20, 1));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 100, CREATE | 0600, 4096, 0));
        assertThrows(IllegalArgumentException.class, () -> shm(0).open(key, 100, CREATE | 0600, 4096, 9));
        assertThrows(NoSuchSegmentException.class, () -> shm(0).open(key, 100, 0600));   // nothing was made
        long id = shm(0).open(key, 100, CREATE | 0600);
        assertThrows(IllegalArgumentException.class, () -> shm(0).attach(id, CREATE));
    }

    // ------------------------------------------------------------------ permissions

    @Test
    void permissionsAreCheckedWithTheCallersCredentials() {
        long key = newKey();
        Credentials alice = new Credentials(1000, 100);
        Credentials bob = new Credentials(2000, 100);      // alice's group
        Credentials eve = new Credentials(3000, 300);
        long[] id = new long[1];
        as(1, alice, () -> id[0] = shm(1).open(key, 4096, CREATE | 0640));
        SegmentStat st = shm(0).stat(id[0]);
        assertEquals(1000, st.perm().uid());
        assertEquals(1000, st.perm().cuid());
        as(1, alice, () -> {
            try (Segment s = shm(1).attach(id[0])) {
                s.putInt(0, 42);
            }
        });
        as(2, bob, () -> {
            assertEquals(id[0], shm(2).open(key, 0, 0));
            assertThrows(PermissionDeniedException.class, () -> shm(2).open(key, 0, 0600));   // asks for write
            try (Segment s = shm(2).attach(id[0], READ_ONLY)) {
                assertEquals(42, s.getInt(0));
            }
            PermissionDeniedException e = assertThrows(PermissionDeniedException.class, () -> shm(2).attach(id[0]));
            assertTrue(e.getMessage().contains("write access"), e.getMessage());
            assertThrows(PermissionDeniedException.class, () -> shm(2).remove(id[0]));
        });
        as(2, eve, () -> {
            assertThrows(PermissionDeniedException.class, () -> shm(2).open(key, 0, 0));
            assertThrows(PermissionDeniedException.class, () -> shm(2).attach(id[0], READ_ONLY));
            assertThrows(PermissionDeniedException.class, () -> shm(2).stat(id[0]));
            assertTrue(shm(2).list().stream().noneMatch(s -> s.id() == id[0]));
            assertThrows(PermissionDeniedException.class, () -> shm(2).remove(id[0]));
        });
        assertEquals(0, shm(0).stat(id[0]).attachCount(), "refused attaches are not counted");
        as(1, alice, () -> shm(1).remove(id[0]));           // the owner may remove it
        assertThrows(NoSuchSegmentException.class, () -> shm(0).stat(id[0]));
    }

    // ------------------------------------------------------------------ typed access

    @Test
    void everyPrimitiveWrittenOnOneNodeReadsBackOnTheOthers() {
        long id = shm(0).open(newKey(), 8192, CREATE | 0600);
        try (Segment w = shm(0).attach(id); Segment r1 = shm(1).attach(id, READ_ONLY); Segment r2 = shm(2).attach(id)) {
            w.putByte(0, (byte) -7);
            w.putShort(2, (short) -12345);
            w.putChar(4, 'Ж');
            w.putInt(8, 0xCAFEBABE);
            w.putLong(16, 0x0123_4567_89AB_CDEFL);
            w.putFloat(24, 3.25f);
            w.putDouble(32, -Math.PI);
            w.putLong(4096 + 8, Long.MIN_VALUE);                 // second page
            for (Segment r : new Segment[]{r1, r2}) {
                assertEquals((byte) -7, r.getByte(0));
                assertEquals((short) -12345, r.getShort(2));
                assertEquals('Ж', r.getChar(4));
                assertEquals(0xCAFEBABE, r.getInt(8));
                assertEquals(0x0123_4567_89AB_CDEFL, r.getLong(16));
                assertEquals(3.25f, r.getFloat(24));
                assertEquals(-Math.PI, r.getDouble(32));
                assertEquals(Long.MIN_VALUE, r.getLong(4096 + 8));
            }
            assertEquals((byte) 0xEF, r1.getByte(16), "little-endian: the low byte comes first");
            assertEquals((byte) 0x01, r1.getByte(23));
            r2.putInt(8, 7);                                      // a write on another node invalidates the copies
            assertEquals(7, w.getInt(8));
            assertEquals(7, r1.getInt(8));
        }
    }

    @Test
    void valuesStraddlingPagesAreReadAndWrittenWhole() {
        long id = shm(0).open(PRIVATE, 256, 0600, 64, 1);
        try (Segment a = shm(0).attach(id); Segment b = shm(1).attach(id)) {
            a.putLong(60, 0x1122_3344_5566_7788L);
            assertEquals(0x1122_3344_5566_7788L, b.getLong(60));
            assertEquals((byte) 0x88, b.getByte(60));
            assertEquals((byte) 0x11, b.getByte(67));
            b.putInt(126, 0xA1B2C3D4);
            assertEquals(0xA1B2C3D4, a.getInt(126));
            b.putShort(191, (short) 0x7F01);
            assertEquals((short) 0x7F01, a.getShort(191));
            b.putChar(127, 'é');
            assertEquals('é', a.getChar(127));
            a.putDouble(185, 1e300);
            assertEquals(1e300, b.getDouble(185));
            a.putFloat(62, 1.5f);
            assertEquals(1.5f, b.getFloat(62));
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> a.putFloat(254, 1f));
            assertTrue(e.getMessage().contains("offset 254") && e.getMessage().contains("256 bytes"), e.getMessage());
        }
    }

    @Test
    void atomicOperationsWorkAndNeedAlignment() {
        long id = shm(0).open(PRIVATE, 4096, 0600);
        try (Segment a = shm(0).attach(id); Segment b = shm(2).attach(id)) {
            assertTrue(a.compareAndSetLong(8, 0, 5));
            assertFalse(b.compareAndSetLong(8, 0, 6));
            assertEquals(5, b.getAndAddLong(8, 10));
            assertEquals(15, a.getLong(8));
            assertTrue(b.compareAndSetInt(4, 0, -1));
            assertEquals(-1, a.getAndAddInt(4, 2));
            assertEquals(1, b.getInt(4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.compareAndSetLong(12, 0, 1));
            assertTrue(e.getMessage().contains("offset 12") && e.getMessage().contains("multiple of 8"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> a.getAndAddInt(2, 1));
            assertThrows(IllegalArgumentException.class, () -> a.getAndAddLong(4, 1));
            assertThrows(IllegalArgumentException.class, () -> a.compareAndSetInt(1, 0, 1));
            a.fullFence();
            a.acquireFence();
            a.releaseFence();
        }
    }

    @Test
    void boundsReadOnlyAndDetachAreEnforced() {
        long id = shm(0).open(PRIVATE, 100, 0600);
        Segment ro = shm(1).attach(id, READ_ONLY);
        Segment rw = shm(1).attach(id);
        IndexOutOfBoundsException oob = assertThrows(IndexOutOfBoundsException.class, () -> rw.getLong(96));
        assertTrue(oob.getMessage().contains("offset 96") && oob.getMessage().contains("100 bytes"), oob.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> rw.getByte(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> rw.putByte(100, (byte) 1));
        assertThrows(IndexOutOfBoundsException.class, () -> rw.copyTo(90, new byte[11], 0, 11));
        ReadOnlySegmentException r = assertThrows(ReadOnlySegmentException.class, () -> ro.putInt(0, 1));
        assertTrue(r.getMessage().contains("read-only"), r.getMessage());
        assertThrows(ReadOnlySegmentException.class, () -> ro.compareAndSetLong(0, 0, 1));
        assertThrows(ReadOnlySegmentException.class, () -> ro.copyFrom(0, new byte[4], 0, 4));
        assertThrows(ReadOnlySegmentException.class, () -> ro.asLongArray().set(0, 1));
        assertEquals(0, ro.getInt(0));
        ro.close();
        ro.close();                                          // idempotent
        IllegalStateException d = assertThrows(IllegalStateException.class, () -> ro.getInt(0));
        assertTrue(d.getMessage().contains("detached"), d.getMessage());
        assertThrows(ReadOnlyBufferException.class, () -> rw.copyTo(0, ByteBuffer.allocate(4).asReadOnlyBuffer()));
        assertThrows(IllegalStateException.class, () -> ro.copyTo(0, ByteBuffer.allocate(4)));
        assertFalse(ro.attached());
        assertEquals(1, shm(0).stat(id).attachCount());
        shm(1).detach(rw);
        assertThrows(IllegalStateException.class, () -> rw.putInt(0, 1));
        assertEquals(0, shm(0).stat(id).attachCount());
    }

    // ------------------------------------------------------------------ bulk copies and arrays

    @Test
    void bulkCopiesGoThroughEveryKindOfBuffer() {
        int size = 3 * 4096 + 100;
        long id = shm(0).open(PRIVATE, size, 0600);
        byte[] data = new byte[size];
        for (int i = 0; i < size; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        try (Segment a = shm(0).attach(id); Segment b = shm(1).attach(id); Segment c = shm(2).attach(id)) {
            a.copyFrom(0, data, 0, size);
            byte[] back = new byte[size];
            b.copyTo(0, back, 0, size);
            assertArrayEquals(data, back);

            ByteBuffer heap = ByteBuffer.allocate(5000);
            c.copyTo(4000, heap);                              // crosses two page boundaries, unaligned
            assertEquals(5000, heap.position());
            assertArrayEquals(Arrays.copyOfRange(data, 4000, 9000), heap.array());
            ByteBuffer direct = ByteBuffer.allocateDirect(300);
            for (int i = 0; i < 300; i++) {
                direct.put((byte) i);
            }
            direct.flip();
            b.copyFrom(4090, direct);
            assertFalse(direct.hasRemaining());
            for (int i = 0; i < 300; i++) {
                assertEquals((byte) i, a.getByte(4090 + i));
            }

            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ms = arena.allocate(8200);
                ms.fill((byte) 9);
                a.copyFrom(1, ms);
                MemorySegment out = arena.allocate(8200);
                c.copyTo(1, out);
                assertEquals(-1, out.mismatch(ms));
                assertEquals((byte) 9, b.getByte(8200));
                assertEquals(data[8201], b.getByte(8201));
            }

            long[] longs = new long[1000];
            for (int i = 0; i < longs.length; i++) {
                longs[i] = i * 0x1_0000_0001L - 5;
            }
            c.copyFrom(12, longs, 0, longs.length);            // 8000 bytes from offset 12: straddles pages
            long[] lback = new long[1002];
            a.copyTo(12, lback, 1, 1000);
            assertArrayEquals(longs, Arrays.copyOfRange(lback, 1, 1001));
            assertEquals(longs[500], b.getLong(12 + 8 * 500));

            double[] ds = {1.5, -2.25, Double.NaN, 1e-300};
            b.copyFrom(4092, ds, 0, 4);
            double[] dback = new double[4];
            a.copyTo(4092, dback, 0, 4);
            assertArrayEquals(ds, dback);
            assertEquals(-2.25, c.getDouble(4100));

            ByteBuffer le = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            a.copyTo(4092, le);
            assertEquals(1.5, le.getDouble(0), "bulk copies keep the little-endian layout");
        }
    }

    @Test
    void aBulkCopyFetchesThePagesThatAreNotCachedAndReadsTheOthersHere() {
        int pages = 8;
        long id = shm(0).open(PRIVATE, pages * 4096L, 0600);
        byte[] data = new byte[pages * 4096];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 13 + i / 4096);
        }
        try (Segment a = shm(0).attach(id); Segment b = shm(1).attach(id)) {
            a.copyFrom(0, data, 0, data.length);
            for (int page : new int[]{0, 1, 2, 5}) {
                assertEquals(a.getInt(page * 4096L), b.getInt(page * 4096L));   // node 1 caches pages 0-2 and 5
            }
            SegmentStats before = b.stats();
            ByteBuffer out = ByteBuffer.allocateDirect(data.length - 10);
            b.copyTo(10, out);                                   // runs: 0-2, 3 (fetched), 4 (fetched)-5, 6, 7
            out.flip();
            byte[] back = new byte[out.remaining()];
            out.get(back);
            assertArrayEquals(Arrays.copyOfRange(data, 10, data.length), back);
            SegmentStats after = b.stats();
            assertEquals(4, after.faults() - before.faults());
            assertEquals(4, after.hits() - before.hits());
            assertEquals(pages, after.cachedPages());
        }
    }

    @Test
    void longAndDoubleArrayViews() {
        long id = shm(0).open(PRIVATE, 2 * 4096, 0600);
        try (Segment a = shm(0).attach(id); Segment b = shm(1).attach(id)) {
            SharedLongArray la = a.asLongArray(0, 512);
            SharedLongArray lb = b.asLongArray(0, 512);
            assertEquals(512, la.length());
            la.set(511, 77);
            assertEquals(77, lb.get(511));
            assertTrue(lb.compareAndSet(511, 77, 78));
            assertEquals(78, la.getAndAdd(511, 2));
            assertEquals(81, lb.addAndGet(511, 1));
            long[] src = new long[512];
            Arrays.setAll(src, i -> i * i);
            la.copyFrom(0, src, 0, 512);
            assertArrayEquals(src, lb.toArray());
            assertThrows(IndexOutOfBoundsException.class, () -> la.get(512));
            assertThrows(IndexOutOfBoundsException.class, () -> la.copyTo(500, new long[20], 0, 20));
            assertThrows(IllegalArgumentException.class, () -> a.asLongArray(4, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> a.asLongArray(4096, 513));

            SharedDoubleArray da = a.asDoubleArray(4096, 512);
            SharedDoubleArray db = b.asDoubleArray();
            assertEquals(1024, db.length());
            da.set(3, 2.5);
            assertEquals(2.5, db.get(512 + 3));
            double[] d = new double[512];
            Arrays.setAll(d, i -> i / 3.0);
            db.copyFrom(512, d, 0, 512);
            assertArrayEquals(d, da.toArray());
            double[] part = new double[10];
            da.copyTo(100, part, 0, 10);
            assertArrayEquals(Arrays.copyOfRange(d, 100, 110), part);
        }
    }

    // ------------------------------------------------------------------ removal and statistics

    @Test
    void removedSegmentsFreeTheirKeyAtOnceAndThemselvesOnTheLastDetach() {
        long key = newKey();
        long id = shm(0).open(key, 4096, CREATE | 0600);
        Segment a = shm(0).attach(id);
        Segment b = shm(1).attach(id);
        a.putLong(0, 99);
        shm(2).remove(id);
        SegmentStat st = shm(1).stat(id);
        assertTrue(st.markedForRemoval());
        assertEquals(2, st.attachCount());
        assertThrows(NoSuchSegmentException.class, () -> shm(2).open(key, 0, 0), "the key is free at once");
        assertThrows(NoSuchSegmentException.class, () -> shm(2).attach(id), "no new attachments");
        shm(2).remove(id);                                   // marking again does nothing
        assertEquals(99, b.getLong(0), "attachments keep working");
        long other = shm(1).open(key, 4096, CREATE | EXCLUSIVE | 0600);
        assertNotEquals(id, other, "the key names a new segment");
        a.close();
        assertEquals(1, shm(2).stat(id).attachCount());
        b.close();
        assertThrows(NoSuchSegmentException.class, () -> shm(2).stat(id));
        assertTrue(shm(0).list().stream().noneMatch(s -> s.id() == id));
        assertEquals(other, shm(0).open(key, 0, 0));
        shm(0).remove(other);                                // no attachment: freed at once
        assertThrows(NoSuchSegmentException.class, () -> shm(1).stat(other));
        assertThrows(NoSuchSegmentException.class, () -> shm(1).open(key, 0, 0));
    }

    @Test
    void statisticsCountFaultsHitsInvalidationsAndBytes() {
        long id = shm(0).open(PRIVATE, 4 * 4096, 0600);
        try (Segment a = shm(0).attach(id); Segment b = shm(1).attach(id)) {
            a.copyFrom(0, new byte[4 * 4096], 0, 4 * 4096);     // node 0 owns the 4 pages
            SegmentStats before = b.stats();
            b.copyTo(0, new byte[4 * 4096], 0, 4 * 4096);       // 4 read faults
            b.copyTo(0, new byte[4 * 4096], 0, 4 * 4096);       // 4 hits
            SegmentStats after = b.stats();
            assertEquals(4, after.faults() - before.faults());
            assertEquals(4, after.hits() - before.hits());
            assertEquals(4, after.cachedPages());
            assertTrue(a.stats().bytesMoved() >= 4 * 4096, a.stats().toString());
            a.putInt(0, 1);                                      // invalidates b's copy of page 0
            assertEquals(1, b.getInt(0));
            assertTrue(b.stats().invalidations() - before.invalidations() >= 1, b.stats().toString());
        }
    }
}
