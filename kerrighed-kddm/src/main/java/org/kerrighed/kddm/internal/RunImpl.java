package org.kerrighed.kddm.internal;

import org.kerrighed.kddm.RunHandle;

import java.util.Objects;

/** Read pins on the first {@code count} entries of {@code pinned}; closing releases them through the set. */
final class RunImpl<T> implements RunHandle<T> {
    private final SetTable<T> set;
    private final long first;
    private final Entry[] pinned;
    private final Object[] values;
    private final int count;
    private boolean closed;

    RunImpl(SetTable<T> set, long first, Entry[] pinned, Object[] values, int count) {
        this.set = set;
        this.first = first;
        this.pinned = pinned;
        this.values = values;
        this.count = count;
    }

    @Override
    public long first() {
        return first;
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T value(int i) {
        checkOpen();
        return (T) values[Objects.checkIndex(i, count)];
    }

    @Override
    public void close() {
        checkOpen();
        closed = true;
        set.releaseRun(pinned, count);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("run of objects " + first + ".." + (first + count - 1) + " of set "
                    + set.id() + " is closed");
        }
    }

    @Override
    public String toString() {
        return "read run of objects " + first + ".." + (first + count - 1) + " of set " + set.id()
                + (closed ? " (closed)" : "");
    }
}
