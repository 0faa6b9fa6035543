package org.kerrighed.rpc.internal;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.kerrighed.rpc.TransportKind;

import java.util.concurrent.TimeUnit;

/**
 * The Netty event loops and channel classes for one endpoint: io_uring, then epoll, then NIO when
 * {@link TransportKind#AUTO} is asked for and the native library loads. Also used by the benchmarks so
 * that the raw-Netty peer runs on exactly the same transport.
 */
public final class Transport implements AutoCloseable {
    private final TransportKind kind;
    private final EventLoopGroup group;
    private final Class<? extends Channel> socketChannel;
    private final Class<? extends ServerChannel> serverChannel;

    private Transport(TransportKind kind, EventLoopGroup group, Class<? extends Channel> socketChannel,
                      Class<? extends ServerChannel> serverChannel) {
        this.kind = kind;
        this.group = group;
        this.socketChannel = socketChannel;
        this.serverChannel = serverChannel;
    }

    /** The kind AUTO resolves to on this machine. */
    public static TransportKind resolve(TransportKind wanted) {
        return switch (wanted) {
            case AUTO -> ioUringAvailable() ? TransportKind.IO_URING
                    : epollAvailable() ? TransportKind.EPOLL : TransportKind.NIO;
            case IO_URING -> {
                if (!ioUringAvailable()) {
                    throw new IllegalStateException("transport io_uring is not available here: "
                            + IoUring.unavailabilityCause());
                }
                yield wanted;
            }
            case EPOLL -> {
                if (!epollAvailable()) {
                    throw new IllegalStateException("transport epoll is not available here: "
                            + Epoll.unavailabilityCause());
                }
                yield wanted;
            }
            case NIO -> wanted;
        };
    }

    private static boolean ioUringAvailable() {
        try {
            return IoUring.isAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    private static boolean epollAvailable() {
        try {
            return Epoll.isAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    /**
     * @param threadPrefix name prefix of the I/O threads (platform daemon threads)
     */
    public static Transport create(TransportKind wanted, int threads, String threadPrefix) {
        TransportKind kind = resolve(wanted);
        DefaultThreadFactory tf = new DefaultThreadFactory(threadPrefix, true);
        IoHandlerFactory factory = switch (kind) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            default -> NioIoHandler.newFactory();
        };
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, tf, factory);
        return switch (kind) {
            case IO_URING -> new Transport(kind, group, IoUringSocketChannel.class, IoUringServerSocketChannel.class);
            case EPOLL -> new Transport(kind, group, EpollSocketChannel.class, EpollServerSocketChannel.class);
            default -> new Transport(kind, group, NioSocketChannel.class, NioServerSocketChannel.class);
        };
    }

    public TransportKind kind() {
        return kind;
    }

    public EventLoopGroup group() {
        return group;
    }

    public Class<? extends Channel> socketChannel() {
        return socketChannel;
    }

    public Class<? extends ServerChannel> serverChannel() {
        return serverChannel;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
