package org.kerrighed.rpc.internal;

import org.kerrighed.rpc.RpcStats;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;

/**
 * A lock-free log-scale latency histogram: 8 buckets per power of two of nanoseconds (about 9 % relative
 * error), recording from any thread without allocation.
 */
final class LatencyHistogram {
    private static final int SUB = 8;                       // buckets per doubling
    private static final int BUCKETS = 64 * SUB;
    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final LongAccumulator max = new LongAccumulator(Math::max, 0);

    void record(long nanos) {
        if (nanos < 1) {
            nanos = 1;
        }
        counts.incrementAndGet(bucket(nanos));
        max.accumulate(nanos);
    }

    static int bucket(long nanos) {
        int exp = 63 - Long.numberOfLeadingZeros(nanos);   // floor(log2)
        if (exp < 3) {
            return (int) nanos;                              // 1..7 ns: exact-ish
        }
        int frac = (int) ((nanos >>> (exp - 3)) & (SUB - 1)); // next 3 bits
        return Math.min(BUCKETS - 1, exp * SUB + frac);
    }

    static long bucketUpperNanos(int bucket) {
        int exp = bucket / SUB;
        int frac = bucket % SUB;
        if (exp < 3) {
            return bucket;
        }
        return ((long) (SUB + frac + 1)) << (exp - 3);
    }

    RpcStats.Latency summary() {
        long[] c = new long[BUCKETS];
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            c[i] = counts.get(i);
            total += c[i];
        }
        return new RpcStats.Latency(total, percentile(c, total, 0.50), percentile(c, total, 0.90),
                percentile(c, total, 0.99), max.get() / 1000);
    }

    private static long percentile(long[] c, long total, double q) {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < c.length; i++) {
            seen += c[i];
            if (seen >= rank) {
                return bucketUpperNanos(i) / 1000;
            }
        }
        return bucketUpperNanos(c.length - 1) / 1000;
    }
}
