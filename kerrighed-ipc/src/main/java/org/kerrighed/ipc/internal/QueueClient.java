package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.QueueWire.Ack;
import org.kerrighed.ipc.internal.QueueWire.Append;
import org.kerrighed.ipc.internal.QueueWire.AppendReply;
import org.kerrighed.ipc.internal.QueueWire.Inspect;
import org.kerrighed.ipc.internal.QueueWire.InspectReply;
import org.kerrighed.ipc.internal.QueueWire.QueueMeta;
import org.kerrighed.ipc.internal.QueueWire.Take;
import org.kerrighed.ipc.internal.QueueWire.TakeReply;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RpcTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * One node's access to one cluster queue: its outgoing buffer (items offered by the node's threads, sent to the
 * home in batches by one call in flight at a time), its consumers' deliveries, and where the home is. The
 * calling threads block here (parked) until the home answers or pushes. Thread-safe.
 */
public final class QueueClient {
    private static final Logger log = LoggerFactory.getLogger(QueueClient.class);
    /** Most items in one batch sent to the home. */
    static final int MAX_BATCH = 512;
    /** How long an operation keeps trying when the home does not answer (failures, takeovers) before failing. */
    static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Kddm kddm;
    private final Sleepers sleepers;
    private final QueueService service;
    private final KddmSet<QueueMeta> metas;
    private final long id;
    private final String name;
    private final Class<?> elementType;
    private final int capacity;
    private volatile int home;

    // outgoing buffer
    private final long stream = ThreadLocalRandom.current().nextLong();
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private boolean inFlight;
    private long nextSeq = 1;

    // deliveries
    private final AtomicLong deliveries = new AtomicLong();
    private final Map<Long, Slot> slots = new ConcurrentHashMap<>();

    QueueClient(Kddm kddm, Sleepers sleepers, QueueService service, KddmSet<QueueMeta> metas, long id,
                QueueMeta meta, Class<?> elementType) {
        this.kddm = kddm;
        this.sleepers = sleepers;
        this.service = service;
        this.metas = metas;
        this.id = id;
        this.name = meta.name();
        this.elementType = elementType;
        this.capacity = meta.capacity();
        this.home = meta.home();
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return capacity;
    }

    public Class<?> elementType() {
        return elementType;
    }

    /** The node holding the items now, as this node last learned it. */
    public int home() {
        return home;
    }

    private record Pending(Object item, long waiter, CompletableFuture<Boolean> done) {
    }

    private static final class Slot {
        final WaiterRef ref;
        volatile List<Object> items;

        Slot(WaiterRef ref) {
            this.ref = ref;
        }
    }

    // ------------------------------------------------------------------ offer

    /**
     * Offers {@code e}; with {@code wait}, sleeps while the queue is full until {@code deadline} (nanoTime,
     * Long.MAX_VALUE: none). Returns once the home (and its backup) have the item, or it was refused.
     */
    public boolean offer(Object e, long deadline, boolean wait) throws InterruptedException {
        check(e);
        if (!wait) {
            return join(submit(e, 0));
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        try (Sleepers.Sleeper s = sleepers.sleeper()) {
            while (true) {
                if (join(submit(e, s.ref().id()))) {
                    return true;
                }
                if (!s.await(deadline)) {
                    return false;
                }
            }
        }
    }

    private void check(Object e) {
        if (e == null) {
            throw new NullPointerException("queue '" + name + "' does not accept null elements");
        }
        if (!elementType.isInstance(e)) {
            throw new ClassCastException("queue '" + name + "' holds " + elementType.getName() + ", not "
                    + e.getClass().getName());
        }
    }

    private static boolean join(CompletableFuture<Boolean> f) {
        try {
            return f.join();
        } catch (CompletionException ce) {
            if (ce.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw ce;
        }
    }

    private CompletableFuture<Boolean> submit(Object e, long waiter) {
        Pending p = new Pending(e, waiter, new CompletableFuture<>());
        boolean send;
        synchronized (this) {
            pending.addLast(p);
            send = !inFlight;
            inFlight = true;
        }
        if (send) {
            sendNext();
        }
        return p.done();
    }

    /** Sends the next batch of the outgoing buffer (only the one in-flight sender runs this). */
    private void sendNext() {
        List<Pending> batch = new ArrayList<>();
        synchronized (this) {
            while (batch.size() < MAX_BATCH && !pending.isEmpty()) {
                batch.add(pending.pollFirst());
            }
            if (batch.isEmpty()) {
                inFlight = false;
                return;
            }
        }
        List<Object> items = new ArrayList<>(batch.size());
        long[] waiters = new long[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            items.add(batch.get(i).item());
            waiters[i] = batch.get(i).waiter();
        }
        sendBatch(batch, new Append(id, kddm.nodeId(), stream, nextSeq, items, waiters), System.nanoTime(), 0);
    }

    private void sendBatch(List<Pending> batch, Append a, long start, int attempt) {
        CompletableFuture<AppendReply> f;
        try {
            int node = home;
            f = node == kddm.nodeId() ? service.append(a) : kddm.rpc().call(node, QueueService.APPEND, a);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((r, ex) -> {
            if (ex == null && r.status() == QueueWire.OK) {
                nextSeq = a.firstSeq() + r.accepted();
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).done().complete(i < r.accepted());
                }
                sendNext();
            } else if (ex != null && !retriable(ex) || System.nanoTime() - start > RETRY_NANOS) {
                RuntimeException err = ex != null ? unwrap(ex)
                        : new IllegalStateException("queue '" + name + "': no home found within 30 s");
                batch.forEach(p -> p.done().completeExceptionally(err));
                sendNext();
            } else {
                Thread.ofVirtual().name("ipc-queue-retry").start(() -> {
                    refreshHome(attempt);
                    sendBatch(batch, a, start, attempt + 1);
                });
            }
        });
    }

    // ------------------------------------------------------------------ take

    /**
     * Takes up to {@code max} items; with {@code wait}, sleeps while the queue is empty until {@code deadline}.
     * Returns an empty list when none came.
     */
    public List<Object> take(int max, long deadline, boolean wait) throws InterruptedException {
        long d = deliveries.incrementAndGet();
        int self = kddm.nodeId();
        if (!wait) {
            TakeReply r = call(n -> takeAt(n, new Take(id, self, d, max, false)), r1 -> r1.status() == QueueWire.NOT_HOME);
            if (!r.items().isEmpty()) {
                ack(d);
            }
            return r.items();
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        try (Sleepers.Sleeper s = sleepers.sleeper()) {
            Slot slot = new Slot(s.ref());
            slots.put(d, slot);
            try {
                while (true) {
                    TakeReply r = call(n -> takeAt(n, new Take(id, self, d, max, true)),
                            r1 -> r1.status() == QueueWire.NOT_HOME);
                    if (r.status() == QueueWire.OK && !r.items().isEmpty()) {
                        ack(d);
                        return r.items();
                    }
                    while (true) {                 // parked at the home: sleep until it pushes
                        List<Object> got = slot.items;
                        if (got != null) {
                            ack(d);
                            return got;
                        }
                        boolean woke;
                        try {
                            woke = s.await(deadline);
                        } catch (InterruptedException ie) {
                            cancel(d);
                            throw ie;
                        }
                        got = slot.items;
                        if (got != null) {
                            ack(d);
                            return got;
                        }
                        if (!woke) {
                            cancel(d);
                            return List.of();      // anything pushed meanwhile went back to the queue
                        }
                        if (s.code() == Sleepers.RECHECK) {
                            break;                 // a node failed: ask again (the home may have changed)
                        }
                    }
                }
            } finally {
                slots.remove(d);
            }
        }
    }

    private CompletableFuture<TakeReply> takeAt(int node, Take t) {
        return node == kddm.nodeId() ? service.take(t) : kddm.rpc().call(node, QueueService.TAKE, t);
    }

    /** Gives up delivery {@code d}: the home forgets the parked request and requeues what it was given. */
    private void cancel(long d) {
        call(n -> takeAt(n, new Take(id, kddm.nodeId(), d, -1, false)), r -> r.status() == QueueWire.NOT_HOME);
    }

    private void ack(long d) {
        Ack a = new Ack(id, kddm.nodeId(), new long[]{d});
        int node = home;
        try {
            if (node == kddm.nodeId()) {
                service.ack(a);
            } else {
                kddm.rpc().send(node, QueueService.ACK, a);
            }
        } catch (RuntimeException e) {
            log.debug("queue '{}': ack of delivery {} not sent: {}", name, d, e.toString());
        }
    }

    /** A push from the home for delivery {@code d}; false when nobody waits for it any more. */
    boolean pushed(long d, List<Object> items) {
        Slot s = slots.get(d);
        if (s == null) {
            return false;
        }
        if (s.items == null) {
            s.items = items;
            sleepers.wake(s.ref, 1, 0);
        }
        return true;
    }

    // ------------------------------------------------------------------ inspections

    public InspectReply inspect(int what, Object arg) {
        Inspect i = new Inspect(id, what, arg);
        return call(n -> n == kddm.nodeId() ? service.inspect(i) : kddm.rpc().call(n, QueueService.INSPECT, i),
                r -> r.status() == QueueWire.NOT_HOME);
    }

    // ------------------------------------------------------------------ finding the home

    private <R> R call(IntFunction<CompletableFuture<R>> call, java.util.function.Predicate<R> notHome) {
        long start = System.nanoTime();
        for (int attempt = 0; ; attempt++) {
            Throwable failure = null;
            try {
                R r = call.apply(home).join();
                if (!notHome.test(r)) {
                    return r;
                }
            } catch (CompletionException | LinkClosedException | RpcTimeoutException e) {
                if (!retriable(e)) {
                    throw unwrap(e);
                }
                failure = e;
            }
            if (System.nanoTime() - start > RETRY_NANOS) {
                throw new IllegalStateException("queue '" + name + "': no home answered within 30 s", failure);
            }
            refreshHome(attempt);
        }
    }

    private static boolean retriable(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return c instanceof LinkClosedException || c instanceof RpcTimeoutException;
    }

    private static RuntimeException unwrap(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return c instanceof RuntimeException re ? re : new IllegalStateException(c);
    }

    /**
     * Learns the home again from the queue's meta after a failure or a "not home" answer: the home if alive,
     * else its backup (which takes over when asked), else (both dead) this node restarts the queue empty.
     */
    void refreshHome(int attempt) {
        if (attempt > 0) {
            try {
                Thread.sleep(Math.min(100, 5L * attempt));   // failure path only: a takeover is under way
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        QueueMeta meta;
        try (Handle<QueueMeta> h = metas.get(id)) {
            meta = h.value();
        }
        if (meta == null) {
            throw new IllegalStateException("queue '" + name + "' no longer exists");
        }
        int self = kddm.nodeId();
        if (meta.home() == self || kddm.isMember(meta.home())) {
            home = meta.home();
        } else if (meta.backup() >= 0 && kddm.isMember(meta.backup())) {
            home = meta.backup();
        } else if (meta.backup() == self) {
            home = self;
        } else {
            try (Handle<QueueMeta> h = metas.grab(id)) {
                QueueMeta m = h.value();
                if (m.home() != self && !kddm.isMember(m.home()) && !(m.backup() >= 0 && kddm.isMember(m.backup()))
                        && m.backup() != self) {
                    service.restartHome(id, capacity);
                    h.set(new QueueMeta(m.name(), m.type(), m.capacity(), self, service.backupOf(id), m.gen() + 1));
                    log.warn("queue '{}': its home (node {}) and backup (node {}) are gone; restarted empty on node {}",
                            name, m.home(), m.backup(), self);
                    home = self;
                }
            }
        }
    }
}
