package org.kerrighed.mm;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.NoSuchSetException;
import org.kerrighed.kddm.ObjectLostException;
import org.kerrighed.kddm.RunHandle;
import org.kerrighed.kddm.SetStats;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;

/**
 * An attachment of a shared segment on this node ({@link SharedMemory#attach}): typed reads and writes at byte
 * offsets, atomic updates, bulk copies and fences. {@link #close} detaches it. Thread-safe: any number of threads
 * may use one attachment.
 *
 * <p><b>Byte order.</b> Multi-byte values are stored <b>little-endian</b>, whatever the platform: a long written on
 * one node reads back the same on any other, and {@code copyTo(offset, long[])} agrees with {@code getLong}.
 *
 * <p><b>How an access works.</b> The segment is cut into pages ({@link #pageSize()} bytes, a power of two), each a
 * KDDM object. A read takes a read copy of its page ({@code get}: served locally, without a message, when this node
 * holds a copy; else one round trip to the page's owner), reads, and releases it; a write takes the page
 * ({@code grab}: every other copy in the cluster is invalidated first), writes it in place and releases it (with a
 * replication factor r &gt; 1, the release returns once the page is on r nodes). Copies stay cached until another
 * node writes the page. A bulk read ({@code copyTo}) takes its pages in runs, many per KDDM call (see
 * {@link #copyTo(long, MemorySegment)}). A value that straddles two pages is read or written one page at a time:
 * it is not atomic against writers of those pages. See docs/memory-model.md for what this means for layouts and
 * performance.
 *
 * <p><b>Atomic operations.</b> {@code compareAndSet*} and {@code getAndAdd*} take the page for writing (so no
 * other node reads or writes it meanwhile) and update it under the page's local lock (so the node's other threads
 * holding the page too are ordered with them): they are atomic cluster-wide. Every write of this node to a page
 * (plain puts and bulk copies too) takes that lock, so no write is lost between an atomic operation's read and
 * write; plain reads take no lock. (The JDK's byte-array view {@link VarHandle}s support only plain access: a
 * {@code byte[]} is not guaranteed to be 8-byte aligned, so they cannot be used for atomics.) Atomic offsets must
 * be aligned to the value's size (4 or 8), else {@link IllegalArgumentException}: an aligned value never straddles
 * two pages.
 *
 * <p><b>Ordering.</b> Within a node, plain {@code get}/{@code put} are plain memory accesses (as on fields or
 * arrays): a read racing with a local write of the same bytes may see either value (aligned values are moved with
 * single loads and stores on 64-bit HotSpot, but Java does not promise it). Order them for other local threads
 * with the fences below, atomic operations or other synchronization. Across nodes, every page is sequentially consistent (KDDM's write-invalidate: one writer or
 * many readers at a time, every node sees a page's writes in one order, and a thread's accesses happen in its
 * program order since each one completes before it returns); there is no order between different pages beyond a
 * thread's program order. Atomic operations, fences and page transfers are the synchronization points.
 *
 * <p><b>Failures.</b> Access after {@link #close}: {@link IllegalStateException}. Outside the segment:
 * {@link IndexOutOfBoundsException} naming the offset, the length and the size. Writes to a read-only attachment:
 * {@link ReadOnlySegmentException}. A page whose every copy died with failed nodes (replication 1 and its owner
 * died): {@link PageLostException} (a KDDM {@link ObjectLostException}). A page that cannot be reached in time:
 * {@link org.kerrighed.kddm.KddmException}.
 */
public final class Segment implements AutoCloseable {
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ORDER;
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ORDER);
    private static final VarHandle CHAR = MethodHandles.byteArrayViewVarHandle(char[].class, ORDER);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ORDER);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ORDER);
    private static final VarHandle FLOAT = MethodHandles.byteArrayViewVarHandle(float[].class, ORDER);
    private static final VarHandle DOUBLE = MethodHandles.byteArrayViewVarHandle(double[].class, ORDER);
    /** A bulk read pins at once at most {@code RUN_BYTES} of pages (one page if bigger) and {@code RUN_PAGES} pages. */
    static final int RUN_BYTES = 1 << 20;
    static final int RUN_PAGES = 256;

    private final SharedMemory shm;
    private final org.kerrighed.kddm.access.Caller holder;   // who attached it
    final long incarnation;                                 // this node's incarnation when it attached (its entry)
    private final long id;
    private final long key;
    private final long size;
    private final int pageSize;
    private final int shift;
    private final int mask;
    private final int replication;
    private final int runPages;
    private final boolean readOnly;
    private final KddmSet<Frame> pages;
    private final String name;
    private volatile boolean detached;

    /** Who attached this segment (a process, or a thread of a node). */
    org.kerrighed.kddm.access.Caller holder() {
        return holder;
    }

    Segment(SharedMemory shm, SegmentMeta m, KddmSet<Frame> pages, boolean readOnly,
            org.kerrighed.kddm.access.Caller holder, long incarnation) {
        this.shm = shm;
        this.holder = holder;
        this.incarnation = incarnation;
        this.id = m.id();
        this.key = m.key();
        this.size = m.size();
        this.pageSize = m.pageSize();
        this.shift = Integer.numberOfTrailingZeros(pageSize);
        this.mask = pageSize - 1;
        this.replication = m.replication();
        this.runPages = Math.clamp(RUN_BYTES >> shift, 1, RUN_PAGES);
        this.readOnly = readOnly;
        this.pages = pages;
        this.name = m.describe();
    }

    // ------------------------------------------------------------------ description

    /** The segment's cluster-wide id. */
    public long id() {
        return id;
    }

    public long key() {
        return key;
    }

    /** Size in bytes: valid offsets are 0 to {@code size() - 1}. */
    public long size() {
        return size;
    }

    public int pageSize() {
        return pageSize;
    }

    public int replication() {
        return replication;
    }

    public boolean readOnly() {
        return readOnly;
    }

    /** False once detached. */
    public boolean attached() {
        return !detached;
    }

    /** This node's page traffic for the segment (see {@link SegmentStats}). */
    public SegmentStats stats() {
        SetStats s = pages.stats();
        return new SegmentStats(s.hits(), s.misses(), s.invalidations(), s.bytesMoved(), s.objects());
    }

    // ------------------------------------------------------------------ typed access

    public byte getByte(long offset) {
        check(offset, 1);
        Handle<Frame> h = read(offset >>> shift);
        try {
            Frame f = h.value();
            return f.bytes[f.offset + ((int) offset & mask)];
        } finally {
            h.close();
        }
    }

    public void putByte(long offset, byte value) {
        checkWrite(offset, 1);
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            synchronized (f) {
                f.bytes[f.offset + ((int) offset & mask)] = value;
            }
        } finally {
            h.close();
        }
    }

    public short getShort(long offset) {
        check(offset, 2);
        int p = (int) offset & mask;
        if (p > pageSize - 2) {
            return (short) readStraddling(offset, 2);
        }
        Handle<Frame> h = read(offset >>> shift);
        try {
            Frame f = h.value();
            return (short) SHORT.get(f.bytes, f.offset + p);
        } finally {
            h.close();
        }
    }

    public void putShort(long offset, short value) {
        checkWrite(offset, 2);
        int p = (int) offset & mask;
        if (p > pageSize - 2) {
            writeStraddling(offset, 2, value);
            return;
        }
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            synchronized (f) {
                SHORT.set(f.bytes, f.offset + p, value);
            }
        } finally {
            h.close();
        }
    }

    public char getChar(long offset) {
        check(offset, 2);
        int p = (int) offset & mask;
        if (p > pageSize - 2) {
            return (char) readStraddling(offset, 2);
        }
        Handle<Frame> h = read(offset >>> shift);
        try {
            Frame f = h.value();
            return (char) CHAR.get(f.bytes, f.offset + p);
        } finally {
            h.close();
        }
    }

    public void putChar(long offset, char value) {
        checkWrite(offset, 2);
        int p = (int) offset & mask;
        if (p > pageSize - 2) {
            writeStraddling(offset, 2, value);
            return;
        }
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            synchronized (f) {
                CHAR.set(f.bytes, f.offset + p, value);
            }
        } finally {
            h.close();
        }
    }

    public int getInt(long offset) {
        check(offset, 4);
        int p = (int) offset & mask;
        if (p > pageSize - 4) {
            return (int) readStraddling(offset, 4);
        }
        Handle<Frame> h = read(offset >>> shift);
        try {
            Frame f = h.value();
            return (int) INT.get(f.bytes, f.offset + p);
        } finally {
            h.close();
        }
    }

    public void putInt(long offset, int value) {
        checkWrite(offset, 4);
        int p = (int) offset & mask;
        if (p > pageSize - 4) {
            writeStraddling(offset, 4, value);
            return;
        }
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            synchronized (f) {
                INT.set(f.bytes, f.offset + p, value);
            }
        } finally {
            h.close();
        }
    }

    public long getLong(long offset) {
        check(offset, 8);
        int p = (int) offset & mask;
        if (p > pageSize - 8) {
            return readStraddling(offset, 8);
        }
        Handle<Frame> h = read(offset >>> shift);
        try {
            Frame f = h.value();
            return (long) LONG.get(f.bytes, f.offset + p);
        } finally {
            h.close();
        }
    }

    public void putLong(long offset, long value) {
        checkWrite(offset, 8);
        int p = (int) offset & mask;
        if (p > pageSize - 8) {
            writeStraddling(offset, 8, value);
            return;
        }
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            synchronized (f) {
                LONG.set(f.bytes, f.offset + p, value);
            }
        } finally {
            h.close();
        }
    }

    public float getFloat(long offset) {
        return Float.intBitsToFloat(getInt(offset));
    }

    public void putFloat(long offset, float value) {
        putInt(offset, Float.floatToRawIntBits(value));
    }

    public double getDouble(long offset) {
        return Double.longBitsToDouble(getLong(offset));
    }

    public void putDouble(long offset, double value) {
        putLong(offset, Double.doubleToRawLongBits(value));
    }

    // ------------------------------------------------------------------ atomic updates

    /**
     * Atomically sets the int at {@code offset} (4-aligned) to {@code value} if it is {@code expected},
     * cluster-wide.
     *
     * @return true if it was {@code expected} and is now {@code value}
     */
    public boolean compareAndSetInt(long offset, int expected, int value) {
        checkAtomic(offset, 4, "compareAndSetInt");
        Handle<Frame> h = write(offset >>> shift);
        boolean set = false;
        try {
            Frame f = h.value();
            int p = f.offset + ((int) offset & mask);
            synchronized (f) {
                if ((int) INT.get(f.bytes, p) == expected) {
                    INT.set(f.bytes, p, value);
                    set = true;
                }
            }
            return set;
        } finally {
            h.release(set);
        }
    }

    /** Atomically adds {@code delta} to the int at {@code offset} (4-aligned), cluster-wide; the old value. */
    public int getAndAddInt(long offset, int delta) {
        checkAtomic(offset, 4, "getAndAddInt");
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            int p = f.offset + ((int) offset & mask);
            synchronized (f) {
                int old = (int) INT.get(f.bytes, p);
                INT.set(f.bytes, p, old + delta);
                return old;
            }
        } finally {
            h.close();
        }
    }

    /**
     * Atomically sets the long at {@code offset} (8-aligned) to {@code value} if it is {@code expected},
     * cluster-wide.
     */
    public boolean compareAndSetLong(long offset, long expected, long value) {
        checkAtomic(offset, 8, "compareAndSetLong");
        Handle<Frame> h = write(offset >>> shift);
        boolean set = false;
        try {
            Frame f = h.value();
            int p = f.offset + ((int) offset & mask);
            synchronized (f) {
                if ((long) LONG.get(f.bytes, p) == expected) {
                    LONG.set(f.bytes, p, value);
                    set = true;
                }
            }
            return set;
        } finally {
            h.release(set);
        }
    }

    /** Atomically adds {@code delta} to the long at {@code offset} (8-aligned), cluster-wide; the old value. */
    public long getAndAddLong(long offset, long delta) {
        checkAtomic(offset, 8, "getAndAddLong");
        Handle<Frame> h = write(offset >>> shift);
        try {
            Frame f = h.value();
            int p = f.offset + ((int) offset & mask);
            synchronized (f) {
                long old = (long) LONG.get(f.bytes, p);
                LONG.set(f.bytes, p, old + delta);
                return old;
            }
        } finally {
            h.close();
        }
    }

    // ------------------------------------------------------------------ fences

    /**
     * Orders this thread's accesses before the fence against those after it, for the other threads of this node
     * ({@link VarHandle#fullFence}). Across nodes no fence is needed: each access completes (its page taken,
     * read or written, released) before the next one starts.
     */
    public void fullFence() {
        VarHandle.fullFence();
    }

    /** Loads before the fence are ordered before loads and stores after it, on this node ({@link VarHandle#acquireFence}). */
    public void acquireFence() {
        VarHandle.acquireFence();
    }

    /** Loads and stores before the fence are ordered before stores after it, on this node ({@link VarHandle#releaseFence}). */
    public void releaseFence() {
        VarHandle.releaseFence();
    }

    // ------------------------------------------------------------------ bulk copies

    /**
     * Copies {@code dst.byteSize()} bytes from the segment, starting at {@code offset}, into {@code dst}. Takes the
     * pages in runs ({@link KddmSet#getRun}: up to {@value #RUN_BYTES} bytes and {@value #RUN_PAGES} consecutive
     * pages in one KDDM call, the first page fetched if it is not here, the others as long as they are cached here)
     * and holds the run's read pins while it copies from it, so no page is invalidated under the copy; consecutive
     * pages that lie side by side in this node's memory ({@link FrameStore}) are copied at once. Not atomic across
     * pages.
     */
    public void copyTo(long offset, MemorySegment dst) {
        long len = dst.byteSize();
        check(offset, len);
        long done = 0;
        while (done < len) {
            long off = offset + done;
            int p = (int) off & mask;
            long pages = (p + (len - done) + mask) >>> shift;          // the pages the rest lies on
            RunHandle<Frame> run = readRun(off >>> shift, (int) Math.min(runPages, pages));
            try {
                done = copyRun(run, p, dst, done, len);
            } finally {
                run.close();
            }
        }
    }

    /**
     * Copies from {@code run}'s pages, starting {@code p} bytes into its first one, to {@code dst} from
     * {@code done}, until the run or {@code len} ends; returns how far {@code dst} is filled.
     */
    private long copyRun(RunHandle<Frame> run, int p, MemorySegment dst, long done, long len) {
        int n = run.count();
        int i = 0;
        while (i < n && done < len) {
            Frame f = run.value(i);
            Frame last = f;
            int j = i + 1;
            while (j < n && run.value(j).follows(last)) {
                last = run.value(j++);
            }
            int k = (int) Math.min(len - done, (long) (j - i) * pageSize - p);
            MemorySegment.copy(f.bytes, f.offset + p, dst, ValueLayout.JAVA_BYTE, done, k);
            done += k;
            p = 0;
            i = j;
        }
        return done;
    }

    /** Copies {@code src.byteSize()} bytes from {@code src} into the segment at {@code offset}, page by page. */
    public void copyFrom(long offset, MemorySegment src) {
        long len = src.byteSize();
        checkWrite(offset, len);
        long done = 0;
        while (done < len) {
            long off = offset + done;
            int p = (int) off & mask;
            int k = (int) Math.min(len - done, pageSize - p);
            Handle<Frame> h = write(off >>> shift);
            try {
                Frame f = h.value();
                synchronized (f) {
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, done, f.bytes, f.offset + p, k);
                }
            } finally {
                h.close();
            }
            done += k;
        }
    }

    /**
     * Copies {@code dst.remaining()} bytes from {@code offset} into {@code dst} (as {@link #copyTo(long,
     * MemorySegment)}), then advances its position by as much.
     *
     * @throws ReadOnlyBufferException when {@code dst} is read-only
     */
    public void copyTo(long offset, ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        int len = dst.remaining();
        copyTo(offset, MemorySegment.ofBuffer(dst));
        dst.position(dst.position() + len);
    }

    /**
     * Copies {@code src.remaining()} bytes from {@code src} into the segment at {@code offset}, page by page, then
     * advances its position by as much.
     */
    public void copyFrom(long offset, ByteBuffer src) {
        int len = src.remaining();
        copyFrom(offset, MemorySegment.ofBuffer(src));
        src.position(src.position() + len);
    }

    /** Copies {@code length} bytes from {@code offset} into {@code dst[dstIndex..]}. */
    public void copyTo(long offset, byte[] dst, int dstIndex, int length) {
        java.util.Objects.checkFromIndexSize(dstIndex, length, dst.length);
        copyTo(offset, MemorySegment.ofArray(dst).asSlice(dstIndex, length));
    }

    /** Copies {@code length} bytes from {@code src[srcIndex..]} into the segment at {@code offset}. */
    public void copyFrom(long offset, byte[] src, int srcIndex, int length) {
        java.util.Objects.checkFromIndexSize(srcIndex, length, src.length);
        copyFrom(offset, MemorySegment.ofArray(src).asSlice(srcIndex, length));
    }

    /** Copies {@code count} longs (8 bytes each, little-endian) from {@code offset} into {@code dst[dstIndex..]}. */
    public void copyTo(long offset, long[] dst, int dstIndex, int count) {
        java.util.Objects.checkFromIndexSize(dstIndex, count, dst.length);
        if (NATIVE_LE) {
            copyTo(offset, MemorySegment.ofArray(dst).asSlice(8L * dstIndex, 8L * count));
        } else {
            check(offset, 8L * count);
            for (int i = 0; i < count; i++) {
                dst[dstIndex + i] = getLong(offset + 8L * i);
            }
        }
    }

    /** Copies {@code count} longs from {@code src[srcIndex..]} into the segment at {@code offset}. */
    public void copyFrom(long offset, long[] src, int srcIndex, int count) {
        java.util.Objects.checkFromIndexSize(srcIndex, count, src.length);
        if (NATIVE_LE) {
            copyFrom(offset, MemorySegment.ofArray(src).asSlice(8L * srcIndex, 8L * count));
        } else {
            checkWrite(offset, 8L * count);
            for (int i = 0; i < count; i++) {
                putLong(offset + 8L * i, src[srcIndex + i]);
            }
        }
    }

    /** Copies {@code count} doubles (8 bytes each, little-endian) from {@code offset} into {@code dst[dstIndex..]}. */
    public void copyTo(long offset, double[] dst, int dstIndex, int count) {
        java.util.Objects.checkFromIndexSize(dstIndex, count, dst.length);
        if (NATIVE_LE) {
            copyTo(offset, MemorySegment.ofArray(dst).asSlice(8L * dstIndex, 8L * count));
        } else {
            check(offset, 8L * count);
            for (int i = 0; i < count; i++) {
                dst[dstIndex + i] = getDouble(offset + 8L * i);
            }
        }
    }

    /** Copies {@code count} doubles from {@code src[srcIndex..]} into the segment at {@code offset}. */
    public void copyFrom(long offset, double[] src, int srcIndex, int count) {
        java.util.Objects.checkFromIndexSize(srcIndex, count, src.length);
        if (NATIVE_LE) {
            copyFrom(offset, MemorySegment.ofArray(src).asSlice(8L * srcIndex, 8L * count));
        } else {
            checkWrite(offset, 8L * count);
            for (int i = 0; i < count; i++) {
                putDouble(offset + 8L * i, src[srcIndex + i]);
            }
        }
    }

    // ------------------------------------------------------------------ array views

    /** The segment's bytes from {@code offset} (8-aligned) as {@code length} longs. */
    public SharedLongArray asLongArray(long offset, long length) {
        return new SharedLongArray(this, offset, length);
    }

    /** The whole segment as longs ({@code size() / 8} of them). */
    public SharedLongArray asLongArray() {
        return asLongArray(0, size / 8);
    }

    /** The segment's bytes from {@code offset} (8-aligned) as {@code length} doubles. */
    public SharedDoubleArray asDoubleArray(long offset, long length) {
        return new SharedDoubleArray(this, offset, length);
    }

    /** The whole segment as doubles ({@code size() / 8} of them). */
    public SharedDoubleArray asDoubleArray() {
        return asDoubleArray(0, size / 8);
    }

    // ------------------------------------------------------------------ detach

    /**
     * Detaches (SysV {@code shmdt}): this attachment stops working, the segment's cluster-wide attachment count
     * drops by one, and a segment marked for removal is freed when this was its last attachment (in the background
     * if freeing fails). Page copies cached here stay until the segment is freed or others write them. Idempotent.
     * An interrupt does not cut it short (the interrupt status is kept).
     *
     * @throws org.kerrighed.kddm.KddmException when the segment's metadata could not be had in time: nothing
     *         changed, the segment is still attached (and works), and {@code close} may be called again
     */
    @Override
    public void close() {
        synchronized (this) {
            if (detached) {
                return;
            }
            detached = true;
        }
        boolean done = false;
        try {
            shm.detached(this);
            done = true;
        } finally {
            if (!done) {
                detached = false;            // still attached cluster-wide: a later close retries
            }
        }
    }

    @Override
    public String toString() {
        return name + ", " + size + " bytes, " + (readOnly ? "read-only" : "read-write")
                + (detached ? " (detached)" : "");
    }

    // ------------------------------------------------------------------ internals

    /** Checks the attachment and that [offset, offset + len) lies in the segment. */
    void check(long offset, long len) {
        if (detached) {
            throw new IllegalStateException(name + " is detached on this node (attach it again to use it)");
        }
        if (offset < 0 || len < 0 || offset > size - len) {
            throw new IndexOutOfBoundsException(name + ": offset " + offset + " + " + len + " byte(s) is outside its "
                    + size + " bytes");
        }
    }

    void checkWrite(long offset, long len) {
        check(offset, len);
        if (readOnly) {
            throw new ReadOnlySegmentException(name + " is attached read-only on this node: writes are refused"
                    + " (attach it without READ_ONLY to write)");
        }
    }

    private void checkAtomic(long offset, int len, String op) {
        checkWrite(offset, len);
        if ((offset & (len - 1)) != 0) {
            throw new IllegalArgumentException(name + ": " + op + " at offset " + offset + " is misaligned: atomic "
                    + len + "-byte operations need an offset that is a multiple of " + len);
        }
    }

    /** A read copy of page {@code page}. */
    private Handle<Frame> read(long page) {
        try {
            return pages.get(page);
        } catch (ObjectLostException e) {
            throw lost(page, e);
        } catch (NoSuchSetException e) {
            throw gone(e);
        }
    }

    /** Read copies of page {@code page} and of up to {@code max - 1} pages after it ({@link KddmSet#getRun}). */
    private RunHandle<Frame> readRun(long page, int max) {
        try {
            return pages.getRun(page, max);
        } catch (ObjectLostException e) {
            throw lost(page, e);
        } catch (NoSuchSetException e) {
            throw gone(e);
        }
    }

    /** The page {@code page}, for writing. */
    private Handle<Frame> write(long page) {
        try {
            return pages.grab(page);
        } catch (ObjectLostException e) {
            throw lost(page, e);
        } catch (NoSuchSetException e) {
            throw gone(e);
        }
    }

    private PageLostException lost(long page, ObjectLostException e) {
        return new PageLostException(name, page, pageSize, replication, e);
    }

    private IllegalStateException gone(NoSuchSetException e) {
        return new IllegalStateException(name + (detached ? " is detached on this node"
                : " was freed (its pages are gone)"), e);
    }

    /** A little-endian value of {@code n} bytes that crosses a page boundary, one page at a time. */
    private long readStraddling(long offset, int n) {
        long v = 0;
        int done = 0;
        while (done < n) {
            long off = offset + done;
            int p = (int) off & mask;
            int k = Math.min(n - done, pageSize - p);
            Handle<Frame> h = read(off >>> shift);
            try {
                Frame f = h.value();
                for (int i = 0; i < k; i++) {
                    v |= (f.bytes[f.offset + p + i] & 0xFFL) << (8 * (done + i));
                }
            } finally {
                h.close();
            }
            done += k;
        }
        return v;
    }

    private void writeStraddling(long offset, int n, long v) {
        int done = 0;
        while (done < n) {
            long off = offset + done;
            int p = (int) off & mask;
            int k = Math.min(n - done, pageSize - p);
            Handle<Frame> h = write(off >>> shift);
            try {
                Frame f = h.value();
                synchronized (f) {
                    for (int i = 0; i < k; i++) {
                        f.bytes[f.offset + p + i] = (byte) (v >>> (8 * (done + i)));
                    }
                }
            } finally {
                h.close();
            }
            done += k;
        }
    }
}
