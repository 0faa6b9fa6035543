package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.PipeWire.Adopt;
import org.kerrighed.ipc.internal.PipeWire.Counts;
import org.kerrighed.ipc.internal.PipeWire.EndRef;
import org.kerrighed.ipc.internal.PipeWire.PipeReply;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A pipe's bytes, on the node of one of its readers: a bounded ring, the open ends' counts (as told by
 * {@link Counts}) and the sleepers waiting for bytes or room. Writes are all-or-nothing (the writer sends chunks
 * no larger than the capacity), so the bytes of one chunk are never interleaved with another writer's.
 *
 * <p>Each end numbers its writes and reads and retries one with the same number when its call failed without an
 * answer (it may or may not have been applied). The buffer remembers, per end, the last one it applied and its
 * reply (for a read, the bytes it took), and answers a repeat with that reply instead of applying it again. That
 * memory moves with the bytes ({@link #adoption}), and an end's share of it goes when the end closes
 * ({@link #counts}). Thread-safe (its monitor).
 */
final class PipeBuffer {
    private final long pipe;
    private final Sleepers sleepers;
    final int capacity;
    private final byte[] ring;
    private int head;
    private int count;
    private Counts counts;
    private boolean moved;
    private final LinkedHashSet<WaiterRef> waiters = new LinkedHashSet<>();
    /** Per end: the last operation applied here. */
    private final Map<EndRef, Done> done = new HashMap<>();

    /** Operation {@code seq} of an end, applied with reply {@code reply}. */
    private record Done(long seq, PipeReply reply) {
    }

    PipeBuffer(long pipe, int capacity, Counts counts, Sleepers sleepers) {
        this.pipe = pipe;
        this.capacity = capacity;
        this.ring = new byte[capacity];
        this.counts = counts;
        this.sleepers = sleepers;
    }

    /** Operation {@code seq} of end {@code by} (0: not numbered), a write of {@code data}. */
    synchronized PipeReply write(EndRef by, long seq, byte[] data, WaiterRef waiter) {
        PipeReply again = repeat(by, seq);
        if (again != null) {
            return again;
        }
        if (moved) {
            return new PipeReply(PipeWire.MOVED, null);
        }
        if (counts.readers() == 0 && counts.everReader()) {
            return new PipeReply(PipeWire.BROKEN, null);
        }
        if (capacity - count < data.length) {
            if (waiter != null) {
                waiters.add(waiter);
            }
            return new PipeReply(PipeWire.WAIT, null);
        }
        int tail = (head + count) % capacity;
        int first = Math.min(data.length, capacity - tail);
        System.arraycopy(data, 0, ring, tail, first);
        System.arraycopy(data, first, ring, 0, data.length - first);
        count += data.length;
        wakeAll();
        return applied(by, seq, new PipeReply(PipeWire.OK, null));
    }

    /** Operation {@code seq} of end {@code by} (0: not numbered), a read of up to {@code max} bytes. */
    synchronized PipeReply read(EndRef by, long seq, int max, WaiterRef waiter) {
        PipeReply again = repeat(by, seq);
        if (again != null) {
            return again;
        }
        if (moved) {
            return new PipeReply(PipeWire.MOVED, null);
        }
        if (count == 0) {
            if (counts.writers() == 0 && counts.everWriter()) {
                return new PipeReply(PipeWire.EOF, null);
            }
            if (waiter != null) {
                waiters.add(waiter);
            }
            return new PipeReply(PipeWire.WAIT, null);
        }
        byte[] out = take(Math.min(max, count));
        wakeAll();
        return applied(by, seq, new PipeReply(PipeWire.OK, out));
    }

    /**
     * The reply to a repeat of the last operation {@code by} had applied here; null for a new one (or a buffer that
     * moved out: it answers MOVED, and its memory went with it). Only applied operations are remembered: one that
     * was answered WAIT, EOF, BROKEN or MOVED changed nothing and is simply tried again.
     */
    private PipeReply repeat(EndRef by, long seq) {
        Done d = seq == 0 || moved ? null : done.get(by);
        if (d == null || seq > d.seq()) {
            return null;
        }
        // an older one: a late copy of a request the end has had its answer to (it has gone on): apply nothing
        return seq == d.seq() ? d.reply() : new PipeReply(PipeWire.MOVED, null);
    }

    private PipeReply applied(EndRef by, long seq, PipeReply r) {
        if (seq != 0) {
            done.put(by, new Done(seq, r));
        }
        return r;
    }

    private byte[] take(int n) {
        byte[] out = new byte[n];
        int first = Math.min(n, capacity - head);
        System.arraycopy(ring, head, out, 0, first);
        System.arraycopy(ring, 0, out, first, n - first);
        head = (head + n) % capacity;
        count -= n;
        return out;
    }

    /**
     * New counts (ignored when older than the ones known); wakes everyone to re-check. The ends no longer open are
     * forgotten.
     */
    synchronized void counts(Counts c) {
        if (c.version() > counts.version()) {
            counts = c;
            done.keySet().retainAll(new HashSet<>(c.ends()));
            wakeAll();
        }
    }

    /** Stops serving (the buffer moves): returns the bytes left and wakes everyone (they will get MOVED). */
    synchronized byte[] moveOut() {
        moved = true;
        byte[] left = take(count);
        wakeAll();
        return left;
    }

    /** Serves again after a move that failed, with the bytes {@link #moveOut} returned: nothing is lost. */
    synchronized void moveBack(byte[] data) {
        fill(data);
        moved = false;
        wakeAll();
    }

    /** True once {@link #moveOut} ran (and no {@link #moveBack}): this copy serves nothing. */
    synchronized boolean isMoved() {
        return moved;
    }

    /** A copy of the buffered bytes, in order, without taking them (a checkpoint saves them). */
    synchronized byte[] peek() {
        byte[] out = new byte[count];
        int first = Math.min(count, capacity - head);
        System.arraycopy(ring, head, out, 0, first);
        System.arraycopy(ring, 0, out, first, count - first);
        return out;
    }

    /**
     * What a hand-over sends after {@link #moveOut}: the bytes it returned ({@code data}), the new buffer's
     * {@code counts} and the ends' last applied operations, which a retry may repeat at the new buffer.
     */
    synchronized Adopt adoption(byte[] data, Counts counts) {
        List<EndRef> ends = new ArrayList<>(done.keySet());
        long[] seqs = new long[ends.size()];
        List<PipeReply> replies = new ArrayList<>();
        for (int i = 0; i < seqs.length; i++) {
            Done d = done.get(ends.get(i));
            seqs[i] = d.seq();
            replies.add(d.reply());
        }
        return new Adopt(pipe, capacity, data, counts, ends, seqs, replies);
    }

    /** Takes the ends' last applied operations that came with a hand-over ({@link #adoption}). */
    synchronized void adopted(Adopt a) {
        for (int i = 0; i < a.doneSeqs().length; i++) {
            done.put(a.doneEnds().get(i), new Done(a.doneSeqs()[i], a.doneReplies().get(i)));
        }
    }

    /** Puts bytes received with a move. */
    synchronized void fill(byte[] data) {
        System.arraycopy(data, 0, ring, 0, data.length);
        head = 0;
        count = data.length;
    }

    synchronized int available() {
        return count;
    }

    synchronized void wakeAll() {
        if (waiters.isEmpty()) {
            return;
        }
        List<WaiterRef> w = new ArrayList<>(waiters);
        waiters.clear();
        for (WaiterRef r : w) {
            sleepers.wake(r, 1, 0);
        }
    }

    @Override
    public synchronized String toString() {
        return "pipe " + pipe + " buffer: " + count + "/" + capacity + " bytes, " + counts;
    }
}
