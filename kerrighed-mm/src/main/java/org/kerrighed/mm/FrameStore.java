package org.kerrighed.mm;

import java.util.BitSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The memory of one segment's pages on this node: {@link Frame}s cut from chunks of up to {@link #CHUNK_BYTES}
 * (one page when pages are bigger), given out in order, so that pages that arrive one after the other (a segment
 * written or read front to back) lie one after the other and a bulk copy over them is one memory copy. A freed
 * frame's slot is reused before a new chunk is made, and a chunk left with no frame is dropped, so the store holds
 * little more than the pages cached here: a new chunk has as many slots as the store already has (at least
 * {@link #MIN_SLOTS}), at most the chunk size. A frame's bytes are its page's only while the frame is in use:
 * once freed, its slot may hold another page (KDDM frees a frame only when no handle pins its page). Chunks are
 * heap arrays, so a stale frame is never unsafe memory. Thread-safe.
 */
final class FrameStore {
    static final int CHUNK_BYTES = 1 << 20;
    static final int MIN_SLOTS = 16;

    /** Slots of {@code pageSize} bytes, the frames of those in use. Guarded by the store. */
    static final class Chunk {
        final byte[] bytes;
        final int slots;
        private final BitSet used;
        private int live;
        private int next;                  // where the next frame is looked for: after the last one given

        private Chunk(int slots, int pageSize) {
            this.bytes = new byte[slots * pageSize];
            this.slots = slots;
            this.used = new BitSet(slots);
        }
    }

    private final int pageSize;
    private final int maxSlots;
    private final Set<Chunk> partial = new LinkedHashSet<>();     // chunks with free slots, other than current
    private Chunk current;
    private long slots;                                          // in every chunk held

    FrameStore(int pageSize) {
        if (pageSize < 1) {
            throw new IllegalArgumentException("page size must be positive, got " + pageSize);
        }
        this.pageSize = pageSize;
        this.maxSlots = Math.max(1, CHUNK_BYTES / pageSize);
    }

    int pageSize() {
        return pageSize;
    }

    /** A frame of {@code pageSize} bytes, with what its slot last held (not zeroed). */
    synchronized Frame allocate() {
        if (current == null || current.live == current.slots) {
            current = partial.isEmpty() ? newChunk() : take(partial.iterator().next());
        }
        Chunk c = current;
        int s = c.used.nextClearBit(c.next);
        if (s >= c.slots) {
            s = c.used.nextClearBit(0);
        }
        c.used.set(s);
        c.live++;
        c.next = s + 1;
        return new Frame(c, s, s * pageSize);
    }

    /** Gives {@code f}'s slot back (after its last use: the next frame there may get other bytes). */
    synchronized void free(Frame f) {
        Chunk c = f.chunk;
        if (!c.used.get(f.slot)) {
            throw new IllegalStateException("frame " + f.slot + " of a page store chunk was freed twice");
        }
        c.used.clear(f.slot);
        c.live--;
        if (c == current) {
            return;
        }
        if (c.live == 0) {
            partial.remove(c);              // no frame left in it: its memory goes
            slots -= c.slots;
        } else {
            partial.add(c);
        }
    }

    /** Bytes held in chunks (for tests). */
    synchronized long bytesHeld() {
        return slots * pageSize;
    }

    private Chunk take(Chunk c) {
        partial.remove(c);
        return c;
    }

    private Chunk newChunk() {
        int n = (int) Math.min(maxSlots, Math.max(Math.min(MIN_SLOTS, maxSlots), slots));
        slots += n;
        return new Chunk(n, pageSize);
    }
}
