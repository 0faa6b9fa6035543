package org.kerrighed.mm;

import org.kerrighed.kddm.IoLinker;

import java.util.Arrays;

/**
 * The KDDM linker of a segment's pages (registered as {@value #NAME}, argument: the page size): a page's object is
 * a {@link Frame} of the segment's {@link FrameStore} on this node. First touch makes a zeroed frame; a page
 * travels as a {@code byte[]} of its bytes (copied out of its frame when sent, into a new frame when received);
 * a frame goes back to the store when KDDM drops the copy and no handle pins it any more.
 */
final class FrameLinker implements IoLinker<Frame> {
    static final String NAME = "shm-page";

    private final FrameStore store;

    FrameLinker(int pageSize) {
        this.store = new FrameStore(pageSize);
    }

    @Override
    public Class<?> type() {
        return Frame.class;
    }

    @Override
    public Frame firstTouch(long id) {
        Frame f = store.allocate();
        Arrays.fill(f.bytes, f.offset, f.offset + store.pageSize(), (byte) 0);
        return f;
    }

    @Override
    public Object export(long id, Frame f) {
        return Arrays.copyOfRange(f.bytes, f.offset, f.offset + store.pageSize());
    }

    @Override
    public Frame importObject(long id, Object wire) {
        byte[] b = (byte[]) wire;
        if (b.length != store.pageSize()) {
            throw new IllegalArgumentException("page " + id + " has " + b.length + " bytes, expected "
                    + store.pageSize());
        }
        Frame f = store.allocate();
        System.arraycopy(b, 0, f.bytes, f.offset, b.length);
        return f;
    }

    @Override
    public void invalidate(long id, Frame f) {
        store.free(f);
    }
}
