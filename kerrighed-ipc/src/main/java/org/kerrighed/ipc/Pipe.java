package org.kerrighed.ipc;

/**
 * Both ends of a new pipe ({@link Ipc#pipe()}), open on the node that made it, as {@code pipe(2)} gives.
 * Pass {@link PipeReadEnd#handle()} or {@link PipeWriteEnd#handle()} to other nodes to open ends there.
 */
public record Pipe(PipeReadEnd reader, PipeWriteEnd writer) implements AutoCloseable {
    /** Closes both ends. */
    @Override
    public void close() {
        reader.close();
        writer.close();
    }
}
