package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The handler of an authenticated channel: hands every frame to the endpoint, reports closure. */
final class LinkHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(LinkHandler.class);
    private final Endpoint endpoint;
    private final Peer peer;

    LinkHandler(Endpoint endpoint, Peer peer) {
        this.endpoint = endpoint;
        this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReadBatch batch = ReadBatch.current();
        batch.begin();
        endpoint.dispatch(peer, (ByteBuf) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ReadBatch.current().complete();            // flush what the frames of this read made us write
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ReadBatch.current().complete();            // never leave this thread in a read batch
        endpoint.linkClosed(peer, ctx.channel(), "connection closed");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof TooLongFrameException || cause.getCause() instanceof TooLongFrameException) {
            log.warn("node {}: {} sent a frame over the {}-byte limit; closing the link", endpoint.nodeId(),
                    peer.describe(), endpoint.config().maxFrameBytes());
            peer.counters.rejected.increment();
        } else {
            log.warn("node {}: link with {} failed: {}", endpoint.nodeId(), peer.describe(), cause.toString());
        }
        ctx.close();
    }
}
