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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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

    private final AtomicLong deliveries = new AtomicLong();
    private final ScheduledExecutorService timer;

    QueueClient(Kddm kddm, Sleepers sleepers, QueueService service, KddmSet<QueueMeta> metas, long id,
                QueueMeta meta, Class<?> elementType, ScheduledExecutorService timer) {
        this.timer = timer;
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

    /**
     * Sends the outgoing buffer, batch after batch, until it is empty (only the one in-flight sender runs this).
     * Loops rather than recursing when the home answers at once (a local home).
     */
    private void sendNext() {
        while (true) {
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
            Append a = new Append(id, kddm.nodeId(), stream, nextSeq, items, waiters);
            if (!sendBatch(batch, a, System.nanoTime(), 0)) {
                return;                            // the completion (or a retry) carries on
            }
        }
    }

    /**
     * Sends one batch; returns true when it completed at once (the caller sends the next), false when its
     * completion will call {@link #sendNext} itself.
     */
    private boolean sendBatch(List<Pending> batch, Append a, long start, int attempt) {
        CompletableFuture<AppendReply> f;
        try {
            int node = home;
            f = node == kddm.nodeId() ? service.append(a) : kddm.rpc().call(node, QueueService.APPEND, a);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        if (f.isDone()) {
            AppendReply r = null;
            Throwable ex = null;
            try {
                r = f.join();
            } catch (CompletionException | java.util.concurrent.CancellationException e) {
                ex = e;
            }
            return completed(batch, a, start, attempt, r, ex);
        }
        f.whenComplete((r, ex) -> {
            if (completed(batch, a, start, attempt, r, ex)) {
                sendNext();
            }
        });
        return false;
    }

    /** Handles a batch's answer; true when done with it (the next may go), false when a retry runs. */
    private boolean completed(List<Pending> batch, Append a, long start, int attempt, AppendReply r, Throwable ex) {
        if (ex == null && r.status() == QueueWire.OK) {
            nextSeq = a.firstSeq() + r.accepted();
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).done().complete(i < r.accepted());
            }
            return true;
        }
        if (ex != null && !retriable(ex) || System.nanoTime() - start > RETRY_NANOS) {
            RuntimeException err = ex != null ? unwrap(ex)
                    : new IllegalStateException("queue '" + name + "': no home found within 30 s");
            batch.forEach(p -> p.done().completeExceptionally(err));
            return true;
        }
        Thread.ofVirtual().name("ipc-queue-retry").start(() -> {
            try {
                refreshHome(attempt);
            } catch (RuntimeException e) {
                log.debug("queue '{}': home not found yet: {}", name, e.toString());
            }
            if (sendBatch(batch, a, start, attempt + 1)) {
                sendNext();
            }
        });
        return false;
    }

    // ------------------------------------------------------------------ take

    /**
     * The node's inbox: the items the home delivered to this node, taken by the node's consumer threads in
     * order. One fetch is outstanding at a time for all of them (up to {@link #FETCH} items; parked at the home
     * while the queue is empty, which then pushes); items left untaken for {@link #LINGER_NANOS} go back to the
     * queue's head. Guarded by {@link #lock}.
     */
    private static final class Batch {
        final long delivery;
        final List<Object> items;
        int next;

        Batch(long delivery, List<Object> items) {
            this.delivery = delivery;
            this.items = items;
        }
    }

    /** Most items one fetch brings to this node. */
    static final int FETCH = 128;
    /** How long fetched items may wait for a local taker before going back to the queue. */
    static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<Batch> inbox = new ArrayDeque<>();
    private long fetching;                 // delivery of the outstanding fetch, 0 for none
    private boolean fetchParked;
    private int waiting;
    private final List<Long> acks = new ArrayList<>();
    private final ArrayDeque<Long> recentAcks = new ArrayDeque<>();
    private long lastTake;
    private boolean lingerScheduled;

    /**
     * Takes one item; with {@code wait}, sleeps (parked) while the queue is empty until {@code deadline}
     * (nanoTime; Long.MAX_VALUE: none). Returns null when none came.
     */
    public Object takeOne(long deadline, boolean wait) throws InterruptedException {
        if (wait && Thread.interrupted()) {
            throw new InterruptedException();
        }
        lock.lock();
        boolean took = false;
        try {
            waiting++;
            try {
                while (true) {
                    Object o = pop();
                    if (o != null) {
                        took = true;
                        return o;
                    }
                    if (!wait) {
                        // one item: a batch would sit here, out of sight of other nodes' size, peek and clear
                        return fetching == 0 ? fetchNow(1) : null;
                    }
                    if (fetching == 0) {
                        startFetch();              // a local home may answer at once
                        continue;
                    }
                    if (deadline == Long.MAX_VALUE) {
                        arrived.await();
                    } else {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return null;
                        }
                        arrived.awaitNanos(left);
                    }
                }
            } finally {
                waiting--;
                if (waiting == 0) {
                    if (fetching != 0 && fetchParked && took) {
                        scheduleLinger();          // kept for a moment: a consumer that loops takes again at once,
                    } else if (fetching != 0 && fetchParked) {  // and a give-back racing a push reorders the head
                        giveBack(fetching, 0);     // the taker gave up: nobody here wants it any more
                        fetching = 0;
                    }
                    flushAcks();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Takes up to {@code max} items at once, without waiting (drainTo). */
    public List<Object> drain(int max) {
        List<Object> out = new ArrayList<>();
        lock.lock();
        try {
            Object o;
            while (out.size() < max && (o = pop()) != null) {
                out.add(o);
            }
            if (out.size() < max) {
                long d = deliveries.incrementAndGet();
                int self = kddm.nodeId();
                lock.unlock();
                TakeReply r;
                try {
                    r = call(n -> takeAt(n, new Take(id, self, d, max - out.size(), false)),
                            r1 -> r1.status() == QueueWire.NOT_HOME);
                } finally {
                    lock.lock();
                }
                out.addAll(r.items());
                if (!r.items().isEmpty()) {
                    acks.add(d);
                    if (waiting == 0) {
                        flushAcks();
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    /** The next inbox item, or null. Caller holds the lock. */
    private Object pop() {
        Batch b = inbox.peekFirst();
        if (b == null) {
            return null;
        }
        Object o = b.items.get(b.next++);
        if (b.next == b.items.size()) {
            inbox.pollFirst();
            acks.add(b.delivery);
        }
        lastTake = System.nanoTime();
        if (!inbox.isEmpty()) {
            scheduleLinger();
        }
        return o;
    }

    /** Fetches synchronously without parking (poll with nothing here); returns the first item or null. Holds the lock. */
    private Object fetchNow(int max) {
        long d = deliveries.incrementAndGet();
        fetching = d;
        long[] a = takeAcks();
        int self = kddm.nodeId();
        TakeReply r;
        lock.unlock();
        try {
            r = call(n -> takeAt(n, new Take(id, self, d, max, false, 0, a)), r1 -> r1.status() == QueueWire.NOT_HOME);
        } finally {
            lock.lock();
            fetching = 0;
            arrived.signalAll();
        }
        if (!r.items().isEmpty()) {
            inbox.addLast(new Batch(d, r.items()));
        }
        return pop();
    }

    /** Sends the node's fetch (parked at the home if the queue is empty). Caller holds the lock. */
    private void startFetch() {
        long d = deliveries.incrementAndGet();
        fetching = d;
        fetchParked = false;
        sendFetch(new Take(id, kddm.nodeId(), d, FETCH, true, 0, takeAcks()), System.nanoTime(), 0);
    }

    private void sendFetch(Take t, long start, int attempt) {
        CompletableFuture<TakeReply> f;
        int to = home;
        if (to != kddm.nodeId() && !kddm.isMember(to)) {
            // the home departed (a leaving node may still answer, and park the fetch where no push will come
            // from): find the new home first
            f = CompletableFuture.failedFuture(new org.kerrighed.rpc.LinkClosedException(to,
                    "queue '" + name + "': home " + to + " is no longer a member"));
        } else {
            try {
                f = takeAt(to, t);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
        }
        f.whenComplete((r, ex) -> {
            if (ex == null && r.status() != QueueWire.NOT_HOME) {
                lock.lock();
                try {
                    if (fetching != t.delivery()) {
                        return;                    // given back meanwhile: the home requeues what it gave
                    }
                    if (r.status() == QueueWire.PARKED && waiting == 0) {
                        giveBack(t.delivery(), 0);  // every waiter left before the home parked it: take it back,
                        fetching = 0;               // or items offered meanwhile would be pushed here for nobody
                    } else if (r.status() == QueueWire.PARKED) {
                        fetchParked = true;
                        if (to != kddm.nodeId() && !kddm.isMember(to)) {
                            nodeFailed();          // parked at a home that departed meanwhile: ask the new one
                        }
                    } else {
                        arrivedLocked(t.delivery(), r.items());
                    }
                } finally {
                    lock.unlock();
                }
            } else if (ex != null && !retriable(ex) || System.nanoTime() - start > RETRY_NANOS) {
                log.warn("queue '{}': fetch failed: {}", name, ex == null ? "no home found" : ex.toString());
                lock.lock();
                try {
                    if (fetching == t.delivery()) {
                        fetching = 0;
                        arrived.signalAll();       // a waiter starts another
                    }
                } finally {
                    lock.unlock();
                }
            } else {
                Thread.ofVirtual().name("ipc-queue-retry").start(() -> {
                    try {
                        refreshHome(attempt);
                    } catch (RuntimeException e) {
                        log.debug("queue '{}': home not found yet: {}", name, e.toString());
                    }
                    sendFetch(t, start, attempt + 1);
                });
            }
        });
    }

    /** Items of delivery {@code d} arrived (reply or push). Caller holds the lock. */
    private void arrivedLocked(long d, List<Object> items) {
        fetching = 0;
        if (!items.isEmpty()) {
            inbox.addLast(new Batch(d, items));
            scheduleLinger();                      // given back if every waiter left meanwhile
        } else {
            acks.add(d);
        }
        arrived.signalAll();
    }

    /** A push from the home for delivery {@code d}; false when nobody here asked for it. */
    boolean pushed(long d, List<Object> items) {
        lock.lock();
        try {
            if (fetching == d) {
                arrivedLocked(d, items);
            }
            return true;                           // else it was given back: the home requeues it
        } finally {
            lock.unlock();
        }
    }

    /** A node failed: the fetch may have been parked at a dead home; ask again, and repeat recent acks. */
    void nodeFailed() {
        lock.lock();
        try {
            if (fetching != 0 && fetchParked) {
                fetchParked = false;
                long[] again = recentAcks.stream().mapToLong(Long::longValue).toArray();
                sendFetch(new Take(id, kddm.nodeId(), fetching, FETCH, true, 0, again), System.nanoTime(), 1);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Gives delivery {@code d} back from index {@code keep} (asynchronous). */
    private void giveBack(long d, int keep) {
        Take t = new Take(id, kddm.nodeId(), d, -1, false, keep, takeAcks());
        int to = home;
        if (to != kddm.nodeId() && kddm.isMember(to)) {
            // sent from this thread, now: links are FIFO, so the home forgets the fetch before it sees anything this
            // node sends later (an offer would otherwise be pushed back here, to nobody, until the linger)
            try {
                kddm.rpc().call(to, QueueService.TAKE, t).whenComplete((r, e) -> {
                    if (e != null || r.status() == QueueWire.NOT_HOME) {
                        giveBackFindingTheHome(t);
                    }
                });
                return;
            } catch (RuntimeException e) {
                log.debug("queue '{}': give-back to {} not sent: {}", name, to, e.toString());
            }
        }
        giveBackFindingTheHome(t);      // a local home is called off this thread: it may push to this client
    }

    private void giveBackFindingTheHome(Take t) {
        Thread.ofVirtual().name("ipc-queue-giveback").start(() -> {
            try {
                call(n -> takeAt(n, t), r -> r.status() == QueueWire.NOT_HOME);
            } catch (RuntimeException e) {
                log.warn("queue '{}': delivery {} not given back: {}", name, t.delivery(), e.toString());
            }
        });
    }

    private long[] takeAcks() {
        if (acks.isEmpty()) {
            return QueueWire.NO_ACKS;
        }
        long[] a = new long[acks.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = acks.get(i);
            recentAcks.addLast(a[i]);
            if (recentAcks.size() > 64) {
                recentAcks.pollFirst();
            }
        }
        acks.clear();
        return a;
    }

    /** Sends the pending acks now (nobody is about to fetch). Caller holds the lock. */
    private void flushAcks() {
        if (acks.isEmpty()) {
            return;
        }
        Ack a = new Ack(id, kddm.nodeId(), takeAcks());
        int node = home;
        try {
            if (node == kddm.nodeId()) {
                service.ack(a);
            } else {
                kddm.rpc().send(node, QueueService.ACK, a);
            }
        } catch (RuntimeException e) {
            log.debug("queue '{}': acks not sent: {}", name, e.toString());
        }
    }

    private void scheduleLinger() {
        if (!lingerScheduled) {
            try {
                timer.schedule(this::linger, LINGER_NANOS, TimeUnit.NANOSECONDS);
                lingerScheduled = true;
            } catch (java.util.concurrent.RejectedExecutionException e) {
                log.debug("queue '{}': IPC is closed; fetched items stay here", name);
            }
        }
    }

    /**
     * Gives back inbox items no local thread took for a while, and withdraws a parked fetch no local thread waits
     * for any more, so other nodes' consumers get the items.
     */
    private void linger() {
        lock.lock();
        try {
            lingerScheduled = false;
            boolean parked = fetching != 0 && fetchParked;
            if (inbox.isEmpty() && !parked || waiting > 0) {
                return;
            }
            if (System.nanoTime() - lastTake < LINGER_NANOS) {
                scheduleLinger();
                return;
            }
            while (!inbox.isEmpty()) {             // newest first, so the oldest end up at the head
                Batch b = inbox.pollLast();
                giveBack(b.delivery, b.next);
            }
            if (parked) {
                giveBack(fetching, 0);             // nobody here wants it any more
                fetching = 0;
            }
            flushAcks();
        } finally {
            lock.unlock();
        }
    }

    private CompletableFuture<TakeReply> takeAt(int node, Take t) {
        return node == kddm.nodeId() ? service.take(t) : kddm.rpc().call(node, QueueService.TAKE, t);
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
