package org.kerrighed.rpc.internal;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** A read batch flushes what was written during it, then runs the tasks left for after the flush. */
class ReadBatchTest {
    @Test
    void tasksLeftForAfterTheFlushSeeTheFramesFlushedAndRunInOrder() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ReadBatch batch = new ReadBatch();
        batch.begin();
        ch.write("reply");
        batch.deferFlush(ch);
        List<Object> seen = new ArrayList<>();
        batch.afterFlush(() -> seen.add(ch.readOutbound()));     // the frame, once flushed
        batch.afterFlush(() -> {
            throw new IllegalStateException("a failing task is logged; the next one still runs");
        });
        batch.afterFlush(() -> seen.add("second"));
        assertNull(ch.readOutbound(), "nothing flushed before the batch ends");
        batch.complete();
        assertEquals(List.of("reply", "second"), seen);
        batch.complete();                                        // each task runs once
        assertEquals(2, seen.size());
        ch.finishAndReleaseAll();
    }
}
