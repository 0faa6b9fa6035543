package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.PipeService;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * The writing end of a pipe or FIFO, open on this node. {@link #write} sends the bytes straight to the node
 * holding the pipe's buffer (a reader's node) and blocks while the buffer is full; the bytes of one write of up to
 * {@value org.kerrighed.ipc.internal.PipeService#PIPE_BUF} bytes are never interleaved with other writers'. A write
 * when every reader is closed (or died with its node) throws {@link BrokenPipeException}. Thread-safe (writes on
 * one end are serialised).
 */
public final class PipeWriteEnd implements WritableByteChannel {
    private final PipeService.End end;

    PipeWriteEnd(PipeService.End end) {
        this.end = end;
    }

    /**
     * Writes every remaining byte of {@code src}.
     *
     * @throws BrokenPipeException when no reader is left
     * @throws java.io.InterruptedIOException when interrupted while waiting for room ({@code bytesTransferred}
     *                                        says how many were written)
     */
    @Override
    public int write(ByteBuffer src) throws IOException {
        return end.write(src);
    }

    /** A handle naming this end's pipe, to open a writing end on another node ({@link Ipc#openPipeEnd}). */
    public PipeEndHandle handle() {
        return end.handle();
    }

    /** This end as an {@link OutputStream} (closing the stream closes the end; unbuffered). */
    public OutputStream outputStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                end.write(ByteBuffer.wrap(new byte[]{(byte) b}));
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                end.write(ByteBuffer.wrap(b, off, len));
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

    /** Closes this end; when it was the last writer, readers get EOF once the buffer is drained. Idempotent. */
    @Override
    public void close() {
        end.close();
    }

    @Override
    public String toString() {
        return end.toString();
    }
}
