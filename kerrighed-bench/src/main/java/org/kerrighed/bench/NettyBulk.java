package org.kerrighed.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import org.kerrighed.rpc.internal.Transport;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The peer of {@code krg bench fs}'s reads: a bulk transfer written directly on Netty, with the transport Kerrighed's
 * RPC uses (the same {@link Transport}, one I/O thread, TCP_NODELAY). The client sends one request (the byte count
 * and a frame size, 12 bytes); the server streams that many bytes from memory as frames of that size (the same bytes
 * as the benchmark's files: pseudo-random, seeded with the frame size), writing while the channel is writable;
 * the client copies every byte received into a heap buffer of the frame size, as a reader would.
 */
final class NettyBulk {
    private static final int REQUEST = 12;

    private NettyBulk() {
    }

    /** A bulk server on 127.0.0.1 and an ephemeral port. */
    record Server(Channel channel) {
        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }
    }

    /** Starts a bulk server on {@code t}'s event loop. */
    static Server server(Transport t) throws InterruptedException {
        return new Server(new ServerBootstrap().group(t.group()).channel(t.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Sender());
                    }
                }).bind("127.0.0.1", 0).sync().channel());
    }

    /** The server side of one connection: reads requests, streams the bytes each asks for. */
    private static final class Sender extends ChannelInboundHandlerAdapter {
        private final ByteBuf request = Unpooled.buffer(REQUEST);
        private ByteBuf frame = Unpooled.EMPTY_BUFFER;
        private long left;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                while (in.isReadable()) {
                    in.readBytes(request, Math.min(in.readableBytes(), request.writableBytes()));
                    if (request.writableBytes() == 0) {
                        left = request.readLong();
                        int size = request.readInt();
                        request.clear();
                        if (frame.capacity() != size) {
                            frame.release();
                            byte[] bytes = new byte[size];
                            new SplittableRandom(size).nextBytes(bytes);
                            frame = Unpooled.directBuffer(size).writeBytes(bytes);
                        }
                        send(ctx);
                    }
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            send(ctx);
        }

        /** Writes frames while there are bytes left and the channel takes them. */
        private void send(ChannelHandlerContext ctx) {
            while (left > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(left, frame.capacity());
                ctx.write(frame.retainedSlice(0, n), ctx.voidPromise());
                left -= n;
            }
            ctx.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            frame.release();
            frame = Unpooled.EMPTY_BUFFER;
        }
    }

    /** A client connection to a bulk server; one transfer at a time. */
    static final class Client implements AutoCloseable {
        private final Channel channel;
        private volatile Receipt receipt;

        /** One transfer in progress: the bytes still expected, where they go, and its end. */
        private static final class Receipt {
            final CompletableFuture<Long> done = new CompletableFuture<>();
            final ByteBuffer into;
            long left;

            Receipt(long bytes, ByteBuffer into) {
                this.left = bytes;
                this.into = into;
            }
        }

        Client(Transport t, String host, int port) throws InterruptedException {
            channel = new Bootstrap().group(t.group()).channel(t.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ByteBuf in = (ByteBuf) msg;
                                    try {
                                        take(in);
                                    } finally {
                                        in.release();
                                    }
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    Receipt r = receipt;
                                    if (r != null) {
                                        r.done.completeExceptionally(new IllegalStateException(
                                                "the bulk server closed the connection with " + r.left
                                                        + " bytes still to come"));
                                    }
                                }
                            });
                        }
                    }).connect(host, port).sync().channel();
        }

        private void take(ByteBuf in) {
            Receipt r = receipt;
            while (in.isReadable()) {
                if (!r.into.hasRemaining()) {
                    r.into.clear();
                }
                int n = Math.min(in.readableBytes(), r.into.remaining());
                in.readBytes(r.into.limit(r.into.position() + n));
                r.into.limit(r.into.capacity());
                r.left -= n;
            }
            if (r.left == 0) {
                r.done.complete(System.nanoTime());
            } else if (r.left < 0) {
                r.done.completeExceptionally(new IllegalStateException((-r.left) + " bytes more than asked for"));
            }
        }

        /**
         * Asks for {@code bytes} in frames of {@code frameSize} and copies them into {@code into} (from its start
         * again each time it is full) as they come. Returns the nanoseconds from the request to the last byte.
         *
         * @throws java.util.concurrent.TimeoutException when they have not all come within {@code limit}
         */
        long receive(long bytes, int frameSize, ByteBuffer into, Duration limit) throws Exception {
            Receipt r = new Receipt(bytes, into.clear());
            receipt = r;
            ByteBuf req = channel.alloc().buffer(REQUEST).writeLong(bytes).writeInt(frameSize);
            long t0 = System.nanoTime();
            channel.writeAndFlush(req);
            long end = r.done.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return end - t0;
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }
}
