package org.kerrighed.fs.internal;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;

import java.io.IOException;
import java.util.Optional;

/**
 * A position shared by channels on several nodes: one object of a replicated KDDM set, write-pinned for the
 * length of each read or write at the position, so the channels of all nodes move it as one, as Kerrighed's DVFS
 * shared {@code struct file} positions did. Thread-safe.
 */
public final class SharedFilePosition implements FilePosition {
    private final KddmSet<Long> set;
    private final long id;

    SharedFilePosition(KddmSet<Long> set, long id) {
        this.set = set;
        this.id = id;
    }

    /** The position's id, which a {@code FileHandle} carries to other nodes. */
    public long id() {
        return id;
    }

    @Override
    public long get() throws IOException {
        try {
            Optional<Handle<Long>> h = set.getIfExists(id);
            if (h.isEmpty()) {
                throw gone();
            }
            try (Handle<Long> handle = h.get()) {
                Long v = handle.value();
                if (v == null) {
                    throw gone();
                }
                return v;
            }
        } catch (KddmException e) {
            throw Namespace.io("shared position " + id, e);
        }
    }

    @Override
    public <T> T locked(PositionOp<T> op) throws IOException {
        Handle<Long> h;
        try {
            h = set.grabIfExists(id).orElseThrow(this::gone);
        } catch (KddmException e) {
            throw Namespace.io("shared position " + id, e);
        }
        boolean changed = false;
        try {
            Long v = h.value();
            if (v == null) {
                throw gone();
            }
            long[] moved = {v};
            T result = op.apply(v, p -> moved[0] = p);
            if (moved[0] != v) {
                h.set(moved[0]);
                changed = true;
            }
            return result;
        } finally {
            h.release(changed);
        }
    }

    private IOException gone() {
        return new java.nio.file.FileSystemException(null, null, "shared position " + id + " no longer exists");
    }

    @Override
    public String toString() {
        return "shared position " + id;
    }
}
