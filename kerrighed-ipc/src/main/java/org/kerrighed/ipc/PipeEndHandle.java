package org.kerrighed.ipc;

import java.io.Serializable;

/**
 * A pipe or FIFO end as a value: which pipe and which direction. Small and serializable (registered for Kryo):
 * put it in an RPC message or a KDDM object, and {@linkplain Ipc#openPipeEnd open} it on another node, which gets
 * a new end of the same pipe with a direct path to its peer. A handle is not itself an open end: open it on the
 * receiving node before the sending node closes its end, or the pipe may meanwhile see its last reader (or
 * writer) gone.
 *
 * @param pipe    the pipe's id
 * @param readEnd true for the reading end
 */
public record PipeEndHandle(long pipe, boolean readEnd) implements Serializable {
}
