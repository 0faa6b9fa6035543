package org.kerrighed.rpc.internal;

import java.util.concurrent.atomic.LongAdder;

/** Counters of one service or one peer. Thread-safe, allocation-free on the hot path. */
final class Counters {
    final LongAdder callsOut = new LongAdder();
    final LongAdder callsIn = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder bytesOut = new LongAdder();
    final LongAdder bytesIn = new LongAdder();
    final LongAdder framesOut = new LongAdder();
    final LongAdder framesIn = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LatencyHistogram latency = new LatencyHistogram();
}
