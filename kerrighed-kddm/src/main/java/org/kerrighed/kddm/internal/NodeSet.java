package org.kerrighed.kddm.internal;

import java.util.Arrays;
import java.util.function.IntConsumer;

/** A mutable set of node ids 0-255 (a copyset or the nodes an owner waits for). Not thread-safe. */
final class NodeSet {
    private final long[] bits = new long[4];

    static NodeSet of(int[] nodes) {
        NodeSet s = new NodeSet();
        if (nodes != null) {
            for (int n : nodes) {
                s.add(n);
            }
        }
        return s;
    }

    void add(int n) {
        bits[n >>> 6] |= 1L << n;
    }

    boolean remove(int n) {
        boolean had = contains(n);
        bits[n >>> 6] &= ~(1L << n);
        return had;
    }

    boolean contains(int n) {
        return n >= 0 && n < 256 && (bits[n >>> 6] & (1L << n)) != 0;
    }

    boolean isEmpty() {
        return (bits[0] | bits[1] | bits[2] | bits[3]) == 0;
    }

    void clear() {
        Arrays.fill(bits, 0);
    }

    int size() {
        return Long.bitCount(bits[0]) + Long.bitCount(bits[1]) + Long.bitCount(bits[2]) + Long.bitCount(bits[3]);
    }

    void forEach(IntConsumer c) {
        for (int w = 0; w < 4; w++) {
            long b = bits[w];
            while (b != 0) {
                int i = Long.numberOfTrailingZeros(b);
                c.accept(w * 64 + i);
                b &= b - 1;
            }
        }
    }

    int first() {
        for (int w = 0; w < 4; w++) {
            if (bits[w] != 0) {
                return w * 64 + Long.numberOfTrailingZeros(bits[w]);
            }
        }
        return -1;
    }

    int[] toArray() {
        int[] a = new int[size()];
        int[] i = {0};
        forEach(n -> a[i[0]++] = n);
        return a;
    }

    /** Keeps only the nodes {@code live} contains (sorted). */
    void retain(int[] live) {
        forEach(n -> {
            if (Arrays.binarySearch(live, n) < 0) {
                remove(n);
            }
        });
    }

    @Override
    public String toString() {
        return Arrays.toString(toArray());
    }
}
