package org.kerrighed.rpc.internal.codec;

import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.KryoBufferUnderflowException;
import io.netty.buffer.ByteBuf;
import org.kerrighed.rpc.SerializationException;

/**
 * A Kryo input that refuses any length read from the wire that the bytes left in the frame cannot hold,
 * before allocating for it. Every element of an array or string takes at least one byte, so a frame of
 * N bytes never makes the decoder allocate much more than N elements. The registered immutable collections
 * decode only from one; code outside the codec that reads Kryo images of registered types (process ghosts,
 * application images) reads them with {@link #of}.
 *
 * <p>A frame in native memory is read through a small window ({@link #setSource}) instead of being copied
 * whole into an array first: the window is refilled from the frame as values are read, and a byte array is
 * copied from the frame straight into the array that is returned.
 */
public final class BoundedInput extends Input {
    private static final int WINDOW = 8192;

    private ByteBuf source;                                // the frame behind the window, or null
    private byte[] window;

    BoundedInput() {
        super();
    }

    private BoundedInput(byte[] buf, int offset, int count) {
        super(buf, offset, count);
    }

    /** An input over {@code buf[offset..offset + count)}. */
    public static Input of(byte[] buf, int offset, int count) {
        return new BoundedInput(buf, offset, count);
    }

    /**
     * An input over {@code bytes}' remaining bytes (its position is not moved): read in place when it has an
     * array, else through the window, with byte arrays copied straight from it.
     */
    public static Input of(java.nio.ByteBuffer bytes) {
        if (bytes.hasArray()) {
            return new BoundedInput(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
        }
        BoundedInput in = new BoundedInput();
        in.setSource(io.netty.buffer.Unpooled.wrappedBuffer(bytes.duplicate()));
        return in;
    }

    /**
     * The next {@code length} bytes as a view, not a copy (to read, not to write): of the frame being decoded, so valid
     * only until the frame is released, which is right after its dispatch on the I/O thread. Only a value whose
     * handler runs there ({@code HandlerKind.NON_BLOCKING}) may hold a view, and only until that handler returns; a
     * handler that keeps the bytes longer, or hands them to another thread, copies them first.
     */
    public java.nio.ByteBuffer readView(int length) {
        check(length, 1, "byte view");
        if (source == null) {
            require(length);
            java.nio.ByteBuffer v = java.nio.ByteBuffer.wrap(buffer, position, length).slice();
            position += length;
            return v;
        }
        int buffered = limit - position;
        int at = source.readerIndex() - buffered;          // the frame index of the read position
        java.nio.ByteBuffer v = source.nioBuffer(at, length);
        if (length <= buffered) {
            position += length;
        } else {
            position = limit;
            source.readerIndex(at + length);
            total += length - buffered;
        }
        return v;
    }

    /**
     * Reads from {@code frame}'s readable bytes through the window; {@link #detach} gives its reader index back
     * to the end of what was read.
     */
    void setSource(ByteBuf frame) {
        if (window == null) {
            window = new byte[WINDOW];
        }
        setBuffer(window, 0, 0);
        source = frame;
    }

    /** Ends a {@link #setSource}: moves the frame's reader index back over the bytes the window holds unread. */
    void detach() {
        if (source != null) {
            source.readerIndex(source.readerIndex() - (limit - position));
            source = null;
        }
    }

    @Override
    protected int fill(byte[] buffer, int offset, int count) {
        if (source == null) {
            return super.fill(buffer, offset, count);
        }
        if (!source.isReadable()) {
            return -1;                                     // the frame's end
        }
        int n = Math.min(count, source.readableBytes());
        source.readBytes(buffer, offset, n);
        return n;
    }

    @Override
    public void readBytes(byte[] bytes, int offset, int count) {
        if (source == null || count <= limit - position) {
            super.readBytes(bytes, offset, count);
            return;
        }
        int buffered = limit - position;
        int rest = count - buffered;
        if (rest > source.readableBytes()) {
            throw new KryoBufferUnderflowException("Buffer underflow.");
        }
        System.arraycopy(buffer, position, bytes, offset, buffered);
        position = limit;
        source.readBytes(bytes, offset + buffered, rest);  // straight from the frame, not through the window
        total += rest;
    }

    int remaining() {
        return limit - position + (source == null ? 0 : source.readableBytes());
    }

    /**
     * The positive varint at the read position, without consuming it (Kryo's {@code readVarInt(true)} format). In
     * window mode the window is first refilled so that it holds the varint's bytes: a saved {@link #position()}
     * is no mark here, since a refill moves the window's bytes.
     */
    int peekVarInt() {
        if (source != null) {
            optional(5);
        }
        int result = 0;
        for (int p = position, shift = 0; shift < 35; shift += 7) {
            if (p >= limit) {
                throw new SerializationException("truncated frame: length expected");
            }
            int b = buffer[p++];
            result |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        return result;
    }

    /** Throws unless {@code count} elements of at least {@code minBytes} bytes each can still be read. */
    void check(long count, int minBytes, String what) {
        if (count < 0 || count * minBytes > remaining()) {
            throw new SerializationException("malformed frame: " + what + " of " + count + " elements with "
                    + remaining() + " bytes left");
        }
    }

    @Override
    public byte[] readBytes(int length) {
        check(length, 1, "byte array");
        return super.readBytes(length);
    }

    @Override
    public int[] readInts(int length) {
        check(length, 4, "int array");
        return super.readInts(length);
    }

    @Override
    public int[] readInts(int length, boolean optimizePositive) {
        check(length, 1, "int array");
        return super.readInts(length, optimizePositive);
    }

    @Override
    public long[] readLongs(int length) {
        check(length, 8, "long array");
        return super.readLongs(length);
    }

    @Override
    public long[] readLongs(int length, boolean optimizePositive) {
        check(length, 1, "long array");
        return super.readLongs(length, optimizePositive);
    }

    @Override
    public float[] readFloats(int length) {
        check(length, 4, "float array");
        return super.readFloats(length);
    }

    @Override
    public double[] readDoubles(int length) {
        check(length, 8, "double array");
        return super.readDoubles(length);
    }

    @Override
    public short[] readShorts(int length) {
        check(length, 2, "short array");
        return super.readShorts(length);
    }

    @Override
    public char[] readChars(int length) {
        check(length, 2, "char array");
        return super.readChars(length);
    }

    @Override
    public boolean[] readBooleans(int length) {
        check(length, 1, "boolean array");
        return super.readBooleans(length);
    }

    @Override
    public String readString() {
        checkStringLength();
        return super.readString();
    }

    @Override
    public StringBuilder readStringBuilder() {
        checkStringLength();
        return super.readStringBuilder();
    }

    /**
     * Peeks at the header of a UTF-8 string (Kryo's "varint with flag" of charCount + 1) and checks that
     * its characters can fit in the bytes left. ASCII strings carry no length (their last byte is marked),
     * so they cannot claim more than they hold.
     */
    private void checkStringLength() {
        if (remaining() < 1) {
            throw new SerializationException("truncated frame: string expected");
        }
        if (source != null) {
            optional(5);                                   // the header in the window (as much of it as there is)
        }
        int p = position;
        int b = buffer[p++];
        if ((b & 0x80) == 0) {
            return;                                      // ASCII
        }
        long result = b & 0x3F;
        if ((b & 0x40) != 0) {
            int shift = 6;
            do {
                if (p >= limit) {
                    throw new SerializationException("truncated frame: string length");
                }
                b = buffer[p++];
                result |= (long) (b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0 && shift < 35);
        }
        long charCount = result - 1;                      // 0: null, 1: empty
        long left = remaining() - (p - position);
        if (charCount > 0 && charCount > left) {
            throw new SerializationException("malformed frame: string of " + charCount + " characters with "
                    + left + " bytes left");
        }
    }
}
