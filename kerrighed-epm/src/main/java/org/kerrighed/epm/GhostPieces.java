package org.kerrighed.epm;

import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;

import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * A ghost's bytes on a conversation, in pieces: how migrations, checkpoints, restarts and forks send them, and how
 * the other side gathers them with the same checks (the announced length bounded, no piece past it, nothing
 * missing). Thread-safe.
 */
final class GhostPieces {
    /**
     * The largest piece: just under 1 MiB, so that each is encoded and decoded in the RPC layer's reused buffers (it
     * keeps those of up to 1 MiB). Pieces of 4 MiB were encoded and decoded in buffers allocated afresh, page faults
     * included: a 64 MiB ghost travelled two to three times slower.
     */
    static final int MAX_PIECE_BYTES = (1 << 20) - 1024;
    /** The largest ghost a node accepts. */
    static final long MAX_GHOST_BYTES = Integer.MAX_VALUE - 64;

    private final int piece;
    private final Duration timeout;

    GhostPieces(RpcNode rpc) {
        this.piece = Math.min(MAX_PIECE_BYTES, rpc.config().maxFrameBytes() / 4);
        this.timeout = rpc.config().defaultCallTimeout();
    }

    /** Sends {@code buf[0..length)} in pieces, each waiting at most the call timeout for credit. */
    void send(Conversation c, byte[] buf, int length) throws InterruptedException, TimeoutException {
        for (int off = 0; off < length; off += piece) {
            c.send(Arrays.copyOfRange(buf, off, Math.min(length, off + piece)), timeout);
        }
    }

    /** Where gathered pieces go. */
    interface Sink {
        void accept(byte[] piece) throws java.io.IOException;
    }

    /**
     * Receives {@code length} bytes in pieces into {@code sink}.
     *
     * @throws GhostException when the pieces are not bytes, run past {@code length}, or stop short of it
     */
    void receive(Conversation c, long length, String source, Sink sink) throws InterruptedException,
            TimeoutException, java.io.IOException {
        long got = 0;
        while (got < length) {
            Optional<Object> m = c.receive(timeout);
            if (m.isEmpty() || !(m.get() instanceof byte[] b) || b.length > length - got) {
                throw new GhostException(source + " is truncated or malformed (" + got + " of " + length
                        + " bytes, then " + m.map(x -> x.getClass().getSimpleName()).orElse("the end") + ")");
            }
            sink.accept(b);
            got += b.length;
        }
    }

    /**
     * Gathers a ghost that a node sends here to run (a move, a restart, a fork): refused from a tool, or when its
     * announced length is out of bounds.
     *
     * @throws GhostException when the ghost is refused or its pieces are malformed
     */
    byte[] gather(Conversation c, long length, String source) throws InterruptedException, TimeoutException {
        if (c.peer() >= RpcConfig.MAX_NODES) {
            throw new PermissionDeniedException("a tool may not send a process here");
        }
        if (length <= 0 || length > MAX_GHOST_BYTES) {
            throw new GhostException(source + " announces " + length + " bytes: refused");
        }
        byte[] buf = new byte[(int) length];
        int[] got = new int[1];
        try {
            receive(c, length, source, b -> {
                System.arraycopy(b, 0, buf, got[0], b.length);
                got[0] += b.length;
            });
        } catch (java.io.IOException impossible) {
            throw new IllegalStateException(impossible);      // copying into an array does no I/O
        }
        return buf;
    }
}
