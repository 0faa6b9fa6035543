package org.kerrighed.node;

import org.kerrighed.node.FsAdmin.Ack;
import org.kerrighed.node.FsAdmin.Entry;
import org.kerrighed.node.FsAdmin.FsException;
import org.kerrighed.node.FsAdmin.Listing;
import org.kerrighed.node.FsAdmin.ReadRequest;
import org.kerrighed.node.FsAdmin.WriteRequest;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The copies of {@code krg fs cat}, {@code put} and {@code get}: {@link FsAdmin#READ} and {@link FsAdmin#WRITE}
 * conversations that move a file's bytes in pieces of at most {@code pieceBytes}, with at most {@code window} pieces
 * sent and not yet acknowledged. The side that receives acknowledges each piece once it has stored it
 * ({@link Ack}: the bytes stored so far), so memory on either side stays bounded whatever the file's size, and the
 * sender's progress counts stored bytes.
 * <ul>
 *   <li>READ: the tool opens it with a {@link ReadRequest}; the node answers the file's {@link Entry}, then sends
 *       {@code byte[]} pieces until the end of the file, waits for the last acknowledgement and closes.</li>
 *   <li>WRITE: the tool opens it with a {@link WriteRequest}; the node creates a hidden file next to the target and
 *       answers {@code Ack(0)}; the tool sends {@code size} bytes of pieces; the node writes each and acknowledges
 *       it, then renames the file to the target and answers the target's {@link Listing}. When anything fails (the
 *       tool goes away or aborts, a write fails) the node deletes the hidden file: the target is either untouched
 *       or whole.</li>
 * </ul>
 * A side that fails aborts the conversation; the other side's next step then fails with its reason.
 */
public final class FsCopy {
    private static final Logger log = LoggerFactory.getLogger(FsCopy.class);

    private FsCopy() {
    }

    // ------------------------------------------------------------------ the node's side

    /** Serves a READ conversation: the file's entry, then its bytes. */
    static void serveRead(Node node, RpcNode rpc, Conversation c, ReadRequest r) throws Exception {
        Duration timeout = rpc.config().defaultCallTimeout();
        int piece = Math.min(r.pieceBytes(), rpc.config().maxFrameBytes() / 4);
        Path p = FsAdmin.resolve(node, r.path());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            c.send(FsAdmin.entry(p), timeout);
            Window w = new Window(c, r.window(), timeout);
            ByteBuffer buf = ByteBuffer.allocate(piece);
            while (fill(ch, buf.clear()) > 0) {
                w.send(Arrays.copyOf(buf.array(), buf.position()));
            }
            w.drain();
            log.debug("node {}: {} read by a tool ({} bytes)", node.id(), p, w.sent());
        }
    }

    /** Reads into {@code buf} until it is full or the file ends; returns the bytes read. */
    private static int fill(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining() && ch.read(buf) >= 0) {
            // read on
        }
        return buf.position();
    }

    /** Serves a WRITE conversation: the bytes into a hidden file, renamed to the target once whole. */
    static void serveWrite(Node node, RpcNode rpc, Conversation c, WriteRequest r) throws Exception {
        Duration timeout = rpc.config().defaultCallTimeout();
        if (r.pieceBytes() > rpc.config().maxFrameBytes() / 4) {
            throw new IllegalArgumentException("pieceBytes: node " + node.id() + " takes at most "
                    + rpc.config().maxFrameBytes() / 4 + ", got " + r.pieceBytes());
        }
        Path target = FsAdmin.resolve(node, r.path());
        if (Files.isDirectory(target)) {
            target = target.resolve(r.name());
        }
        Path parent = target.getParent();
        if (parent == null) {
            throw new FileSystemException(target.toString(), null, "is a directory");
        }
        Optional<BasicFileAttributes> existing = attributes(target);
        if (existing.isPresent() && existing.get().isDirectory()) {
            throw new FileSystemException(target.toString(), null, "is a directory");
        }
        if (existing.isPresent() && !r.replace()) {
            throw new FileAlreadyExistsException(target.toString(), null, "already exists (--force replaces it)");
        }
        if (!Files.readAttributes(parent, BasicFileAttributes.class).isDirectory()) {
            throw new NotDirectoryException(parent.toString());
        }
        Path hidden = parent.resolve("." + target.getFileName() + ".krg-put-"
                + HexFormat.of().formatHex(new SecureRandom().generateSeed(4)));
        boolean done = false;
        try {
            long stored = receive(c, r, hidden, target, timeout);
            if (r.replace()) {
                Files.move(hidden, target, StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.move(hidden, target);
            }
            done = true;
            c.send(new Listing(target.toString(), false, List.of(FsAdmin.entry(target))), timeout);
            log.info("node {}: {} written by a tool ({} bytes)", node.id(), target, stored);
        } finally {
            if (!done) {
                Files.deleteIfExists(hidden);
            }
        }
    }

    private static Optional<BasicFileAttributes> attributes(Path p) throws IOException {
        try {
            return Optional.of(Files.readAttributes(p, BasicFileAttributes.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Creates {@code file} (a refusal that names it names {@code target} instead), writes the tool's
     * {@code r.size()} bytes into it, acknowledging each piece.
     */
    private static long receive(Conversation c, WriteRequest r, Path file, Path target, Duration timeout)
            throws Exception {
        FileChannel created;
        try {
            created = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (AccessDeniedException e) {
            if (file.toString().equals(e.getFile())) {
                throw new AccessDeniedException(target.toString(), null, e.getReason());
            }
            throw e;
        }
        try (FileChannel ch = created) {
            if (r.replication() > 0) {
                Files.setAttribute(file, "krg:replication", r.replication());
            }
            c.send(new Ack(0), timeout);
            long stored = 0;
            while (stored < r.size()) {
                Object m = next(c, timeout, "a piece of the file (" + stored + " of " + r.size() + " bytes stored)");
                if (!(m instanceof byte[] piece) || piece.length == 0 || piece.length > r.pieceBytes()) {
                    throw new IllegalArgumentException("expected a piece of 1-" + r.pieceBytes() + " bytes, got " + m);
                }
                if (piece.length > r.size() - stored) {
                    throw new IllegalArgumentException("the tool sent more than the " + r.size()
                            + " bytes it announced");
                }
                ByteBuffer b = ByteBuffer.wrap(piece);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                stored += piece.length;
                c.send(new Ack(stored), timeout);
            }
            return stored;
        }
    }

    /** The next message of a copy; an end of stream, or nothing in {@code timeout}, is an error. */
    private static Object next(Conversation c, Duration timeout, String what) throws InterruptedException {
        Optional<Object> m;
        try {
            m = c.receive(timeout);
        } catch (TimeoutException e) {
            throw new KerrighedException("no " + what + " came in " + timeout);
        }
        return m.orElseThrow(() -> new KerrighedException("the copy ended early: expected " + what));
    }

    /**
     * The sending side of a copy: sends pieces, keeping at most {@code size} unacknowledged, and tells
     * {@code progress} the bytes the other side stored.
     */
    static final class Window {
        private final Conversation c;
        private final int size;
        private final Duration timeout;
        private final LongConsumer progress;
        private long sent;
        private long acked;
        private int unacked;

        Window(Conversation c, int size, Duration timeout) {
            this(c, size, timeout, b -> { });
        }

        Window(Conversation c, int size, Duration timeout, LongConsumer progress) {
            this.c = c;
            this.size = size;
            this.timeout = timeout;
            this.progress = progress;
        }

        /** Sends {@code piece}, first waiting for an acknowledgement when the window is full. */
        void send(byte[] piece) throws InterruptedException, TimeoutException {
            if (unacked == size) {
                awaitAck();
            }
            c.send(piece, timeout);
            sent += piece.length;
            unacked++;
        }

        /** Waits until every piece sent was acknowledged. */
        void drain() throws InterruptedException {
            while (unacked > 0) {
                awaitAck();
            }
        }

        long sent() {
            return sent;
        }

        private void awaitAck() throws InterruptedException {
            Object m = next(c, timeout, "acknowledgement (" + acked + " of " + sent + " bytes acknowledged)");
            if (!(m instanceof Ack a) || a.bytes() <= acked || a.bytes() > sent) {
                throw new KerrighedException("got " + m + " instead of an acknowledgement of " + acked + "-" + sent
                        + " bytes");
            }
            acked = a.bytes();
            unacked--;
            progress.accept(acked);
        }
    }

    // ------------------------------------------------------------------ the tool's side

    /**
     * Copies file {@code path} of the cluster into {@code out}, piece by piece, each waiting at most {@code timeout}.
     * {@code opened} is told the file before its first byte, {@code stored} the bytes written to {@code out} after
     * each piece. {@code out} is not closed. When the copy fails here the conversation is aborted: the node stops.
     *
     * @return the bytes copied
     * @throws FsException        when the node refuses (no such file, a directory, permission denied)
     * @throws IOException        when writing to {@code out} fails
     * @throws KerrighedException when the node went away or did not answer in time
     */
    public static long read(RpcClient tool, String path, OutputStream out, int pieceBytes, int window,
                            Duration timeout, Consumer<Entry> opened, LongConsumer stored)
            throws IOException, InterruptedException {
        Conversation c = tool.openConversation(FsAdmin.READ, new ReadRequest(path, pieceBytes, window));
        boolean done = false;
        try {
            Object first = next(c, timeout, "answer");
            if (!(first instanceof Entry e)) {
                throw new KerrighedException("node " + tool.server() + " answered " + first + " instead of a file");
            }
            opened.accept(e);
            long total = 0;
            for (Optional<Object> m = receive(c, timeout); m.isPresent(); m = receive(c, timeout)) {
                if (!(m.get() instanceof byte[] piece)) {
                    throw new KerrighedException("node " + tool.server() + " sent " + m.get() + " instead of a piece");
                }
                out.write(piece);
                total += piece.length;
                c.send(new Ack(total), timeout);
                stored.accept(total);
            }
            done = true;
            return total;
        } catch (RemoteException e) {
            throw FsAdmin.local(e);
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + tool.server() + " did not take an acknowledgement in " + timeout);
        } finally {
            if (done) {
                c.close();
            } else {
                c.abort("the tool's copy of " + path + " failed");
            }
        }
    }

    /**
     * Copies {@code size} bytes of {@code in} to {@code path} of the cluster (into it, named {@code name}, when it is
     * a directory), piece by piece, each waiting at most {@code timeout}; {@code stored} is told the bytes the node
     * stored after each piece. The target appears whole or not at all: when the copy fails on either side, the
     * conversation is aborted and the node deletes what it wrote.
     *
     * @return the file as stored, with its path
     * @throws FsException              when the node refuses (no such directory, already exists without
     *                                  {@code replace}, permission denied)
     * @throws IOException              when reading {@code in} fails or it ends before {@code size} bytes
     * @throws KerrighedException       when the node went away or did not answer in time
     */
    public static Listing write(RpcClient tool, WriteRequest r, InputStream in, Duration timeout, LongConsumer stored)
            throws IOException, InterruptedException {
        Conversation c = tool.openConversation(FsAdmin.WRITE, r);
        boolean done = false;
        try {
            Object ready = next(c, timeout, "answer");
            if (!(ready instanceof Ack a) || a.bytes() != 0) {
                throw new KerrighedException("node " + tool.server() + " answered " + ready + " instead of Ack(0)");
            }
            Window w = new Window(c, r.window(), timeout, stored);
            byte[] buf = new byte[r.pieceBytes()];
            long left = r.size();
            while (left > 0) {
                int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, left));
                if (n == 0) {
                    throw new IOException("the local file ended after " + (r.size() - left) + " of " + r.size()
                            + " bytes (did it shrink?)");
                }
                w.send(Arrays.copyOf(buf, n));
                left -= n;
            }
            w.drain();
            Object end = next(c, timeout, "file");
            if (!(end instanceof Listing l) || l.entries().size() != 1) {
                throw new KerrighedException("node " + tool.server() + " answered " + end + " instead of the file");
            }
            done = true;
            return l;
        } catch (RemoteException e) {
            throw FsAdmin.local(e);
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + tool.server() + " took no piece in " + timeout);
        } finally {
            if (done) {
                c.close();
            } else {
                c.abort("the tool's copy to " + r.path() + " failed");
            }
        }
    }

    private static Optional<Object> receive(Conversation c, Duration timeout) throws InterruptedException {
        try {
            return c.receive(timeout);
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + c.peer() + " sent nothing in " + timeout);
        }
    }
}
