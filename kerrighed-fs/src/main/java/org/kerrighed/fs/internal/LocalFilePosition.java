package org.kerrighed.fs.internal;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;

/** A position used by the channels of one node only: a field under a lock. */
public final class LocalFilePosition implements FilePosition {
    private final ReentrantLock lock = new ReentrantLock();
    private long position;

    public LocalFilePosition(long initial) {
        this.position = initial;
    }

    @Override
    public <T> T locked(PositionOp<T> op) throws IOException {
        lock.lock();
        try {
            long[] moved = {position};
            T result = op.apply(position, p -> moved[0] = p);
            position = moved[0];
            return result;
        } finally {
            lock.unlock();
        }
    }
}
