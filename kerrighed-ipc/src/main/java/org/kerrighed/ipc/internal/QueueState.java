package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.QueueWire.Memo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A queue's items and bookkeeping, as the home and its backup both keep them: every change is a deterministic
 * operation the home applies and then sends to the backup, which applies it to its copy in the same order.
 * Not thread-safe (the owner synchronizes).
 */
final class QueueState {
    final int capacity;
    final ArrayDeque<Object> items = new ArrayDeque<>();
    /** Producer stream -> last sequence number applied. */
    final HashMap<Long, Long> streams = new HashMap<>();
    /** (node, delivery) -> items delivered but not yet acknowledged, in delivery order. */
    final LinkedHashMap<Key, List<Object>> memos = new LinkedHashMap<>();
    /** Items in {@link #memos}: they count toward the capacity until acknowledged. */
    int memoItems;
    /** Operations applied (the next {@code Repl.op} expected is {@code op + 1}). */
    long op;

    record Key(int node, long delivery) {
    }

    QueueState(int capacity) {
        this.capacity = capacity;
    }

    /** Applies a batch; returns how many of its items (a prefix) are now in the queue, counting ones applied before. */
    int append(long stream, long firstSeq, List<Object> batch) {
        long last = streams.getOrDefault(stream, firstSeq - 1);
        int done = (int) Math.max(0, Math.min(batch.size(), last - firstSeq + 1));
        int i = done;
        while (i < batch.size() && items.size() + memoItems < capacity) {
            items.addLast(batch.get(i++));
        }
        if (i > done) {
            streams.put(stream, firstSeq + i - 1);
        }
        return i;
    }

    /** Moves up to {@code max} head items to the memo of {@code (node, delivery)}; returns them. */
    List<Object> deliver(int node, long delivery, int max) {
        List<Object> out = new ArrayList<>(Math.min(max, items.size()));
        while (out.size() < max && !items.isEmpty()) {
            out.add(items.pollFirst());
        }
        if (!out.isEmpty()) {
            memos.put(new Key(node, delivery), out);
            memoItems += out.size();
        }
        return out;
    }

    void ack(int node, long delivery) {
        List<Object> l = memos.remove(new Key(node, delivery));
        if (l != null) {
            memoItems -= l.size();
        }
    }

    /** Puts a delivery's items from index {@code keep} on back at the head (the consumer gave them up or died). */
    boolean requeue(int node, long delivery, int keep) {
        List<Object> l = memos.remove(new Key(node, delivery));
        if (l == null) {
            return false;
        }
        memoItems -= l.size();
        for (int i = l.size() - 1; i >= Math.max(0, keep); i--) {
            items.addFirst(l.get(i));
        }
        return true;
    }

    /** Requeues every delivery of a dead node; returns how many items came back. */
    int nodeGone(int node) {
        List<Key> keys = new ArrayList<>();
        for (Key k : memos.keySet()) {
            if (k.node() == node) {
                keys.add(k);
            }
        }
        int n = 0;
        for (int i = keys.size() - 1; i >= 0; i--) {
            n += memos.get(keys.get(i)).size();
            requeue(node, keys.get(i).delivery(), 0);
        }
        return n;
    }

    int clear() {
        int n = items.size();
        items.clear();
        return n;
    }

    /** Index of the first item equal to {@code o}, or -1. */
    int indexOf(Object o) {
        int i = 0;
        for (Object x : items) {
            if (Objects.equals(x, o)) {
                return i;
            }
            i++;
        }
        return -1;
    }

    void removeAt(int index) {
        Iterator<Object> it = items.iterator();
        for (int i = 0; it.hasNext(); i++) {
            it.next();
            if (i == index) {
                it.remove();
                return;
            }
        }
    }

    List<Object> memoFor(int node, long delivery) {
        return memos.get(new Key(node, delivery));
    }

    /** Applies a replicated operation (at the backup). */
    void apply(QueueWire.Repl r) {
        switch (r.kind()) {
            case QueueWire.R_APPEND -> append(r.a(), r.b(), r.items());
            case QueueWire.R_DELIVER -> deliver(r.node(), r.a(), (int) r.b());
            case QueueWire.R_ACK -> r.items().forEach(d -> ack(r.node(), (Long) d));
            case QueueWire.R_REQUEUE -> requeue(r.node(), r.a(), (int) r.b());
            case QueueWire.R_NODE_GONE -> nodeGone(r.node());
            case QueueWire.R_CLEAR -> clear();
            case QueueWire.R_REMOVE_AT -> removeAt((int) r.a());
            default -> throw new IllegalArgumentException("unknown queue operation " + r.kind());
        }
        op = r.op();
    }

    QueueWire.Snapshot snapshot(long queue) {
        long[] s = new long[streams.size() * 2];
        int i = 0;
        for (Map.Entry<Long, Long> e : streams.entrySet()) {
            s[i++] = e.getKey();
            s[i++] = e.getValue();
        }
        List<Memo> m = new ArrayList<>();
        memos.forEach((k, v) -> m.add(new Memo(k.node(), k.delivery(), new ArrayList<>(v))));
        return new QueueWire.Snapshot(queue, op, new ArrayList<>(items), s, m);
    }

    static QueueState restore(int capacity, QueueWire.Snapshot s) {
        QueueState q = new QueueState(capacity);
        q.items.addAll(s.items());
        for (int i = 0; i + 1 < s.streams().length; i += 2) {
            q.streams.put(s.streams()[i], s.streams()[i + 1]);
        }
        for (Memo m : s.memos()) {
            q.memos.put(new Key(m.node(), m.delivery()), new ArrayList<>(m.items()));
            q.memoItems += m.items().size();
        }
        q.op = s.op();
        return q;
    }
}
