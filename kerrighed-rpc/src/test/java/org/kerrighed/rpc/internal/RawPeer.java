package org.kerrighed.rpc.internal;

import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A hand-driven peer on a plain socket: speaks the handshake frame by frame (so tests can lie in it) and
 * then writes arbitrary frames. Knows the wire layout from {@link FrameKind}.
 */
final class RawPeer implements AutoCloseable {
    final Socket socket;
    final DataOutputStream out;
    final DataInputStream in;

    RawPeer(HostAndPort address) throws IOException {
        socket = new Socket(address.host(), address.port());
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(10_000);
        out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        in = new DataInputStream(socket.getInputStream());
    }

    static byte[] utf(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    void writeFrame(byte[] frame) throws IOException {
        out.writeInt(frame.length);
        out.write(frame);
    }

    void flush() throws IOException {
        out.flush();
    }

    /** Reads one frame; null at end of stream. */
    byte[] readFrame() throws IOException {
        int len;
        try {
            len = in.readInt();
        } catch (EOFException e) {
            return null;
        }
        byte[] b = new byte[len];
        in.readFully(b);
        return b;
    }

    static byte[] hello(int version, String cluster, String fingerprint, int nodeId, byte[] nonce) throws IOException {
        var bytes = new java.io.ByteArrayOutputStream();
        var d = new DataOutputStream(bytes);
        d.writeByte(FrameKind.HELLO);
        d.writeInt(FrameKind.MAGIC);
        d.writeShort(version);
        d.writeShort(utf(cluster).length);
        d.write(utf(cluster));
        d.writeShort(utf(fingerprint).length);
        d.write(utf(fingerprint));
        d.writeInt(nodeId);
        d.writeLong(12345L);   // incarnation
        d.writeShort(0);       // no advertised host
        d.writeShort(0);
        d.write(nonce);
        return bytes.toByteArray();
    }

    /** Runs the whole handshake as a client (id -1) with {@code config}'s cluster, types and secret. */
    void authenticateAsClient(RpcConfig config) throws IOException {
        byte[] nonce = Handshake.nonce();
        writeFrame(hello(RpcConfig.PROTOCOL_VERSION, config.clusterName(), config.types().fingerprint(), -1, nonce));
        flush();
        byte[] challenge = readFrame();
        if (challenge == null || challenge[0] != FrameKind.CHALLENGE) {
            throw new IOException("expected CHALLENGE, got " + describe(challenge));
        }
        byte[] serverNonce = java.util.Arrays.copyOfRange(challenge, 13, 13 + FrameKind.NONCE_BYTES);
        byte[] auth = new byte[1 + FrameKind.NONCE_BYTES];
        auth[0] = FrameKind.AUTH;
        System.arraycopy(Handshake.proof(config.secret(), 'C', serverNonce, nonce, -1), 0, auth, 1, FrameKind.NONCE_BYTES);
        writeFrame(auth);
        flush();
        byte[] welcome = readFrame();
        if (welcome == null || welcome[0] != FrameKind.WELCOME) {
            throw new IOException("expected WELCOME, got " + describe(welcome));
        }
    }

    static String describe(byte[] frame) {
        if (frame == null) {
            return "end of stream";
        }
        if (frame.length > 3 && frame[0] == FrameKind.REJECT) {
            return "REJECT: " + new String(frame, 3, frame.length - 3, StandardCharsets.UTF_8);
        }
        return "frame kind " + frame[0];
    }

    /** Reads frames until end of stream on a daemon thread, counting them (keeps the node's writes flowing). */
    Thread drainInBackground(AtomicLong frames, AtomicLong errorFrames) {
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                socket.setSoTimeout(0);
                InputStream raw = socket.getInputStream();
                DataInputStream d = new DataInputStream(new java.io.BufferedInputStream(raw, 1 << 16));
                while (true) {
                    int len = d.readInt();
                    byte[] b = new byte[len];
                    d.readFully(b);
                    frames.incrementAndGet();
                    if (b.length > 0 && b[0] == FrameKind.ERROR) {
                        errorFrames.incrementAndGet();
                    }
                }
            } catch (IOException ignored) {
                // socket closed
            }
        });
        return t;
    }

    /** True once the node closed the connection (read returns EOF or reset) within the timeout. */
    boolean closedByPeer(int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        try {
            while (true) {
                byte[] f = readFrame();
                if (f == null) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;   // connection reset
        }
    }

    OutputStream rawOut() throws IOException {
        return socket.getOutputStream();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
