package org.kerrighed.mm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Where a {@link FrameStore} puts pages, how it reuses their slots and when it lets chunks go. */
class FrameStoreTest {
    private static final int PAGE = 4096;

    @Test
    void framesGivenOneAfterTheOtherLieSideBySide() {
        FrameStore store = new FrameStore(PAGE);
        List<Frame> frames = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            frames.add(store.allocate());
        }
        int breaks = 0;
        for (int i = 1; i < frames.size(); i++) {
            Frame f = frames.get(i);
            if (f.follows(frames.get(i - 1))) {
                assertSame(frames.get(i - 1).bytes, f.bytes);
                assertEquals(frames.get(i - 1).offset + PAGE, f.offset);
            } else {
                breaks++;
                assertEquals(0, f.offset, "a new chunk starts at its first slot");
            }
        }
        // chunks of 16, 16, 32, 64, 128, 256, 256, 256 slots: 7 breaks in 1000 frames
        assertEquals(7, breaks);
        assertEquals(1024L * PAGE, store.bytesHeld());
        assertEquals(FrameStore.CHUNK_BYTES, frames.getLast().bytes.length, "chunks grow to 1 MiB and no more");
    }

    @Test
    void freedSlotsAreReusedBeforeANewChunkIsMade() {
        FrameStore store = new FrameStore(PAGE);
        List<Frame> frames = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            frames.add(store.allocate());                 // two full chunks of 16
        }
        store.free(frames.get(3));
        store.free(frames.get(4));
        Frame a = store.allocate();
        Frame b = store.allocate();
        assertSame(frames.get(3).bytes, a.bytes);
        assertEquals(frames.get(3).offset, a.offset);
        assertTrue(b.follows(a), "slots freed side by side are given side by side again");
        assertEquals(32L * PAGE, store.bytesHeld());
    }

    @Test
    void aChunkLeftWithoutFramesIsDropped() {
        FrameStore store = new FrameStore(PAGE);
        List<Frame> frames = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            frames.add(store.allocate());                 // chunks of 16, 16, 32 slots; the last is current
        }
        for (int i = 0; i < 16; i++) {
            store.free(frames.get(i));
        }
        assertEquals(48L * PAGE, store.bytesHeld());
        for (int i = 32; i < 64; i++) {
            store.free(frames.get(i));                    // the current chunk is kept, empty, for the next frames
        }
        assertEquals(48L * PAGE, store.bytesHeld());
        assertThrows(IllegalStateException.class, () -> store.free(frames.get(40)));
    }

    @Test
    void pagesBiggerThanAChunkGetAChunkEach() {
        FrameStore store = new FrameStore(4 << 20);
        Frame a = store.allocate();
        Frame b = store.allocate();
        assertEquals(4 << 20, a.bytes.length);
        assertNotSame(a.bytes, b.bytes);
        assertFalse(b.follows(a));
    }
}
