package org.kerrighed.ipc.internal;

import org.junit.jupiter.api.Test;
import org.kerrighed.ipc.internal.PipeWire.Counts;
import org.kerrighed.ipc.internal.PipeWire.EndRef;
import org.kerrighed.ipc.internal.PipeWire.PipeReply;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A pipe buffer applies each numbered write or read of an end at most once; a repeat gets the first reply. */
class PipeBufferRepeatTest {
    static final EndRef W = new EndRef(1, 7, false);
    static final EndRef R = new EndRef(2, 7, true);

    static Counts counts(long version, List<EndRef> ends) {
        return new Counts(1, version, 1, 1, true, true, false, ends);
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(PipeReply r) {
        assertEquals(PipeWire.OK, r.status());
        return new String(r.data(), StandardCharsets.UTF_8);
    }

    @Test
    void aRepeatGetsTheFirstReplyAndChangesNothing() {
        PipeBuffer buf = new PipeBuffer(1, 4096, counts(1, List.of(W, R)), null);
        assertEquals(PipeWire.OK, buf.write(W, 1, b("ab"), null).status());
        assertEquals(PipeWire.OK, buf.write(W, 1, b("ab"), null).status());   // a retry
        assertEquals(2, buf.available());
        assertEquals("ab", text(buf.read(R, 1, 10, null)));
        assertEquals(PipeWire.OK, buf.write(W, 2, b("c"), null).status());
        assertEquals("ab", text(buf.read(R, 1, 10, null)));   // a retry: the same bytes, none taken
        assertEquals(1, buf.available());
        assertEquals(PipeWire.MOVED, buf.write(W, 1, b("ab"), null).status());   // a late copy: not applied
        assertEquals(1, buf.available());
        assertEquals("c", text(buf.read(R, 2, 10, null)));
        assertEquals(PipeWire.WAIT, buf.read(R, 3, 10, null).status());   // not applied: tried again later
        buf.write(null, 0, b("d"), null);                    // unnumbered: always applied
        buf.write(null, 0, b("d"), null);
        assertEquals("dd", text(buf.read(R, 3, 10, null)));
    }

    @Test
    void theMemoryMovesWithTheBytesAndGoesWithTheEnd() {
        PipeBuffer buf = new PipeBuffer(1, 4096, counts(1, List.of(W, R)), null);
        buf.write(W, 5, b("xy"), null);
        assertEquals("x", text(buf.read(R, 9, 1, null)));
        byte[] left = buf.moveOut();
        PipeWire.Adopt a = buf.adoption(left, counts(2, List.of(W, R)));
        PipeBuffer next = new PipeBuffer(1, 4096, a.counts(), null);
        next.fill(a.data());
        next.adopted(a);
        assertEquals(PipeWire.OK, next.write(W, 5, b("xy"), null).status());   // retried at the new buffer
        assertEquals("x", text(next.read(R, 9, 1, null)));
        assertEquals("y", new String(next.peek(), StandardCharsets.UTF_8));

        next.counts(counts(3, List.of(R)));                  // the writing end closed: forgotten
        next.write(W, 5, b("z"), null);
        assertEquals("yz", new String(next.peek(), StandardCharsets.UTF_8));
        next.counts(counts(4, List.of()));
        assertEquals("yz", text(next.read(R, 9, 10, null)));
    }
}
