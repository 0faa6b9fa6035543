package org.kerrighed.rpc.internal.codec;

import java.nio.ByteBuffer;

/**
 * A Kryo output whose bytes stay addressable while the value is written: the codec's, which writes straight into
 * the outgoing frame. A serializer that learns a length or a checksum only after the bytes it covers (a process
 * ghost) writes a placeholder, then reads the bytes back and fills the placeholder in, with no copy of the value.
 * Offsets are {@code Output.total()} values: bytes written since the value's encoding began.
 */
public interface RewritableOutput {
    /** A read-only view of the bytes written at {@code [from, to)}; valid until the next write to this output. */
    ByteBuffer written(long from, long to);

    /** Overwrites the bytes written at {@code at} with {@code bytes}' remaining bytes. */
    void rewrite(long at, ByteBuffer bytes);
}
