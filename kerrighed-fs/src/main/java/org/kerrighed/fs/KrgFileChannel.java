package org.kerrighed.fs;

import org.kerrighed.fs.internal.FilePosition;
import org.kerrighed.fs.internal.HandOverPosition;
import org.kerrighed.fs.internal.SharedFilePosition;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Objects;

/**
 * A channel to a file of a krg file system (made by {@link KrgFileSystemProvider#newFileChannel}, also behind
 * {@code Files.newByteChannel}, {@code newInputStream} and {@code newOutputStream}).
 *
 * <p>Every read and write goes to the cluster: a {@code write} that has returned is on every live replica of the
 * chunks it touched, and a read on any node sees it; {@link #force} returns once the bytes are fsynced on every
 * live replica. In append mode each write lands at the end of the file atomically with respect to other appends,
 * on any node, and moves the position to the end of what it wrote; {@link #position()} is then the file's size. A
 * positional {@link #write(ByteBuffer, long)} writes at the position given, even in append mode. With SYNC or
 * DSYNC each write is forced before it returns.
 *
 * <p>The position may be shared with channels of other nodes (see {@link FilePosition}); a read or write at the
 * position reads, advances and stores it as one step. Not supported: {@link #map} and file locks ({@link #lock},
 * {@link #tryLock}), which throw {@link UnsupportedOperationException}.
 *
 * <p>Thread-safe. Closing the channel (or its file system) makes further operations throw
 * {@link ClosedChannelException}; interrupting a thread blocked in one closes the channel, as for every
 * interruptible channel. A channel opened with DELETE_ON_CLOSE deletes its path when closed.
 */
public final class KrgFileChannel extends FileChannel {
    private static final int TRANSFER_BUFFER = 64 << 10;

    private final KrgFileSystem fs;
    private final FileContent content;
    private final FilePosition position;
    private final boolean readable;
    private final boolean writable;
    private final boolean append;
    private final Sync sync;
    private final Runnable onClose;
    private final String path;
    private final long inode;

    /** When writes are forced: never, data only (DSYNC), or data and metadata (SYNC). */
    enum Sync { NONE, DATA, ALL }

    KrgFileChannel(KrgFileSystem fs, String path, long inode, FileContent content, FilePosition position,
                   boolean readable, boolean writable, boolean append, Sync sync, Runnable onClose) {
        this.fs = fs;
        this.path = path;
        this.inode = inode;
        this.content = content;
        this.position = position;
        this.readable = readable;
        this.writable = writable;
        this.append = append;
        this.sync = sync;
        this.onClose = onClose;
    }

    @FunctionalInterface
    private interface Io<T> {
        T run() throws IOException;
    }

    /** Runs {@code op} as an interruptible operation of an open channel. */
    private <T> T io(Io<T> op) throws IOException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        boolean completed = false;
        begin();
        try {
            T result = op.run();
            completed = true;
            return result;
        } catch (FileSystemException e) {
            throw named(e);
        } finally {
            end(completed);
        }
    }

    /**
     * The engine names a file by its inode ("inode 42"), or not at all, in the errors of reads and writes: they
     * name this channel's path instead, with the same type and reason.
     */
    private FileSystemException named(FileSystemException e) {
        String file = e.getFile();
        if (file != null && !file.startsWith("inode ") && !file.equals("chunk")) {
            return e;
        }
        FileSystemException named;
        if (e instanceof NoSuchFileException) {
            named = new NoSuchFileException(path, e.getOtherFile(), e.getReason());
        } else if (e instanceof AccessDeniedException) {
            named = new AccessDeniedException(path, e.getOtherFile(), e.getReason());
        } else if (e.getClass() == FileSystemException.class) {
            named = new FileSystemException(path, e.getOtherFile(), e.getReason());
        } else {
            return e;
        }
        named.initCause(e);
        return named;
    }

    private void checkReadable() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        if (!readable) {
            throw new NonReadableChannelException();
        }
    }

    private void checkWritable() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        if (!writable) {
            throw new NonWritableChannelException();
        }
    }

    private static void checkPosition(long p, String what) {
        if (p < 0) {
            throw new IllegalArgumentException(what + " " + p + " is negative");
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        checkReadable();
        if (!dst.hasRemaining()) {
            return 0;
        }
        return io(() -> position.locked((p, moveTo) -> {
            int n = content.read(p, dst);
            if (n > 0) {
                moveTo.accept(p + n);
            }
            return n;
        }));
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        checkReadable();
        return io(() -> position.locked((p, moveTo) -> {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                ByteBuffer dst = dsts[i];
                if (!dst.hasRemaining()) {
                    continue;
                }
                int n = content.read(p + total, dst);
                if (n < 0) {
                    if (total == 0) {
                        return -1L;
                    }
                    break;
                }
                total += n;
                if (dst.hasRemaining()) {
                    break;
                }
            }
            moveTo.accept(p + total);
            return total;
        }));
    }

    @Override
    public int read(ByteBuffer dst, long at) throws IOException {
        checkPosition(at, "position");
        checkReadable();
        if (!dst.hasRemaining()) {
            return 0;
        }
        return io(() -> content.read(at, dst));
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        checkWritable();
        int n = src.remaining();
        io(() -> position.locked((p, moveTo) -> {
            if (append) {
                moveTo.accept(content.append(src) + n);
            } else {
                content.write(p, src);
                moveTo.accept(p + n);
            }
            return null;
        }));
        afterWrite();
        return n;
    }

    /** Gathers the buffers' remaining bytes into one write (one append, in append mode). */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        checkWritable();
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            total += srcs[i].remaining();
        }
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(total + " bytes in one gathering write, more than a buffer holds");
        }
        ByteBuffer all = ByteBuffer.allocate((int) total);
        for (int i = offset; i < offset + length; i++) {
            all.put(srcs[i]);
        }
        return write(all.flip());
    }

    @Override
    public int write(ByteBuffer src, long at) throws IOException {
        checkPosition(at, "position");
        checkWritable();
        int n = src.remaining();
        io(() -> content.write(at, src));
        afterWrite();
        return n;
    }

    /** Forces the write in SYNC or DSYNC mode. */
    private void afterWrite() throws IOException {
        if (sync != Sync.NONE) {
            force(sync == Sync.ALL);
        }
    }

    /** The position; in append mode, the file's size (where the next write lands). */
    @Override
    public long position() throws IOException {
        return io(() -> append ? content.size() : position.get());
    }

    @Override
    public KrgFileChannel position(long newPosition) throws IOException {
        checkPosition(newPosition, "position");
        io(() -> {
            position.set(newPosition);
            return null;
        });
        return this;
    }

    @Override
    public long size() throws IOException {
        return io(content::size);
    }

    /** Cuts the file to {@code size} when it is longer; the position, if beyond {@code size}, moves back to it. */
    @Override
    public KrgFileChannel truncate(long size) throws IOException {
        checkPosition(size, "size");
        checkWritable();
        io(() -> position.locked((p, moveTo) -> {
            if (size < content.size()) {
                content.truncate(size);
            }
            if (p > size) {
                moveTo.accept(size);
            }
            return null;
        }));
        return this;
    }

    /** Returns once the file's bytes (and its metadata) are fsynced on every live replica. */
    @Override
    public void force(boolean metaData) throws IOException {
        io(() -> {
            content.force(metaData);
            return null;
        });
    }

    /** Copies by reading this file into a buffer and writing it to {@code target}, until a write falls short. */
    @Override
    public long transferTo(long at, long count, WritableByteChannel target) throws IOException {
        checkPosition(at, "position");
        checkPosition(count, "count");
        checkReadable();
        if (!target.isOpen()) {
            throw new ClosedChannelException();
        }
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(TRANSFER_BUFFER, Math.max(count, 1)));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = read(buf, at + done);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                if (target.write(buf) == 0) {
                    break;
                }
            }
            done += n - buf.remaining();
            if (buf.hasRemaining()) {
                break;
            }
        }
        return done;
    }

    /**
     * Copies by reading {@code src} into a buffer and writing it here, until {@code src} has no more bytes; a
     * position past the end grows the file (the gap reads as zeros).
     */
    @Override
    public long transferFrom(ReadableByteChannel src, long at, long count) throws IOException {
        checkPosition(at, "position");
        checkPosition(count, "count");
        checkWritable();
        if (!src.isOpen()) {
            throw new ClosedChannelException();
        }
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(TRANSFER_BUFFER, Math.max(count, 1)));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = src.read(buf);
            if (n <= 0) {
                break;
            }
            write(buf.flip(), at + done);
            done += n;
        }
        return done;
    }

    /** @throws UnsupportedOperationException always: krg files cannot be mapped */
    @Override
    public MappedByteBuffer map(MapMode mode, long at, long size) {
        throw new UnsupportedOperationException("krg files cannot be mapped");
    }

    /** @throws UnsupportedOperationException always: file locks are not supported yet */
    @Override
    public FileLock lock(long at, long size, boolean shared) {
        throw new UnsupportedOperationException("krg files have no locks yet");
    }

    /** @throws UnsupportedOperationException always: file locks are not supported yet */
    @Override
    public FileLock tryLock(long at, long size, boolean shared) {
        throw new UnsupportedOperationException("krg files have no locks yet");
    }

    /**
     * This channel as a value another node opens with {@link KrgFileSystem#open(FileHandle)}: from now on this
     * channel and every channel opened from the handle share one position (a read or write on any of them moves it
     * for all, as one step), as a Unix file descriptor passed to another process does. The first call makes the
     * shared position (one cluster call); later ones reuse it.
     *
     * @throws UnsupportedOperationException for a {@code /proc} file (its content is a snapshot of this node's)
     * @throws ClosedChannelException        when closed
     */
    public FileHandle handle() throws IOException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        SharedFilePosition shared;
        if (inode >= 0 && position instanceof HandOverPosition h) {
            shared = h.share(fs.engine());
        } else if (inode >= 0 && position instanceof SharedFilePosition s) {
            shared = s;
        } else {
            throw new UnsupportedOperationException(path + " cannot be handed to another node");
        }
        return new FileHandle(fs.clusterName(), path, inode, readable, writable, append, shared.id(), shared.get());
    }

    @Override
    protected void implCloseChannel() {
        fs.closed(this);
        onClose.run();
    }
}
