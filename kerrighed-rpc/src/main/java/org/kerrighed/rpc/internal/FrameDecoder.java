package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;

/**
 * Splits the inbound byte stream into frames at their 4-byte length prefix. Until the peer has
 * authenticated, a frame may hold at most {@link FrameKind#PRE_AUTH_MAX_BYTES}: a stranger cannot make a
 * node buffer more than that; afterwards, up to the configured frame limit. The limit is checked on the
 * prefix, before the frame's bytes are gathered; the buffer that gathers them is then made large enough for the
 * whole frame at once, unless frames sliced from it are still in use (grown read by read, a frame of n MiB was
 * copied about n / 8 times over). Runs on the channel's event loop only.
 */
final class FrameDecoder extends LengthFieldBasedFrameDecoder {
    private final int maxFrameBytes;
    private int limit = FrameKind.PRE_AUTH_MAX_BYTES;

    /** @param maxFrameBytes the largest frame after authentication, the prefix not counted */
    FrameDecoder(int maxFrameBytes) {
        super(maxFrameBytes + 4, 0, 4, 0, 4);
        this.maxFrameBytes = maxFrameBytes;
    }

    /** The peer proved the secret: frames up to the configured limit are accepted from now on. */
    void authenticated() {
        limit = maxFrameBytes;
    }

    @Override
    protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
        if (in.readableBytes() >= 4) {
            long length = in.getUnsignedInt(in.readerIndex());
            if (length > limit) {
                in.skipBytes(in.readableBytes());
                throw new TooLongFrameException("frame of " + length + " bytes exceeds the limit of " + limit + " bytes"
                        + (limit == maxFrameBytes ? "" : " before authentication"));
            }
            int missing = (int) (4 + length - in.readableBytes());
            if (missing > in.writableBytes() && in.refCnt() == 1 && missing <= in.maxWritableBytes()) {
                in.ensureWritable(missing);         // not while frames sliced from it live: growing frees its memory
            }
        }
        return super.decode(ctx, in);
    }
}
