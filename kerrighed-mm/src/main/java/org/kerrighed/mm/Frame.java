package org.kerrighed.mm;

/**
 * Where one page of a segment lives on this node: the page's bytes are {@code bytes[offset .. offset + pageSize)},
 * a slot of a chunk of the segment's {@link FrameStore} that other pages share. It is the page's KDDM object:
 * {@link Segment} reads it under a read pin and writes it under the page's write pin and the frame's monitor.
 */
final class Frame {
    final FrameStore.Chunk chunk;
    final int slot;
    final byte[] bytes;
    final int offset;

    Frame(FrameStore.Chunk chunk, int slot, int offset) {
        this.chunk = chunk;
        this.slot = slot;
        this.bytes = chunk.bytes;
        this.offset = offset;
    }

    /** True when this frame starts where {@code previous} ends: a copy can run over both at once. */
    boolean follows(Frame previous) {
        return chunk == previous.chunk && slot == previous.slot + 1;
    }
}
