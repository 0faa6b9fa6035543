package org.kerrighed.mm;

/**
 * A view of a segment's bytes as an array of doubles (8 bytes each, little-endian), from an 8-aligned offset. Each
 * element is one {@link Segment} access: {@link #get} costs a page lookup (a local hit when cached); loops over
 * many elements are faster with the bulk {@link #copyTo}/{@link #copyFrom}, which go page by page. For atomic
 * updates, keep the values' bits in a {@link SharedLongArray} ({@code Double.doubleToRawLongBits}). Thread-safe;
 * stops working when its segment is detached.
 */
public final class SharedDoubleArray {
    private final Segment segment;
    private final long offset;
    private final long length;

    SharedDoubleArray(Segment segment, long offset, long length) {
        if ((offset & 7) != 0) {
            throw new IllegalArgumentException("a double array view needs an 8-aligned offset, got " + offset);
        }
        if (length < 0 || offset < 0 || offset > segment.size() - 8 * length || length > segment.size() / 8) {
            throw new IndexOutOfBoundsException("a double array of " + length + " element(s) at offset " + offset
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

    public double get(long index) {
        return segment.getDouble(offsetOf(index));
    }

    public void set(long index, double value) {
        segment.putDouble(offsetOf(index), value);
    }

    /** Copies elements {@code [index, index + count)} into {@code dst[dstIndex..]}, page by page. */
    public void copyTo(long index, double[] dst, int dstIndex, int count) {
        checkRange(index, count);
        segment.copyTo(offset + 8 * index, dst, dstIndex, count);
    }

    /** Copies {@code src[srcIndex..srcIndex + count)} into elements {@code [index, index + count)}, page by page. */
    public void copyFrom(long index, double[] src, int srcIndex, int count) {
        checkRange(index, count);
        segment.copyFrom(offset + 8 * index, src, srcIndex, count);
    }

    /** Every element, in a new array (at most {@code Integer.MAX_VALUE - 8} elements). */
    public double[] toArray() {
        double[] a = new double[Math.toIntExact(length)];
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
        return "double[" + length + "] at offset " + offset + " of " + segment;
    }
}
