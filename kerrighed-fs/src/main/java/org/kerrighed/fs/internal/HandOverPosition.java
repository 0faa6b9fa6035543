package org.kerrighed.fs.internal;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A channel's position: a field of this node until the channel is handed to another node, then a
 * {@link SharedFilePosition} that starts where the field was and that both sides move from then on. Channels that
 * stay on their node pay nothing for the possibility. Thread-safe.
 */
public final class HandOverPosition implements FilePosition {
    private final ReentrantLock lock = new ReentrantLock();
    private long local;
    private volatile SharedFilePosition shared;

    public HandOverPosition(long initial) {
        this.local = initial;
    }

    /** The shared position, made now (from the current one) if this is the first hand-over. */
    public SharedFilePosition share(FsEngine engine) throws IOException {
        lock.lock();
        try {
            if (shared == null) {
                shared = engine.sharePosition(local);
            }
            return shared;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long get() throws IOException {
        SharedFilePosition s = shared;
        return s != null ? s.get() : FilePosition.super.get();     // a shared one is read without a write pin
    }

    @Override
    public <T> T locked(PositionOp<T> op) throws IOException {
        SharedFilePosition s = shared;
        if (s != null) {
            return s.locked(op);
        }
        lock.lock();
        try {
            s = shared;
            if (s != null) {
                return s.locked(op);                       // shared while this thread waited for the lock
            }
            long[] moved = {local};
            T result = op.apply(local, p -> moved[0] = p);
            local = moved[0];
            return result;
        } finally {
            lock.unlock();
        }
    }
}
