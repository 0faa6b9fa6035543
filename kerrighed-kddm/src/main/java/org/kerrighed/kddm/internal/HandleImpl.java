package org.kerrighed.kddm.internal;

import org.kerrighed.kddm.Handle;

/** A pin on one entry; closing it releases the pin through the set. */
final class HandleImpl<T> implements Handle<T> {
    private final SetTable<T> set;
    final Entry entry;
    private final boolean write;
    private final boolean ownerDied;
    private boolean closed;

    HandleImpl(SetTable<T> set, Entry entry, boolean write, boolean ownerDied) {
        this.set = set;
        this.entry = entry;
        this.write = write;
        this.ownerDied = ownerDied;
    }

    @Override
    public long id() {
        return entry.id;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T value() {
        checkOpen();
        synchronized (entry) {
            return (T) entry.obj;
        }
    }

    @Override
    public boolean writable() {
        return write;
    }

    @Override
    public void set(T value) {
        checkOpen();
        if (!write) {
            throw new IllegalStateException("object " + entry.id + " of set " + set.id()
                    + " was taken with get (read-only); use grab to change it");
        }
        set.checkType(value);
        set.replace(this, value);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("handle on object " + entry.id + " of set " + set.id() + " is closed");
        }
    }

    @Override
    public boolean ownerDied() {
        return ownerDied;
    }

    @Override
    public boolean contended() {
        checkOpen();
        synchronized (entry) {
            return !entry.deferred.isEmpty();
        }
    }

    @Override
    public void publish() {
        checkOpen();
        if (!write) {
            throw new IllegalStateException("object " + entry.id + " of set " + set.id()
                    + " was taken with get (read-only); only a write handle publishes");
        }
        set.publish(this);
    }

    @Override
    public void close() {
        markClosed();
        set.release(this, true);
    }

    @Override
    public void closeUnchanged() {
        markClosed();
        set.release(this, false);
    }

    private void markClosed() {
        if (closed) {
            throw new IllegalStateException("handle on object " + entry.id + " of set " + set.id()
                    + " closed twice");
        }
        closed = true;
    }

    @Override
    public String toString() {
        return (write ? "write" : "read") + " handle on object " + entry.id + " of set " + set.id()
                + (closed ? " (closed)" : "");
    }
}
