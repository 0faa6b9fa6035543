package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.QueueWire.Ack;
import org.kerrighed.ipc.internal.QueueWire.Append;
import org.kerrighed.ipc.internal.QueueWire.AppendReply;
import org.kerrighed.ipc.internal.QueueWire.Inspect;
import org.kerrighed.ipc.internal.QueueWire.InspectReply;
import org.kerrighed.ipc.internal.QueueWire.Push;
import org.kerrighed.ipc.internal.QueueWire.QueueMeta;
import org.kerrighed.ipc.internal.QueueWire.Repl;
import org.kerrighed.ipc.internal.QueueWire.ReplReply;
import org.kerrighed.ipc.internal.QueueWire.Take;
import org.kerrighed.ipc.internal.QueueWire.TakeReply;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The home side of cluster queues: the items of each queue live in memory on its <em>home</em> node and are
 * mirrored, operation by operation, on one <em>backup</em> node; {@link QueueMeta} (a replicated KDDM object)
 * says which nodes those are. When the home dies, the backup takes over (its mirror has every acknowledged
 * item) and picks a new backup; when the backup dies, the home picks another and sends it a snapshot.
 * Every handler here is non-blocking (takeovers, which read KDDM, run on virtual threads). Thread-safe.
 */
final class QueueService {
    private static final Logger log = LoggerFactory.getLogger(QueueService.class);

    static final ServiceKey<Append, AppendReply> APPEND =
            ServiceKey.of(140, "ipc.queue.append", Append.class, AppendReply.class);
    static final ServiceKey<Take, TakeReply> TAKE = ServiceKey.of(141, "ipc.queue.take", Take.class, TakeReply.class);
    static final ServiceKey<Push, Void> PUSH = ServiceKey.oneWay(142, "ipc.queue.push", Push.class);
    static final ServiceKey<Ack, Void> ACK = ServiceKey.oneWay(143, "ipc.queue.ack", Ack.class);
    static final ServiceKey<Inspect, InspectReply> INSPECT =
            ServiceKey.of(144, "ipc.queue.inspect", Inspect.class, InspectReply.class);
    static final ServiceKey<Repl, ReplReply> REPL = ServiceKey.of(145, "ipc.queue.repl", Repl.class, ReplReply.class);

    /** Kind of a {@link Repl} carrying a whole {@link QueueWire.Snapshot} (a = capacity). */
    static final int R_SNAPSHOT = 100;

    private static final Executor VIRTUAL = r -> Thread.ofVirtual().name("ipc-queue").start(r);

    private final Kddm kddm;
    private final Sleepers sleepers;
    private final KddmSet<QueueMeta> metas;
    private final Map<Long, QueueHome> homes = new ConcurrentHashMap<>();
    /** Local consumers' push targets, by queue. */
    private final Map<Long, QueueClient> clients;

    QueueService(Kddm kddm, Sleepers sleepers, KddmSet<QueueMeta> metas, Map<Long, QueueClient> clients) {
        this.kddm = kddm;
        this.sleepers = sleepers;
        this.metas = metas;
        this.clients = clients;
        RpcNode rpc = kddm.rpc();
        rpc.registerAsync(APPEND, HandlerKind.NON_BLOCKING, (ctx, a) -> append(a));
        rpc.registerAsync(TAKE, HandlerKind.NON_BLOCKING, (ctx, t) -> take(t));
        rpc.registerAsync(INSPECT, HandlerKind.NON_BLOCKING, (ctx, i) -> inspect(i));
        rpc.register(ACK, HandlerKind.NON_BLOCKING, (ctx, a) -> {
            ack(a);
            return null;
        });
        rpc.register(REPL, HandlerKind.NON_BLOCKING, (ctx, r) -> replicated(ctx.caller(), r));
        rpc.register(PUSH, HandlerKind.NON_BLOCKING, (ctx, p) -> {
            QueueClient c = clients.get(p.queue());
            if (c == null || !c.pushed(p.delivery(), p.items())) {
                // nobody waits for it any more: give the items back
                rpc.call(ctx.caller(), TAKE, new Take(p.queue(), kddm.nodeId(), p.delivery(), -1, false));
            }
            return null;
        });
    }

    /** One queue whose state this node keeps, as its home or as its backup. Guarded by its monitor. */
    static final class QueueHome {
        final long id;
        final int capacity;
        QueueState state;
        volatile boolean home;
        int backup = -1;
        /** For a backup: the home that sends the operations. */
        int homeNode = -1;
        final ArrayDeque<Parked> parked = new ArrayDeque<>();
        final LinkedHashSet<WaiterRef> spaceWaiters = new LinkedHashSet<>();
        final Object takeover = new Object();

        QueueHome(long id, int capacity) {
            this.id = id;
            this.capacity = capacity;
            this.state = new QueueState(capacity);
        }
    }

    record Parked(int node, long delivery, int max) {
    }

    // ------------------------------------------------------------------ creation

    /**
     * Makes this node the home of a new queue (called under the meta's write handle): an empty state, mirrored
     * on {@code backup}. Blocks until the backup has the (empty) snapshot.
     */
    void createHome(long id, int capacity, int backup) {
        QueueHome h = new QueueHome(id, capacity);
        h.home = true;
        h.backup = backup;
        homes.put(id, h);
        if (backup >= 0) {
            sendSnapshot(h).join();
        }
    }

    // ------------------------------------------------------------------ operations at the home

    CompletableFuture<AppendReply> append(Append a) {
        QueueHome h = homes.get(a.queue());
        if (h == null) {
            return CompletableFuture.completedFuture(new AppendReply(QueueWire.NOT_HOME, 0));
        }
        if (!h.home) {
            return takeoverThen(h, () -> append(a), new AppendReply(QueueWire.NOT_HOME, 0));
        }
        CompletableFuture<?> replicated;
        int accepted;
        synchronized (h) {
            int before = h.state.items.size();
            accepted = h.state.append(a.stream(), a.firstSeq(), a.items());
            replicated = h.state.items.size() != before || a.items().isEmpty()
                    ? replicate(h, QueueWire.R_APPEND, a.node(), a.stream(), a.firstSeq(), a.items())
                    : CompletableFuture.completedFuture(null);
            for (int i = accepted; i < a.items().size(); i++) {
                if (a.waiters()[i] != 0) {
                    h.spaceWaiters.add(new WaiterRef(a.node(), a.waiters()[i]));
                }
            }
            dispatch(h);
        }
        return replicated.handle((x, e) -> new AppendReply(QueueWire.OK, accepted));
    }

    CompletableFuture<TakeReply> take(Take t) {
        QueueHome h = homes.get(t.queue());
        if (h == null) {
            return CompletableFuture.completedFuture(new TakeReply(QueueWire.NOT_HOME, List.of()));
        }
        if (!h.home) {
            return takeoverThen(h, () -> take(t), new TakeReply(QueueWire.NOT_HOME, List.of()));
        }
        synchronized (h) {
            if (t.acks().length > 0) {
                acked(h, t.node(), t.acks());
            }
            if (t.max() < 0) {                     // give back: forget the parked request, requeue what is left
                h.parked.removeIf(p -> p.node() == t.node() && p.delivery() == t.delivery());
                if (h.state.requeue(t.node(), t.delivery(), t.keep())) {
                    replicate(h, QueueWire.R_REQUEUE, t.node(), t.delivery(), t.keep(), null);
                    dispatch(h);
                }
                return CompletableFuture.completedFuture(new TakeReply(QueueWire.OK, List.of()));
            }
            List<Object> memo = h.state.memoFor(t.node(), t.delivery());
            if (memo != null) {                    // asked again after a failure: the same items
                return CompletableFuture.completedFuture(new TakeReply(QueueWire.OK, new ArrayList<>(memo)));
            }
            if (!h.state.items.isEmpty()) {
                List<Object> out = h.state.deliver(t.node(), t.delivery(), t.max());
                replicate(h, QueueWire.R_DELIVER, t.node(), t.delivery(), t.max(), null);
                wakeSpace(h);
                return CompletableFuture.completedFuture(new TakeReply(QueueWire.OK, out));
            }
            if (!t.park()) {
                return CompletableFuture.completedFuture(new TakeReply(QueueWire.OK, List.of()));
            }
            boolean known = false;
            for (Parked p : h.parked) {
                known |= p.node() == t.node() && p.delivery() == t.delivery();
            }
            if (!known) {
                h.parked.addLast(new Parked(t.node(), t.delivery(), t.max()));
            }
            return CompletableFuture.completedFuture(new TakeReply(QueueWire.PARKED, List.of()));
        }
    }

    void ack(Ack a) {
        QueueHome h = homes.get(a.queue());
        if (h == null || !h.home) {
            return;                                // a new home requeues the memos of dead consumers only
        }
        synchronized (h) {
            acked(h, a.node(), a.deliveries());
        }
    }

    /** The consumer node consumed these deliveries: forget them (their room is free). Caller holds h. */
    private void acked(QueueHome h, int node, long[] deliveries) {
        List<Object> ds = new ArrayList<>(deliveries.length);
        for (long d : deliveries) {
            h.state.ack(node, d);
            ds.add(d);
        }
        replicate(h, QueueWire.R_ACK, node, 0, 0, ds);
        wakeSpace(h);
    }

    CompletableFuture<InspectReply> inspect(Inspect i) {
        QueueHome h = homes.get(i.queue());
        if (h == null) {
            return CompletableFuture.completedFuture(new InspectReply(QueueWire.NOT_HOME, List.of(), 0));
        }
        if (!h.home) {
            return takeoverThen(h, () -> inspect(i), new InspectReply(QueueWire.NOT_HOME, List.of(), 0));
        }
        synchronized (h) {
            QueueState s = h.state;
            InspectReply r = switch (i.what()) {
                case QueueWire.INSPECT_ITEMS -> new InspectReply(QueueWire.OK, new ArrayList<>(s.items), s.items.size());
                case QueueWire.INSPECT_PEEK -> new InspectReply(QueueWire.OK,
                        s.items.isEmpty() ? List.of() : List.of(s.items.peekFirst()), s.items.size());
                case QueueWire.INSPECT_SIZE -> new InspectReply(QueueWire.OK, List.of(), s.items.size());
                case QueueWire.INSPECT_REMAINING -> new InspectReply(QueueWire.OK, List.of(),
                        Math.max(0, (long) s.capacity - s.items.size() - s.memoItems));
                case QueueWire.INSPECT_CONTAINS -> new InspectReply(QueueWire.OK, List.of(), s.indexOf(i.arg()) >= 0 ? 1 : 0);
                case QueueWire.INSPECT_REMOVE -> {
                    int idx = s.indexOf(i.arg());
                    if (idx >= 0) {
                        s.removeAt(idx);
                        replicate(h, QueueWire.R_REMOVE_AT, 0, idx, 0, null);
                        wakeSpace(h);
                    }
                    yield new InspectReply(QueueWire.OK, List.of(), idx >= 0 ? 1 : 0);
                }
                case QueueWire.INSPECT_CLEAR -> {
                    int n = s.clear();
                    replicate(h, QueueWire.R_CLEAR, 0, 0, 0, null);
                    wakeSpace(h);
                    yield new InspectReply(QueueWire.OK, List.of(), n);
                }
                default -> throw new IllegalArgumentException("unknown queue inspection " + i.what());
            };
            return CompletableFuture.completedFuture(r);
        }
    }

    /** Gives queued items to parked consumers, oldest first. Caller holds h. */
    private void dispatch(QueueHome h) {
        while (!h.parked.isEmpty() && !h.state.items.isEmpty()) {
            Parked p = h.parked.pollFirst();
            if (p.node() != kddm.nodeId() && !kddm.isMember(p.node())) {
                continue;
            }
            List<Object> out = h.state.deliver(p.node(), p.delivery(), p.max());
            replicate(h, QueueWire.R_DELIVER, p.node(), p.delivery(), p.max(), null);
            Push push = new Push(h.id, p.delivery(), out);
            if (p.node() == kddm.nodeId()) {
                QueueClient c = clients.get(h.id);
                if (c == null) {
                    h.state.requeue(p.node(), p.delivery(), 0);
                    replicate(h, QueueWire.R_REQUEUE, p.node(), p.delivery(), 0, null);
                } else {                           // not under h: the inbox's lock is taken before h's
                    VIRTUAL.execute(() -> c.pushed(p.delivery(), out));
                }
            } else {
                try {
                    kddm.rpc().send(p.node(), PUSH, push);
                } catch (RuntimeException e) {
                    log.debug("queue {}: push to node {} failed: {}", h.id, p.node(), e.toString());
                }
            }
        }
        wakeSpace(h);
    }

    /** Wakes the producers waiting for room, if there is room. Caller holds h. */
    private void wakeSpace(QueueHome h) {
        if (!h.spaceWaiters.isEmpty() && h.state.items.size() + h.state.memoItems < h.capacity) {
            for (WaiterRef w : h.spaceWaiters) {
                sleepers.wake(w, 1, 0);
            }
            h.spaceWaiters.clear();
        }
    }

    // ------------------------------------------------------------------ replication

    /** Sends one operation to the backup (in order: the caller holds h); completes when the backup has it. */
    private CompletableFuture<?> replicate(QueueHome h, int kind, int node, long a, long b, List<Object> items) {
        long op = ++h.state.op;
        if (h.backup < 0) {
            return CompletableFuture.completedFuture(null);
        }
        int backup = h.backup;
        Repl r = new Repl(h.id, op, kind, node, a, b, items);
        try {
            return kddm.rpc().call(backup, REPL, r).thenCompose(rr -> {
                if (rr.applied()) {
                    return CompletableFuture.completedFuture(null);
                }
                synchronized (h) {
                    return h.backup == backup ? sendSnapshot(h) : CompletableFuture.completedFuture(null);
                }
            }).handle((x, e) -> e).thenCompose(e -> {
                if (e == null) {
                    return CompletableFuture.completedFuture((Object) null);
                }
                // Lost or late (the backup may or may not have it): while that backup lives, it gets the whole
                // state, so that the caller's answer still means "on two nodes". A dead backup's successor gets
                // a snapshot when the view changes.
                log.debug("queue {}: operation {} not replicated on node {}: {}", h.id, op, backup, e.toString());
                synchronized (h) {
                    return h.backup == backup && kddm.isMember(backup) ? sendSnapshot(h).thenApply(x -> (Object) null)
                            : CompletableFuture.completedFuture((Object) null);
                }
            });
        } catch (RuntimeException e) {
            log.debug("queue {}: operation {} not sent to node {}: {}", h.id, op, backup, e.toString());
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Sends the whole state to the backup. Caller holds h, or h is not yet visible. */
    private CompletableFuture<?> sendSnapshot(QueueHome h) {
        if (h.backup < 0) {
            return CompletableFuture.completedFuture(null);
        }
        Repl r = new Repl(h.id, h.state.op, R_SNAPSHOT, kddm.nodeId(), h.capacity, 0,
                List.of(h.state.snapshot(h.id)));
        int backup = h.backup;
        try {
            return kddm.rpc().call(backup, REPL, r).exceptionally(e -> {
                log.debug("queue {}: snapshot not sent to node {}: {}", h.id, backup, e.toString());
                return null;
            });
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(null);
        }
    }

    /** At the backup: applies one operation, or a snapshot. */
    private ReplReply replicated(int from, Repl r) {
        if (r.kind() == R_SNAPSHOT) {
            QueueHome h = homes.computeIfAbsent(r.queue(), id -> new QueueHome(id, (int) r.a()));
            synchronized (h) {
                if (h.home) {
                    return new ReplReply(true);    // stale: this node took over meanwhile
                }
                h.state = QueueState.restore(h.capacity, (QueueWire.Snapshot) r.items().getFirst());
                h.homeNode = from;
                h.parked.clear();
            }
            return new ReplReply(true);
        }
        QueueHome h = homes.get(r.queue());
        if (h == null) {
            return new ReplReply(false);
        }
        synchronized (h) {
            if (h.home) {
                return new ReplReply(true);
            }
            if (r.op() != h.state.op + 1) {
                return new ReplReply(false);
            }
            h.state.apply(r);
            h.homeNode = from;
        }
        return new ReplReply(true);
    }

    // ------------------------------------------------------------------ failures

    private <R> CompletableFuture<R> takeoverThen(QueueHome h, java.util.function.Supplier<CompletableFuture<R>> op,
                                                  R notHome) {
        return CompletableFuture.supplyAsync(() -> takeover(h), VIRTUAL)
                .thenCompose(ok -> ok ? op.get() : CompletableFuture.completedFuture(notHome));
    }

    /**
     * This node, the backup, becomes the home if the meta's home is dead: it updates the meta, picks a new
     * backup and sends it a snapshot, and requeues the deliveries of dead consumers. Blocks (KDDM).
     *
     * @return true when this node is the home now
     */
    boolean takeover(QueueHome h) {
        synchronized (h.takeover) {
            if (h.home) {
                return true;
            }
            try (Handle<QueueMeta> m = metas.grab(h.id)) {
                QueueMeta meta = m.value();
                int self = kddm.nodeId();
                if (meta == null || (meta.home() != self && kddm.isMember(meta.home()))
                        || (meta.home() != self && meta.backup() != self)) {
                    return false;                  // the home is alive, or this mirror is stale
                }
                synchronized (h) {
                    h.home = true;
                    h.backup = nextLive(self);
                    h.parked.clear();
                    requeueDead(h);
                    sendSnapshot(h).join();
                }
                m.set(new QueueMeta(meta.name(), meta.type(), meta.capacity(), self, h.backup, meta.gen() + 1));
                log.info("queue '{}': node {} took over from node {} with {} item(s); backup node {}",
                        meta.name(), self, meta.home(), h.state.items.size(), h.backup);
                return true;
            }
        }
    }

    /** Requeues deliveries of consumers that are gone. Caller holds h. */
    private void requeueDead(QueueHome h) {
        Set<Integer> dead = new java.util.TreeSet<>();
        for (QueueState.Key k : h.state.memos.keySet()) {
            if (k.node() != kddm.nodeId() && !kddm.isMember(k.node())) {
                dead.add(k.node());
            }
        }
        for (int n : dead) {
            h.state.nodeGone(n);
            replicate(h, QueueWire.R_NODE_GONE, n, 0, 0, null);
        }
    }

    /** After each view: takeovers, new backups, requeues. Runs on the view listener thread (may block). */
    void viewChanged(Set<Integer> members, Set<Integer> failed) {
        int self = kddm.nodeId();
        for (QueueHome h : homes.values()) {
            try {
                if (!h.home) {
                    if (h.homeNode >= 0 && !members.contains(h.homeNode)) {
                        takeover(h);
                    }
                    continue;
                }
                boolean newBackup;
                synchronized (h) {
                    h.parked.removeIf(p -> !members.contains(p.node()));
                    h.spaceWaiters.removeIf(w -> !members.contains(w.node()));
                    requeueDead(h);
                    dispatch(h);
                    newBackup = h.backup < 0 || !members.contains(h.backup);
                }
                if (newBackup) {
                    int nb = nextLive(self);
                    if (nb >= 0) {
                        try (Handle<QueueMeta> m = metas.grab(h.id)) {
                            QueueMeta meta = m.value();
                            synchronized (h) {
                                h.backup = nb;
                                sendSnapshot(h).join();
                            }
                            if (meta != null) {
                                m.set(new QueueMeta(meta.name(), meta.type(), meta.capacity(), self, nb, meta.gen()));
                            }
                        }
                    }
                }
            } catch (RuntimeException e) {
                log.warn("queue {}: recovery after view change failed on node {}: {}", h.id, self, e.toString());
            }
        }
    }

    /** The live member after {@code self} in id order (the backup of what {@code self} homes), or -1. */
    int nextLive(int self) {
        int[] live = kddm.members().clone();
        Arrays.sort(live);
        for (int n : live) {
            if (n > self) {
                return n;
            }
        }
        for (int n : live) {
            if (n != self) {
                return n;
            }
        }
        return -1;
    }

    boolean isHome(long id) {
        QueueHome h = homes.get(id);
        return h != null && h.home;
    }

    /** Makes this node the home of a queue whose home and backup both died (its items are lost). */
    void restartHome(long id, int capacity) {
        QueueHome h = new QueueHome(id, capacity);
        h.home = true;
        h.backup = nextLive(kddm.nodeId());
        homes.put(id, h);
        synchronized (h) {
            sendSnapshot(h).join();
        }
    }

    int backupOf(long id) {
        QueueHome h = homes.get(id);
        return h == null ? -1 : h.backup;
    }

    void forEachHome(java.util.function.Consumer<QueueHome> c) {
        homes.values().forEach(c);
    }
}
