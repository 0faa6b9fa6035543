package org.kerrighed.kddm.internal;

import java.util.concurrent.CompletableFuture;

/** A local caller waiting for an object (or for a flush). Guarded by its entry's monitor. */
final class Acquire {
    static final byte READ = Wire.READ;
    static final byte WRITE = Wire.WRITE;
    static final byte FLUSH = 2;

    final long id;
    final byte op;
    final byte flags;               // Wire.F_NO_FT, Wire.F_TRY
    final CompletableFuture<HandleImpl<?>> future = new CompletableFuture<>();
    boolean woken;                  // already waited once: no longer yields to deferred remote requests
    boolean requested;              // this caller sent the outstanding request

    Acquire(long id, byte op, byte flags) {
        this.id = id;
        this.op = op;
        this.flags = flags;
    }

    boolean has(byte flag) {
        return (flags & flag) != 0;
    }
}
