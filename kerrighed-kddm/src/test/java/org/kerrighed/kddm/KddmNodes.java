package org.kerrighed.kddm;

import org.kerrighed.kddm.testing.KddmCluster;

/** {@link KddmCluster} with KDDM's test value type, {@link Counter}, and helpers to read and write it. */
final class KddmNodes extends KddmCluster {
    static final int COUNTER_TYPE = 30_000;

    /** A test value type. */
    record Counter(long value) {
    }

    /** The value of counter {@code id}, read with get. */
    static long read(KddmSet<Counter> s, long id) {
        try (Handle<Counter> h = s.get(id)) {
            return h.value().value();
        }
    }

    /** Sets counter {@code id} to {@code v} with grab. */
    static void write(KddmSet<Counter> s, long id, long v) {
        try (Handle<Counter> h = s.grab(id)) {
            h.set(new Counter(v));
        }
    }

    KddmNodes(int n) {
        super(n, t -> t.range("kddm-test", 30_000, 30_009).register(COUNTER_TYPE, Counter.class));
    }
}
