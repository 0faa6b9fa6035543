package org.kerrighed.rpc;

/** The socket implementation under Netty. {@link #AUTO} picks io_uring, then epoll, then NIO. */
public enum TransportKind {
    AUTO, IO_URING, EPOLL, NIO
}
