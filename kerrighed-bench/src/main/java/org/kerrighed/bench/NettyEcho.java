package org.kerrighed.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import org.kerrighed.rpc.internal.Transport;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The peer of the RPC benchmark: a request/response echo written directly on Netty, with the transport
 * settings Kerrighed's RPC uses (the same {@link Transport}, one I/O thread, TCP_NODELAY, 4-byte length
 * prefix). A request is one mode byte and the payload; mode {@link #ON_IO_THREAD} echoes from the I/O
 * thread, {@link #ON_VIRTUAL_THREAD} hands the request to a new virtual thread that writes the reply, as
 * Kerrighed's blocking handlers do.
 */
final class NettyEcho {
    static final byte ON_IO_THREAD = 0;
    static final byte ON_VIRTUAL_THREAD = 1;
    private static final int MAX_FRAME = 16 << 20;

    private NettyEcho() {
    }

    /** Starts the echo server on 127.0.0.1 and an ephemeral port; returns its channel. */
    static Channel server(Transport t) throws InterruptedException {
        return new ServerBootstrap().group(t.group()).channel(t.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4),
                                new LengthFieldPrepender(4), new SimpleChannelInboundHandler<ByteBuf>(false) {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                                        if (frame.getByte(frame.readerIndex()) == ON_VIRTUAL_THREAD) {
                                            Thread.startVirtualThread(() -> ctx.writeAndFlush(frame));
                                        } else {
                                            ctx.writeAndFlush(frame);
                                        }
                                    }
                                });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    /** A client connection: replies come back in request order, each runs the callback given with its request. */
    static final class Client implements AutoCloseable {
        private final Channel channel;
        private final Queue<Runnable> pending = new ConcurrentLinkedQueue<>();

        Client(Transport t, String host, int port) throws InterruptedException {
            channel = new Bootstrap().group(t.group()).channel(t.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4),
                                    new LengthFieldPrepender(4), new SimpleChannelInboundHandler<ByteBuf>() {
                                        @Override
                                        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                                            Runnable done = pending.poll();
                                            if (done != null) {
                                                done.run();
                                            }
                                        }
                                    });
                        }
                    }).connect(host, port).sync().channel();
        }

        /** Sends one request; {@code done} runs on the I/O thread when its reply arrives. */
        void send(byte mode, byte[] payload, Runnable done) {
            pending.add(done);
            ByteBuf buf = channel.alloc().buffer(1 + payload.length);
            buf.writeByte(mode).writeBytes(payload);
            channel.writeAndFlush(buf, channel.voidPromise());
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }
}
