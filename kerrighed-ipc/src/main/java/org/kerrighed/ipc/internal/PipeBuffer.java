package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.PipeWire.Counts;
import org.kerrighed.ipc.internal.PipeWire.PipeReply;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A pipe's bytes, on the node of one of its readers: a bounded ring, the open ends' counts (as told by
 * {@link Counts}) and the sleepers waiting for bytes or room. Writes are all-or-nothing (the writer sends chunks
 * no larger than the capacity), so the bytes of one chunk are never interleaved with another writer's.
 * Thread-safe (its monitor).
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

    PipeBuffer(long pipe, int capacity, Counts counts, Sleepers sleepers) {
        this.pipe = pipe;
        this.capacity = capacity;
        this.ring = new byte[capacity];
        this.counts = counts;
        this.sleepers = sleepers;
    }

    synchronized PipeReply write(byte[] data, WaiterRef waiter) {
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
        return new PipeReply(PipeWire.OK, null);
    }

    synchronized PipeReply read(int max, WaiterRef waiter) {
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
        return new PipeReply(PipeWire.OK, out);
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

    /** New counts (ignored when older than the ones known); wakes everyone to re-check. */
    synchronized void counts(Counts c) {
        if (c.version() > counts.version()) {
            counts = c;
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
