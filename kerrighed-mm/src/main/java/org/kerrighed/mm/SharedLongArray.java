package org.kerrighed.mm;

/**
 * A view of a segment's bytes as an array of longs (8 bytes each, little-endian), from an 8-aligned offset. Each
 * element is one {@link Segment} access: {@link #get} costs a page lookup (a local hit when cached); loops over
 * many elements are faster with the bulk {@link #copyTo}/{@link #copyFrom}, which go page by page. Atomic updates
 * are atomic cluster-wide (see {@link Segment}). Thread-safe; stops working when its segment is detached.
 */
public final class SharedLongArray {
    private final Segment segment;
    private final long offset;
    private final long length;

    SharedLongArray(Segment segment, long offset, long length) {
        if ((offset & 7) != 0) {
            throw new IllegalArgumentException("a long array view needs an 8-aligned offset, got " + offset);
        }
        if (length < 0 || offset < 0 || offset > segment.size() - 8 * length || length > segment.size() / 8) {
            throw new IndexOutOfBoundsException("a long array of " + length + " element(s) at offset " + offset
                    + " does not fit the segment's " + segment.size() + " bytes");
        }
        this.segment = segment;
        this.offset = offset;
        this.length = length;
    }

    public long length() {
        return length;
    }

    public Segment segment() {
        return segment;
    }

    /** The byte offset of element {@code index} in the segment. */
    public long offsetOf(long index) {
        if (index < 0 || index >= length) {
            throw new IndexOutOfBoundsException("index " + index + " is outside the array's " + length + " elements");
        }
        return offset + 8 * index;
    }

    public long get(long index) {
        return segment.getLong(offsetOf(index));
    }

    public void set(long index, long value) {
        segment.putLong(offsetOf(index), value);
    }

    /** Atomically sets element {@code index} to {@code value} if it is {@code expected}, cluster-wide. */
    public boolean compareAndSet(long index, long expected, long value) {
        return segment.compareAndSetLong(offsetOf(index), expected, value);
    }

    /** Atomically adds {@code delta} to element {@code index}, cluster-wide; the old value. */
    public long getAndAdd(long index, long delta) {
        return segment.getAndAddLong(offsetOf(index), delta);
    }

    /** Atomically adds {@code delta} to element {@code index}, cluster-wide; the new value. */
    public long addAndGet(long index, long delta) {
        return segment.getAndAddLong(offsetOf(index), delta) + delta;
    }

    /** Copies elements {@code [index, index + count)} into {@code dst[dstIndex..]}, page by page. */
    public void copyTo(long index, long[] dst, int dstIndex, int count) {
        checkRange(index, count);
        segment.copyTo(offset + 8 * index, dst, dstIndex, count);
    }

    /** Copies {@code src[srcIndex..srcIndex + count)} into elements {@code [index, index + count)}, page by page. */
    public void copyFrom(long index, long[] src, int srcIndex, int count) {
        checkRange(index, count);
        segment.copyFrom(offset + 8 * index, src, srcIndex, count);
    }

    /** Every element, in a new array (at most {@code Integer.MAX_VALUE - 8} elements). */
    public long[] toArray() {
        long[] a = new long[Math.toIntExact(length)];
        copyTo(0, a, 0, a.length);
        return a;
    }

    private void checkRange(long index, int count) {
        if (index < 0 || count < 0 || index > length - count) {
            throw new IndexOutOfBoundsException("elements " + index + " + " + count + " are outside the array's "
                    + length + " elements");
        }
    }

    @Override
    public String toString() {
        return "long[" + length + "] at offset " + offset + " of " + segment;
    }
}
