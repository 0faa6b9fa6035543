package org.kerrighed.ipc.internal;

import org.kerrighed.kddm.access.IpcPerm;

import java.util.List;

/** The messages and the KDDM object of pipes and FIFOs (wire types 5130-5149). */
public final class PipeWire {
    private PipeWire() {
    }

    /** An open end: its node and its id there. */
    public record EndRef(int node, long end, boolean read) {
    }

    /**
     * A pipe's directory entry (KDDM set {@link ChannelsService#PIPE_INFO_SET}, replicated): its open ends, the node
     * whose buffer holds its bytes ({@code bufferNode}: a reader's node, -1 before the first reader), and, for a
     * FIFO, its name and permissions. {@code version} grows with every change; {@code openWaiters} are writers
     * waiting for a first reader.
     *
     * <p>A FIFO's name is an entry of its own, under the name's id: no ends, and {@code fifoPipe} names the pipe
     * (a random id) that the FIFO is now. Unlinking frees the name and marks the pipe {@code unlinked} (a
     * tombstone): its open ends keep working, nobody opens it by name any more, and its entry goes when its last
     * end closes. So a FIFO made again under the name is a new, empty pipe.
     */
    public record PipeInfo(long id, String name, IpcPerm perm, int capacity, int bufferNode, long version,
                           List<EndRef> ends, boolean everReader, boolean everWriter, List<WaiterRef> openWaiters,
                           long fifoPipe, boolean unlinked) {
        int count(boolean read) {
            int n = 0;
            for (EndRef e : ends) {
                n += e.read() == read ? 1 : 0;
            }
            return n;
        }

        Counts counts() {
            return new Counts(id, version, count(true), count(false), everReader, everWriter, unlinked && ends.isEmpty(),
                    ends);
        }

        PipeInfo with(int buffer, List<EndRef> newEnds, boolean r, boolean w, List<WaiterRef> waiters) {
            return new PipeInfo(id, name, perm, capacity, buffer, version + 1, newEnds, r, w, waiters, fifoPipe,
                    unlinked);
        }

        /** The same ends, the buffer on {@code buffer}: the same version (another outcome of one change). */
        PipeInfo withBuffer(int buffer) {
            return new PipeInfo(id, name, perm, capacity, buffer, version, ends, everReader, everWriter, openWaiters,
                    fifoPipe, unlinked);
        }

        /** This pipe, unlinked from its FIFO name (a tombstone until its last end closes). */
        PipeInfo unlink() {
            return new PipeInfo(id, name, perm, capacity, bufferNode, version + 1, ends, everReader, everWriter,
                    openWaiters, fifoPipe, true);
        }
    }

    public static final int WRITE = 0;
    public static final int READ = 1;
    /** Copy the buffered bytes without taking them. */
    public static final int PEEK = 2;

    /**
     * A write of {@code data} or a read of up to {@code max} bytes at the buffer node; {@code waiter} sleeps if it must
     * wait. {@code end} is the sending end's id on the caller's node and {@code seq} numbers the end's operations
     * (from 1; 0 for a {@link #PEEK}): the retries of one operation carry the same number, and the buffer applies it
     * at most once (a repeat gets the reply it had).
     */
    public record PipeOp(long pipe, int kind, byte[] data, int max, WaiterRef waiter, long end, long seq) {
    }

    public static final int OK = 0;
    /** Full (write) or empty (read): the waiter was registered and will be woken. */
    public static final int WAIT = 1;
    public static final int EOF = 2;
    public static final int BROKEN = 3;
    /** This node does not hold the pipe's buffer (any more): read the info again. */
    public static final int MOVED = 4;

    public record PipeReply(int status, byte[] data) {
    }

    /**
     * The open ends' counts, as of info {@code version}, told to the buffer node. {@code gone}: the pipe no longer
     * exists (an unlinked FIFO's last end closed) or the receiver does not hold its buffer: drop any copy of it.
     * {@code ends}: the open ends (the buffer forgets the last operations of the others).
     */
    public record Counts(long pipe, long version, int readers, int writers, boolean everReader, boolean everWriter,
                         boolean gone, List<EndRef> ends) {
    }

    /**
     * The buffer moves to the receiver, with its bytes and, in step, the last operation each end had applied there:
     * the end ({@code doneEnds}), its number ({@code doneSeqs}) and its reply ({@code doneReplies}).
     */
    public record Adopt(long pipe, int capacity, byte[] data, Counts counts, List<EndRef> doneEnds, long[] doneSeqs,
                        List<PipeReply> doneReplies) {
        /** An empty buffer, nothing applied yet. */
        Adopt(long pipe, int capacity, Counts counts) {
            this(pipe, capacity, new byte[0], counts, List.of(), new long[0], List.of());
        }
    }
}
