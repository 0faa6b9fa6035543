package org.kerrighed.rpc.internal.codec;

import com.esotericsoftware.kryo.io.Output;
import io.netty.buffer.ByteBuf;

/**
 * A Kryo output that appends to a Netty buffer. Small values gather in a fixed window that is flushed into the
 * buffer; a byte array larger than what the window has left goes straight into the buffer, which is first grown to
 * hold it (and a little more) exactly when it is most of the message, geometrically otherwise. A message carrying
 * megabytes is thus copied once, from the caller's array into the frame, with no intermediate array grown by
 * doubling. Not thread-safe: one per codec worker.
 */
final class ByteBufOutput extends Output implements RewritableOutput {
    private static final int WINDOW = 8192;
    /** Room left after a large array for the fields that follow it, so that they do not grow the buffer again. */
    private static final int SLACK = 512;

    private ByteBuf target;
    private int start;                                     // the frame index of this value's first byte

    ByteBufOutput() {
        super(WINDOW, WINDOW);
    }

    /** Starts appending to {@code out}. */
    void start(ByteBuf out) {
        reset();
        target = out;
        start = out.writerIndex();
    }

    /** Flushes what the window holds into the buffer and lets it go. */
    void finish() {
        flush();
        target = null;
    }

    /** Forgets the buffer and what the window holds (after a failure: the caller restores the buffer). */
    void abandon() {
        reset();
        target = null;
    }

    @Override
    public java.nio.ByteBuffer written(long from, long to) {
        flush();
        checkWritten(from, to);
        return target.nioBuffer(start + (int) from, (int) (to - from)).asReadOnlyBuffer();
    }

    @Override
    public void rewrite(long at, java.nio.ByteBuffer bytes) {
        flush();
        checkWritten(at, at + bytes.remaining());
        target.setBytes(start + (int) at, bytes.duplicate());
    }

    private void checkWritten(long from, long to) {
        if (from < 0 || from > to || to > total) {
            throw new IndexOutOfBoundsException("bytes [" + from + ", " + to + ") of " + total + " written");
        }
    }

    /** Throws unless the buffer can take {@code count} more bytes (it cannot grow past the frame limit). */
    private void room(int count) {
        if (target.maxWritableBytes() < count) {
            throw new org.kerrighed.rpc.FrameTooLargeException("message of more than " + ((long) target.readableBytes()
                    + count) + " bytes exceeds the frame limit of " + (target.maxCapacity() - target.readerIndex())
                    + " bytes (limits.max-frame-bytes)");
        }
    }

    @Override
    public void flush() {
        if (position > 0) {
            room(position);
            target.writeBytes(buffer, 0, position);
            total += position;
            position = 0;
        }
    }

    @Override
    public void writeBytes(byte[] bytes, int offset, int count) {
        if (bytes == null) {
            throw new IllegalArgumentException("bytes cannot be null.");
        }
        if (count <= capacity - position) {
            System.arraycopy(bytes, offset, buffer, position, count);
            position += count;
            return;
        }
        flush();
        room(count);
        if (target.writableBytes() < count) {
            int needed = target.writerIndex() + count + SLACK;
            if (target.writerIndex() <= count && needed <= target.maxCapacity()) {
                target.capacity(needed);  // most of the frame: exactly (ensureWritable rounds 4 MiB + x up to 8 MiB)
            } else {
                target.ensureWritable(count);             // one of many: grown geometrically, not once per array
            }
        }
        target.writeBytes(bytes, offset, count);
        total += count;
    }
}
