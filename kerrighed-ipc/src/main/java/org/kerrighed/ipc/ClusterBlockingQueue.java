package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.QueueClient;
import org.kerrighed.ipc.internal.QueueWire;

import java.util.AbstractQueue;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A cluster-wide {@link BlockingQueue}, found by name from any node ({@link Ipc#queue}), bounded or not
 * ({@link Integer#MAX_VALUE}), with the JDK's semantics: {@code offer} refuses when full, {@code put} and timed
 * {@code offer} wait for room, {@code poll} answers at once, {@code take} and timed {@code poll} wait for an item;
 * null elements throw {@link NullPointerException}; waits answer an interrupt with {@link InterruptedException}
 * (clearing the interrupt status) and leave the queue unchanged.
 *
 * <p><b>Where items are.</b> The items live on the queue's <em>home</em> node (the node that created it), mirrored
 * on a backup node. A producer's items go to the home in batches (the node's pending offers travel together, one
 * call in flight per node and queue); a consumer that finds the queue empty registers at the home, which pushes
 * the next item straight to it. No object moves back and forth per item.
 *
 * <p><b>Ordering.</b> Items of one producer thread are taken in the order it offered them; items of different
 * producers interleave.
 *
 * <p><b>Failures.</b> An offer returns once the item is on the home and its backup: when the home dies the backup
 * takes over with every acknowledged item. An item being taken when the home dies may, in a narrow window, be
 * delivered twice; items delivered to a node that dies before acknowledging them are given back to the queue.
 *
 * <p><b>Inspection.</b> {@code size}, {@code contains}, {@code peek} ask the home. {@link #iterator()} and
 * {@link #toArray()} work on a snapshot of the items taken at the call (weakly consistent: never throws
 * {@code ConcurrentModificationException}; {@code Iterator.remove} removes the first element equal to the
 * returned one). Thread-safe.
 *
 * @param <E> the element type (registered in the cluster's type registry)
 */
public final class ClusterBlockingQueue<E> extends AbstractQueue<E> implements BlockingQueue<E> {
    private final QueueClient client;
    private final Class<E> type;

    ClusterBlockingQueue(QueueClient client, Class<E> type) {
        this.client = client;
        this.type = type;
    }

    /** The queue's name. */
    public String name() {
        return client.name();
    }

    /** The queue's capacity ({@link Integer#MAX_VALUE}: unbounded). */
    public int capacity() {
        return client.capacity();
    }

    /** The node that holds the items now (as this node last learned it). */
    public int home() {
        return client.home();
    }

    @Override
    public boolean offer(E e) {
        try {
            return client.offer(e, 0, false);
        } catch (InterruptedException ie) {
            throw new AssertionError(ie);          // offer without wait does not sleep
        }
    }

    @Override
    public void put(E e) throws InterruptedException {
        client.offer(e, Long.MAX_VALUE, true);
    }

    @Override
    public boolean offer(E e, long timeout, TimeUnit unit) throws InterruptedException {
        return client.offer(e, deadline(timeout, unit), true);
    }

    @Override
    public E take() throws InterruptedException {
        return type.cast(client.takeOne(Long.MAX_VALUE, true));
    }

    @Override
    public E poll(long timeout, TimeUnit unit) throws InterruptedException {
        if (timeout <= 0) {
            return poll();
        }
        return type.cast(client.takeOne(deadline(timeout, unit), true));
    }

    @Override
    public E poll() {
        try {
            return type.cast(client.takeOne(0, false));
        } catch (InterruptedException ie) {
            throw new AssertionError(ie);
        }
    }

    @Override
    public E peek() {
        return first(client.inspect(QueueWire.INSPECT_PEEK, null).items());
    }

    @Override
    public int size() {
        return (int) client.inspect(QueueWire.INSPECT_SIZE, null).value();
    }

    @Override
    public int remainingCapacity() {
        return capacity() == Integer.MAX_VALUE ? Integer.MAX_VALUE
                : (int) client.inspect(QueueWire.INSPECT_REMAINING, null).value();
    }

    @Override
    public boolean contains(Object o) {
        return o != null && client.inspect(QueueWire.INSPECT_CONTAINS, o).value() != 0;
    }

    @Override
    public boolean remove(Object o) {
        return o != null && client.inspect(QueueWire.INSPECT_REMOVE, o).value() != 0;
    }

    @Override
    public void clear() {
        client.inspect(QueueWire.INSPECT_CLEAR, null);
    }

    @Override
    public int drainTo(Collection<? super E> c) {
        return drainTo(c, Integer.MAX_VALUE);
    }

    @Override
    public int drainTo(Collection<? super E> c, int maxElements) {
        if (c == null) {
            throw new NullPointerException("drainTo: null collection");
        }
        if (c == this) {
            throw new IllegalArgumentException("drainTo: a queue cannot be drained into itself");
        }
        int n = 0;
        while (n < maxElements) {
            int ask = Math.min(maxElements - n, 4096);
            List<Object> got = client.drain(ask);
            for (Object o : got) {
                c.add(type.cast(o));
            }
            n += got.size();
            if (got.size() < ask) {
                break;
            }
        }
        return n;
    }

    /** A weakly consistent iterator over a snapshot of the items (see the class comment). */
    @Override
    public Iterator<E> iterator() {
        List<Object> snap = client.inspect(QueueWire.INSPECT_ITEMS, null).items();
        return new Iterator<>() {
            private int next;
            private E last;

            @Override
            public boolean hasNext() {
                return next < snap.size();
            }

            @Override
            public E next() {
                if (next >= snap.size()) {
                    throw new NoSuchElementException();
                }
                last = type.cast(snap.get(next++));
                return last;
            }

            @Override
            public void remove() {
                if (last == null) {
                    throw new IllegalStateException("next() not called, or remove() already called");
                }
                ClusterBlockingQueue.this.remove(last);
                last = null;
            }
        };
    }

    @Override
    public Object[] toArray() {
        return client.inspect(QueueWire.INSPECT_ITEMS, null).items().toArray();
    }

    @Override
    public <T> T[] toArray(T[] a) {
        return client.inspect(QueueWire.INSPECT_ITEMS, null).items().toArray(a);
    }

    @Override
    public String toString() {
        return "queue '" + name() + "' " + super.toString();
    }

    private E first(List<Object> items) {
        return items.isEmpty() ? null : type.cast(items.getFirst());
    }

    private static long deadline(long timeout, TimeUnit unit) {
        long now = System.nanoTime();
        long n = unit.toNanos(Math.max(0, timeout));
        return n >= Long.MAX_VALUE - now ? Long.MAX_VALUE - 1 : now + n;
    }
}
