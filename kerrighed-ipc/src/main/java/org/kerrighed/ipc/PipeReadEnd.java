package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.PipeService;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * The reading end of a pipe or FIFO, open on this node. {@link #read} blocks (the thread sleeps until a writer
 * or a failure wakes it) while the pipe is empty and some writer is open, and returns -1 (EOF) once it is empty
 * and every writer is closed or died with its node. Thread-safe (reads on one end are serialised).
 */
public final class PipeReadEnd implements ReadableByteChannel {
    private final PipeService.End end;

    PipeReadEnd(PipeService.End end) {
        this.end = end;
    }

    /**
     * Reads at least one byte into {@code dst}, as many as are buffered (up to its remaining room).
     *
     * @return bytes read, or -1 at EOF
     * @throws java.io.InterruptedIOException when the thread is interrupted while waiting (its status is kept)
     * @throws java.nio.channels.ClosedChannelException when this end is closed
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        return end.read(dst);
    }

    /** A handle naming this end's pipe, to open a reading end on another node ({@link Ipc#openPipeEnd}). */
    public PipeEndHandle handle() {
        return end.handle();
    }

    /** This end as an {@link InputStream} (closing the stream closes the end). */
    public InputStream inputStream() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] b = new byte[1];
                int n = read(b, 0, 1);
                return n < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                return end.read(ByteBuffer.wrap(b, off, len));
            }

            @Override
            public void close() {
                end.close();
            }
        };
    }

    @Override
    public boolean isOpen() {
        return end.isOpen();
    }

    /** Closes this end; when it was the last reader, writers get {@link BrokenPipeException}. Idempotent. */
    @Override
    public void close() {
        end.close();
    }

    @Override
    public String toString() {
        return end.toString();
    }
}
