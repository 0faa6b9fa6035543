package org.kerrighed.kddm.linkers;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.IoLinker;

import java.nio.ByteBuffer;

/**
 * Fixed-size byte pages (for shared memory): first touch makes a zeroed page; copies travel as raw bytes.
 * {@link #view} gives a read-only buffer on a read handle, so pages taken with {@code get} cannot be changed.
 */
public final class PageLinker implements IoLinker<byte[]> {
    private final int pageSize;

    public PageLinker(int pageSize) {
        if (pageSize < 1 || pageSize > (16 << 20)) {
            throw new IllegalArgumentException("page size must be 1 byte to 16 MiB, got " + pageSize);
        }
        this.pageSize = pageSize;
    }

    public int pageSize() {
        return pageSize;
    }

    /** The page behind {@code h}: read-only for a read handle, writable (in place) for a write handle. */
    public static ByteBuffer view(Handle<byte[]> h) {
        ByteBuffer b = ByteBuffer.wrap(h.value());
        return h.writable() ? b : b.asReadOnlyBuffer();
    }

    @Override
    public Class<?> type() {
        return byte[].class;
    }

    @Override
    public byte[] firstTouch(long id) {
        return new byte[pageSize];
    }

    @Override
    public Object export(long id, byte[] page) {
        return page;
    }

    @Override
    public byte[] importObject(long id, Object wire) {
        byte[] b = (byte[]) wire;
        if (b.length != pageSize) {
            throw new IllegalArgumentException("page " + id + " has " + b.length + " bytes, expected " + pageSize);
        }
        return b;
    }
}
