package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

/**
 * Writes the 4-byte length prefix of every outbound frame (what {@code LengthFieldPrepender(4)} did),
 * without a second buffer for the prefix when it can.
 *
 * <p>Frames made by {@link Endpoint#frame} start with 4 bytes of headroom before their reader index,
 * marked with {@link #MARK} (see {@link #reserve}); the prefix is written into that headroom, so a frame
 * leaves as one buffer: no 4-byte header allocation per frame and one iovec instead of two. Any other
 * buffer (handshake frames, or a frame some handler replaced) is copied behind a fresh prefix. The bytes
 * on the wire are the same either way. Stateless; runs on the channel's event loop.
 */
@ChannelHandler.Sharable
final class FramePrefixer extends ChannelOutboundHandlerAdapter {
    static final FramePrefixer INSTANCE = new FramePrefixer();
    static final int HEADROOM = 4;
    /** Stands in the headroom until the frame is written; negative, so never a valid length. */
    private static final int MARK = 0xCAFE_F00D;

    private FramePrefixer() {
    }

    /** Reserves the marked headroom in {@code fresh}, a buffer nothing has been written to yet. */
    static ByteBuf reserve(ByteBuf fresh) {
        fresh.writeInt(MARK);
        fresh.readerIndex(HEADROOM);
        return fresh;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf b)) {
            ctx.write(msg, promise);
            return;
        }
        int start = b.readerIndex();
        int length = b.readableBytes();
        if (start >= HEADROOM && b.getInt(start - HEADROOM) == MARK) {
            b.setInt(start - HEADROOM, length);
            b.readerIndex(start - HEADROOM);
            ctx.write(b, promise);
            return;
        }
        ByteBuf out;
        try {
            out = ctx.alloc().buffer(HEADROOM + length);
            out.writeInt(length).writeBytes(b, start, length);
        } catch (RuntimeException e) {
            b.release();
            promise.tryFailure(e);
            return;
        }
        b.release();
        ctx.write(out, promise);
    }
}
