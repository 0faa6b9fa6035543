package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.kerrighed.rpc.HandshakeException;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RpcConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The link handshake, both sides.
 *
 * <p>Overview: the dialing side sends HELLO (protocol version, cluster name, type-registry fingerprint,
 * its node id and advertised address, a nonce). The accepting side refuses a different version, cluster
 * or fingerprint with a REJECT that names both sides' values, else answers CHALLENGE: its own nonce and
 * its proof HMAC-SHA256(secret, "S" | clientNonce | serverNonce | serverId). The dialer checks that proof
 * (so it never talks to an impostor either) and answers AUTH with HMAC(secret, "C" | serverNonce |
 * clientNonce | clientId). Only after a valid AUTH does the acceptor send WELCOME and hand the channel to
 * the endpoint; before that, no service runs and frames are limited to {@link FrameKind#PRE_AUTH_MAX_BYTES}.
 * Nonces are fresh per connection, so a recorded handshake cannot be replayed. The secret never crosses
 * the wire.
 */
final class Handshake {
    private static final Logger log = LoggerFactory.getLogger(Handshake.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Handshake() {
    }

    /** Result of a completed dial. */
    record Dialed(int serverId, long incarnation, int assignedId) {
    }

    static byte[] nonce() {
        byte[] n = new byte[FrameKind.NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    static byte[] proof(byte[] secret, char role, byte[] first, byte[] second, int id) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update((byte) role);
            mac.update(first);
            mac.update(second);
            mac.update(ByteBuffer.allocate(4).putInt(id).array());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static ByteBuf frame(ChannelHandlerContext ctx, byte kind) {
        ByteBuf b = ctx.alloc().buffer(128);
        b.writeByte(kind);
        return b;
    }

    static void reject(ChannelHandlerContext ctx, String reason) {
        ByteBuf b = frame(ctx, FrameKind.REJECT);
        Wire.writeUtf(b, reason);
        ctx.writeAndFlush(b).addListener(f -> ctx.close());
    }

    /** The dialing side. Replaces itself with the link handler from {@code onReady} once welcomed. */
    static final class Client extends ChannelInboundHandlerAdapter {
        private final Endpoint endpoint;
        private final int expectedServer;      // -1: unknown (dial by address)
        private final CompletableFuture<Dialed> result;
        private final byte[] nonce = nonce();
        private byte[] serverNonce;
        private int serverId = -1;
        private long serverIncarnation;
        private ScheduledFuture<?> timeout;

        Client(Endpoint endpoint, int expectedServer, CompletableFuture<Dialed> result) {
            this.endpoint = endpoint;
            this.expectedServer = expectedServer;
            this.result = result;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            RpcConfig c = endpoint.config();
            timeout = ctx.executor().schedule(() -> fail(ctx, new HandshakeException(expectedServer,
                    "handshake with " + ctx.channel().remoteAddress() + " timed out after "
                            + c.handshakeTimeout().toMillis() + " ms")),
                    c.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
            ByteBuf b = frame(ctx, FrameKind.HELLO);
            b.writeInt(FrameKind.MAGIC);
            b.writeShort(RpcConfig.PROTOCOL_VERSION);
            Wire.writeUtf(b, c.clusterName());
            Wire.writeUtf(b, endpoint.isNode() ? c.types().fingerprint() : c.types().blockFingerprints());
            b.writeInt(endpoint.nodeId());
            b.writeLong(endpoint.incarnation());
            HostAndPort adv = endpoint.isNode() ? endpoint.advertisedAddress() : null;
            Wire.writeUtf(b, adv == null ? "" : adv.host());
            b.writeShort(adv == null ? 0 : adv.port());
            b.writeBytes(nonce);
            ctx.writeAndFlush(b);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (in.readableBytes() > FrameKind.PRE_AUTH_MAX_BYTES || !in.isReadable()) {
                    fail(ctx, new HandshakeException(expectedServer, "malformed handshake frame"));
                    return;
                }
                byte kind = in.readByte();
                switch (kind) {
                    case FrameKind.CHALLENGE -> onChallenge(ctx, in);
                    case FrameKind.WELCOME -> onWelcome(ctx, in);
                    case FrameKind.REJECT -> fail(ctx, new HandshakeException(expectedServer,
                            "refused by " + ctx.channel().remoteAddress() + ": " + Wire.readUtf(in)));
                    default -> fail(ctx, new HandshakeException(expectedServer,
                            "unexpected frame kind " + kind + " during handshake"));
                }
            } catch (RuntimeException e) {
                fail(ctx, new HandshakeException(expectedServer, "malformed handshake frame: " + e.getMessage()));
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onChallenge(ChannelHandlerContext ctx, ByteBuf in) {
            Wire.need(in, 12 + 2 * FrameKind.NONCE_BYTES, "challenge");
            serverId = in.readInt();
            serverIncarnation = in.readLong();
            serverNonce = new byte[FrameKind.NONCE_BYTES];
            in.readBytes(serverNonce);
            byte[] serverProof = new byte[FrameKind.NONCE_BYTES];
            in.readBytes(serverProof);
            byte[] secret = endpoint.secret();
            // Prove ourselves first, so that a server with another secret logs and counts the refusal too;
            // then check the server's proof before anything else is sent.
            ByteBuf b = frame(ctx, FrameKind.AUTH);
            b.writeBytes(proof(secret, 'C', serverNonce, nonce, endpoint.nodeId()));
            ctx.writeAndFlush(b);
            if (!MessageDigest.isEqual(serverProof, proof(secret, 'S', nonce, serverNonce, serverId))) {
                log.warn("node {}: {} failed to prove it knows the cluster secret; closing",
                        endpoint.nodeId(), ctx.channel().remoteAddress());
                fail(ctx, new HandshakeException(expectedServer, "the node at " + ctx.channel().remoteAddress()
                        + " does not know the cluster secret"));
                return;
            }
            if (expectedServer >= 0 && serverId != expectedServer) {
                fail(ctx, new HandshakeException(expectedServer, "dialed node " + expectedServer + " at "
                        + ctx.channel().remoteAddress() + " but node " + serverId + " answered"));
                return;
            }
            String refusal = endpoint.admission().refuse(serverId, serverIncarnation);
            if (refusal != null) {
                fail(ctx, new HandshakeException(serverId, "node " + serverId + " at " + ctx.channel().remoteAddress()
                        + " is not admitted: " + refusal));
            }
        }

        private void onWelcome(ChannelHandlerContext ctx, ByteBuf in) {
            Wire.need(in, 4, "welcome");
            int assigned = in.readInt();
            if (serverNonce == null) {
                fail(ctx, new HandshakeException(expectedServer, "welcome before challenge"));
                return;
            }
            if (timeout != null) {
                timeout.cancel(false);
            }
            Dialed d = new Dialed(serverId, serverIncarnation, assigned);
            endpoint.dialed(ctx.channel(), d);         // installs the link handler before any frame is read
            ctx.pipeline().remove(this);
            result.complete(d);
        }

        private void fail(ChannelHandlerContext ctx, LinkClosedException e) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            result.completeExceptionally(e);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            result.completeExceptionally(new LinkClosedException(expectedServer,
                    "connection to " + ctx.channel().remoteAddress() + " closed during the handshake"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, new LinkClosedException(expectedServer, "handshake with " + ctx.channel().remoteAddress()
                    + " failed: " + cause, cause));
        }
    }

    /** The accepting side. Hands the channel to the endpoint once the peer proved the secret. */
    static final class Server extends ChannelInboundHandlerAdapter {
        private final Endpoint endpoint;
        private final byte[] nonce = nonce();
        private byte[] clientNonce;
        private int clientId = Integer.MIN_VALUE;
        private long clientIncarnation;
        private HostAndPort clientAddress;
        private ScheduledFuture<?> timeout;

        Server(Endpoint endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            timeout = ctx.executor().schedule(() -> {
                log.warn("node {}: handshake from {} timed out; closing", endpoint.nodeId(),
                        ctx.channel().remoteAddress());
                ctx.close();
            }, endpoint.config().handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timeout != null) {
                timeout.cancel(false);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                if (in.readableBytes() > FrameKind.PRE_AUTH_MAX_BYTES || !in.isReadable()) {
                    refuse(ctx, "handshake frame of " + in.readableBytes() + " bytes is not allowed before authentication");
                    return;
                }
                byte kind = in.readByte();
                switch (kind) {
                    case FrameKind.HELLO -> onHello(ctx, in);
                    case FrameKind.AUTH -> onAuth(ctx, in);
                    default -> refuse(ctx, "frame kind " + kind + " before authentication");
                }
            } catch (RuntimeException e) {
                refuse(ctx, "malformed handshake frame: " + e.getMessage());
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void refuse(ChannelHandlerContext ctx, String reason) {
            log.warn("node {}: refusing {}: {}", endpoint.nodeId(), ctx.channel().remoteAddress(), reason);
            endpoint.countRefused();
            if (timeout != null) {
                timeout.cancel(false);
            }
            reject(ctx, reason);
        }

        private void onHello(ChannelHandlerContext ctx, ByteBuf in) {
            if (clientNonce != null) {
                refuse(ctx, "second HELLO");
                return;
            }
            Wire.need(in, 6, "hello");
            int magic = in.readInt();
            if (magic != FrameKind.MAGIC) {
                refuse(ctx, "not a Kerrighed peer (bad magic)");
                return;
            }
            int version = in.readUnsignedShort();
            String cluster = Wire.readUtf(in);
            String fingerprint = Wire.readUtf(in);
            Wire.need(in, 12, "hello node id");
            int id = in.readInt();
            long incarnation = in.readLong();
            String host = Wire.readUtf(in);
            Wire.need(in, 2 + FrameKind.NONCE_BYTES, "hello address and nonce");
            int port = in.readUnsignedShort();
            byte[] n = new byte[FrameKind.NONCE_BYTES];
            in.readBytes(n);
            RpcConfig c = endpoint.config();
            String self = "node " + endpoint.nodeId() + " (" + endpoint.advertisedAddress() + ")";
            String peer = (id < 0 ? "client" : "node " + id) + " (" + ctx.channel().remoteAddress() + ")";
            if (version != RpcConfig.PROTOCOL_VERSION) {
                refuse(ctx, "protocol version mismatch: " + peer + " speaks version " + version + ", " + self
                        + " speaks version " + RpcConfig.PROTOCOL_VERSION);
                return;
            }
            if (!cluster.equals(c.clusterName())) {
                refuse(ctx, "cluster mismatch: " + peer + " belongs to cluster '" + cluster + "', " + self
                        + " to cluster '" + c.clusterName() + "'");
                return;
            }
            boolean typesMatch = id == -1 ? c.types().acceptsTool(fingerprint) : fingerprint.equals(c.types().fingerprint());
            if (!typesMatch && id == -1) {
                refuse(ctx, "type registry mismatch: " + peer + " has type blocks " + fingerprint + ", " + self
                        + " has " + c.types().blockFingerprints()
                        + "; a tool must register the nodes' types in every block of 1000 ids it uses");
                return;
            }
            if (!typesMatch) {
                refuse(ctx, "type registry mismatch: " + peer + " has fingerprint " + shorten(fingerprint) + ", "
                        + self + " has " + c.types().shortFingerprint()
                        + "; every node must register the same types under the same ids");
                return;
            }
            if (id != -1 && (id < 0 || id >= RpcConfig.MAX_NODES)) {
                refuse(ctx, "invalid node id " + id);
                return;
            }
            if (id == endpoint.nodeId() && id >= 0) {
                refuse(ctx, "node id " + id + " is already used by " + self);
                return;
            }
            if (id >= 0) {
                String refusal = endpoint.admission().refuse(id, incarnation);
                if (refusal != null) {
                    refuse(ctx, "node " + id + " is not admitted by " + self + ": " + refusal);
                    return;
                }
            }
            clientNonce = n;
            clientId = id;
            clientIncarnation = incarnation;
            clientAddress = host.isEmpty() || port == 0 ? null : new HostAndPort(host, port);
            ByteBuf b = frame(ctx, FrameKind.CHALLENGE);
            b.writeInt(endpoint.nodeId());
            b.writeLong(endpoint.incarnation());
            b.writeBytes(nonce);
            b.writeBytes(proof(endpoint.secret(), 'S', clientNonce, nonce, endpoint.nodeId()));
            ctx.writeAndFlush(b);
        }

        private static String shorten(String fp) {
            return fp.length() > 12 ? fp.substring(0, 12) : fp;
        }

        private void onAuth(ChannelHandlerContext ctx, ByteBuf in) {
            if (clientNonce == null) {
                refuse(ctx, "AUTH before HELLO");
                return;
            }
            Wire.need(in, FrameKind.NONCE_BYTES, "auth");
            byte[] p = new byte[FrameKind.NONCE_BYTES];
            in.readBytes(p);
            if (!MessageDigest.isEqual(p, proof(endpoint.secret(), 'C', nonce, clientNonce, clientId))) {
                refuse(ctx, "authentication failed: " + ctx.channel().remoteAddress()
                        + " does not know the cluster secret");
                return;
            }
            if (timeout != null) {
                timeout.cancel(false);
            }
            Channel ch = ctx.channel();
            int assigned = endpoint.accepted(ch, clientId, clientIncarnation, clientAddress);
            if (assigned == Integer.MIN_VALUE) {
                reject(ctx, "node " + endpoint.nodeId() + " is shutting down");
                return;
            }
            ByteBuf b = frame(ctx, FrameKind.WELCOME);
            b.writeInt(assigned);
            ctx.writeAndFlush(b);
            ctx.pipeline().remove(this);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
