package org.kerrighed.bench;

import io.netty.channel.Channel;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TransportKind;
import org.kerrighed.rpc.internal.Transport;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * The server side of {@code krg bench rpc}, in a JVM of its own: a Kerrighed RPC node (id 1) with the
 * echo services and a raw Netty echo server on the same transport settings. Arguments:
 * {@code CLUSTER SECRET-FILE CLIENT-RPC-ADDRESS}. Prints {@code READY rpc-address netty-port}.
 */
public final class RpcBenchServer {
    private RpcBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        ChildJvm.exitWhenParentDies();
        byte[] secret = Base64.getDecoder().decode(Files.readString(Path.of(args[1])).strip());
        RpcNode node = RpcNode.start(RpcBench.config(args[0], secret, 1));
        node.register(RpcBench.ECHO, HandlerKind.NON_BLOCKING, (ctx, bytes) -> bytes);
        node.register(RpcBench.ECHO_BLOCKING, HandlerKind.BLOCKING, (ctx, bytes) -> bytes);
        node.addPeer(0, HostAndPort.parse(args[2]));
        Transport t = Transport.create(TransportKind.AUTO, 1, "netty-echo");
        Channel server = NettyEcho.server(t);
        System.out.println("READY " + node.address() + " " + ((InetSocketAddress) server.localAddress()).getPort()
                + " " + t.kind());
        System.out.flush();
        Thread.currentThread().join();               // until the parent ends the JVM
    }
}
