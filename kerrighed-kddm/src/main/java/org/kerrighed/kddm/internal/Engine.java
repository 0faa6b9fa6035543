package org.kerrighed.kddm.internal;

import org.kerrighed.kddm.IoLinker;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.NoSuchSetException;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * KDDM on one node: the sets, the message dispatch, the current membership (members, homes) and the
 * re-homing and recovery that follow every view change.
 *
 * <h2>Views</h2>
 * On every view each member sends every other member one {@link Wire.Report} with what the receiver, as new
 * home of some objects, must learn: owners whose home moved, the old home's records, and after a failure
 * every copy, backup and hint. A node decides nothing as a home (first touch, recovery) until it has every
 * member's report for its current view ({@link #synced()}); requests that need such a decision wait for it.
 */
public final class Engine {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);
    /** Dynamic set ids have this bit; the manager node is in bits 48-55. */
    public static final long DYNAMIC = 1L << 62;
    private static final long CONFIRM_BOUND_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);
    private static final int MAX_PENDING_PER_SET = 100_000;

    private final RpcNode rpc;
    private final int self;
    private final BiFunction<Long, SetSpec, IoLinker<?>> linkers;
    private final Map<Long, SetTable<?>> sets = new ConcurrentHashMap<>();
    private final Map<Long, ArrayDeque<Consumer<SetTable<?>>>> pending = new HashMap<>();   // guarded by itself
    private final Map<Long, Boolean> lookups = new ConcurrentHashMap<>();
    private final AtomicLong reqIds = new AtomicLong();
    private final AtomicInteger setCounter = new AtomicInteger();
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final ExecutorService recovery;
    private final long timeoutMillis;
    private volatile LongSupplier sinceConfirmed;        // null: no membership (tests): always confirmed
    private volatile KddmException unusable;

    // view state, changed on the recovery thread (and read anywhere)
    private volatile int[] members;
    private volatile long epoch;
    private volatile boolean synced;                  // false until the first view is reconciled
    private volatile boolean departurePending;        // a view being reconciled dropped members (failed or left)
    private boolean failurePending;                                  // recovery thread only
    private final Map<Integer, Wire.Report> reports = new HashMap<>();  // recovery thread only: this epoch's
    private final Map<Long, List<Wire.Report>> early = new HashMap<>(); // recovery thread only: later epochs
    private final List<Wire.Item> ownItems = new ArrayList<>();      // recovery thread only
    private final List<Wire.Item> carried = new ArrayList<>();       // recovery thread only: unreconciled views
    private final Set<Integer> markers = new java.util.HashSet<>();  // recovery thread only: this epoch's
    private final Map<Long, List<Integer>> earlyMarkers = new HashMap<>();  // recovery thread only
    private boolean reported = true;                                  // recovery thread only
    private boolean full;                                             // recovery thread only
    private int[] reportBase = new int[0];                            // recovery thread only
    private final List<Runnable> syncWaiters = new ArrayList<>();    // guarded by itself

    public Engine(RpcNode rpc, BiFunction<Long, SetSpec, IoLinker<?>> linkers) {
        this.rpc = rpc;
        this.self = rpc.nodeId();
        this.linkers = linkers;
        this.members = new int[]{self};
        this.timeoutMillis = rpc.config().defaultCallTimeout().toMillis();
        this.recovery = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("krg-kddm-" + self).daemon().factory());
        register();
    }

    // ------------------------------------------------------------------ accessors used by the sets

    int self() {
        return self;
    }

    public RpcNode rpc() {
        return rpc;
    }

    ExecutorService executor() {
        return executor;
    }

    long timeoutMillis() {
        return timeoutMillis;
    }

    long nextReqId() {
        return reqIds.incrementAndGet();
    }

    boolean synced() {
        return synced;
    }

    /**
     * True while a view that dropped members (failed or left) is being reconciled: a request sent now may reach a
     * node still on the old view, which forwards it to a departed node where it is lost, so it must be sent again
     * once the view is synced. Once every member's report has arrived, every member has installed the view and no
     * one forwards to a departed node any more.
     */
    boolean requestsMayBeLost() {
        return departurePending && !synced;
    }

    public long epoch() {
        return epoch;
    }

    public int[] members() {
        return members.clone();
    }

    boolean isMember(int node) {
        return Arrays.binarySearch(members, node) >= 0;
    }

    List<Integer> otherMembers() {
        List<Integer> l = new ArrayList<>();
        for (int m : members) {
            if (m != self) {
                l.add(m);
            }
        }
        return l;
    }

    KddmException unusable() {
        return unusable;
    }

    public void checkUsable() {
        KddmException u = unusable;
        if (u != null) {
            throw new KddmException(u.getMessage());
        }
    }

    /**
     * Ties local access to the membership: {@code sinceConfirmedNanos} (how long since the node last confirmed
     * it runs normally) and {@code writable} (false on a minority side or once fenced). While either says the
     * node may have been replaced by the others, every operation waits (bounded), so cached copies are never
     * served stale and nothing is written on a minority side.
     */
    public void setConfirmation(LongSupplier sinceConfirmedNanos, java.util.function.BooleanSupplier writable) {
        this.writable = writable;
        this.sinceConfirmed = sinceConfirmedNanos;
    }

    private volatile java.util.function.BooleanSupplier writable = () -> true;

    /**
     * Waits while the membership has not confirmed recently that this node is still a member (after a pause of
     * the process): a node the others may have declared failed must not serve its cached copies.
     */
    void awaitConfirmed() {
        LongSupplier s = sinceConfirmed;
        if (s == null || (s.getAsLong() < CONFIRM_BOUND_NANOS && writable.getAsBoolean())) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (s.getAsLong() >= CONFIRM_BOUND_NANOS || !writable.getAsBoolean()) {
            checkUsable();
            if (System.nanoTime() > deadline) {
                throw new KddmException(writable.getAsBoolean()
                        ? "node " + self + " could not confirm it is still a cluster member"
                        : "node " + self + " is cut off from the majority of the cluster: it serves no object until"
                        + " it is whole again or has rejoined");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KddmException("interrupted while confirming membership", e);
            }
        }
        checkUsable();
    }

    int homeOf(SetSpec spec, IoLinker<?> linker, long id) {
        return homeOf(spec, linker, id, members);
    }

    int homeOf(SetSpec spec, IoLinker<?> linker, long id, int[] live) {
        int custom = spec.owner().kind() == org.kerrighed.kddm.DefaultOwner.Kind.CUSTOM ? linker.defaultOwner(id, live) : -1;
        return spec.owner().homeOf(id, live, custom);
    }

    /** The next member after this one (the witness of unreplicated objects this node is home of), or -1. */
    int witness() {
        int[] b = backupNodes(1);
        return b.length == 0 ? -1 : b[0];
    }

    /** The {@code k} members after this one in id order (fewer if the cluster is smaller). */
    int[] backupNodes(int k) {
        return backupNodesExcluding(k, Set.of());
    }

    int[] backupNodesExcluding(int k, Set<Integer> exclude) {
        List<Integer> out = new ArrayList<>();
        for (int n : othersInRing()) {
            if (out.size() + exclude.size() >= k) {
                break;
            }
            if (!exclude.contains(n)) {
                out.add(n);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Where a flushing owner pushes its sole copy: the home if it is another node, else the next member. */
    int flushTarget(int home) {
        if (home != self && isMember(home) && !leaving.contains(home)) {
            return home;
        }
        for (int n : othersInRing()) {
            if (!leaving.contains(n)) {
                return n;
            }
        }
        return -1;
    }

    /** The other members in ring order, starting with the one after this node's id. */
    private int[] othersInRing() {
        int[] m = members;
        int start = Arrays.binarySearch(m, self);
        start = start < 0 ? -start - 1 : start + 1;
        int[] out = new int[m.length];
        int k = 0;
        for (int i = 0; i < m.length; i++) {
            int n = m[(start + i) % m.length];
            if (n != self) {
                out[k++] = n;
            }
        }
        return Arrays.copyOf(out, k);
    }

    private final Set<Integer> leaving = ConcurrentHashMap.newKeySet();

    <Q> void send(int node, ServiceKey<Q, ?> key, Q msg) {
        if (node == self) {
            throw new IllegalStateException("KDDM protocol error: " + key + " sent to self");
        }
        try {
            rpc.send(node, key, msg);
        } catch (org.kerrighed.rpc.LinkClosedException e) {
            log.debug("node {}: {} to node {} not sent: {}", self, key, node, e.getMessage());
        }
    }

    void deferUntilSynced(Runnable r) {
        boolean now;
        synchronized (syncWaiters) {
            now = synced;
            if (!now) {
                syncWaiters.add(r);
            }
        }
        if (now) {
            executor.execute(r);
        }
    }

    void rereplicateSoon(SetTable<?> set) {
        executor.execute(set::rereplicate);
    }

    // ------------------------------------------------------------------ sets

    public org.kerrighed.kddm.KddmSet<?> install(long setId, SetSpec spec, IoLinker<?> linker) {
        SetTable<?> t;
        ArrayDeque<Consumer<SetTable<?>>> queued;
        synchronized (pending) {
            if (sets.containsKey(setId)) {
                throw new IllegalStateException("KDDM set " + setId + " already exists on node " + self);
            }
            t = new SetTable<>(this, setId, spec, linker);
            Orphans o = orphans.remove(setId);
            if (o != null) {
                resolveAll(t, o.items, o.failure, members);      // what the others told us as the new home
            }
            queued = pending.remove(setId);
            if (queued != null) {
                for (Consumer<SetTable<?>> c : queued) {   // in arrival order, before any later message
                    c.accept(t);
                }
            }
            sets.put(setId, t);
        }
        return t;
    }

    public org.kerrighed.kddm.KddmSet<?> set(long setId) {
        return sets.get(setId);
    }

    public Collection<? extends org.kerrighed.kddm.KddmSet<?>> sets() {
        return sets.values();
    }

    /** One line on the local metadata of object {@code id} of set {@code setId} (diagnostics). */
    public String describe(long setId, long id) {
        SetTable<?> t = sets.get(setId);
        return t == null ? "no set " + setId : "node " + self + ": " + t.describe(id)
                + (synced ? "" : " (view not synced)");
    }

    /** The object type of a set made here. */
    public static Class<?> typeOf(org.kerrighed.kddm.KddmSet<?> set) {
        return ((SetTable<?>) set).linker.type();
    }

    /** The set, instantiating a dynamic one from its manager (or any node that has it) if needed. */
    public org.kerrighed.kddm.KddmSet<?> findOrLookup(long setId) {
        org.kerrighed.kddm.KddmSet<?> t = sets.get(setId);
        if (t != null) {
            return t;
        }
        if ((setId & DYNAMIC) == 0) {
            throw new NoSuchSetException(setId);
        }
        Wire.SetInfo info = lookup(setId);
        if (info == null) {
            throw new NoSuchSetException(setId);
        }
        synchronized (pending) {
            t = sets.get(setId);
            if (t != null) {
                return t;
            }
            return install(setId, info.spec(), linkers.apply(setId, info.spec()));
        }
    }

    private Wire.SetInfo lookup(long setId) {
        int manager = (int) ((setId >>> 48) & 0xff);
        List<Integer> order = new ArrayList<>();
        if (manager != self && isMember(manager)) {
            order.add(manager);
        }
        for (int m : members) {
            if (m != self && m != manager) {
                order.add(m);
            }
        }
        for (int n : order) {
            try {
                Wire.SetInfo i = rpc.call(n, Wire.LOOKUP, setId).get(timeoutMillis, TimeUnit.MILLISECONDS);
                if (i != null) {
                    return i;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KddmException("interrupted while looking up set " + setId, e);
            } catch (Exception e) {
                log.debug("lookup of set {} at node {} failed: {}", setId, n, e.toString());
            }
        }
        return null;
    }

    public long newDynamicId() {
        long inc = rpc.incarnation() & 0xFFFF;
        return DYNAMIC | ((long) self << 48) | (inc << 32) | (setCounter.incrementAndGet() & 0xFFFF_FFFFL);
    }

    /** Destroys a set everywhere: every node drops it and fails its waiters. */
    public void destroy(long setId) {
        List<Integer> others = otherMembers();
        if (!others.isEmpty()) {
            try {
                rpc.multicast(others, Wire.DESTROY, setId, Duration.ofMillis(timeoutMillis))
                        .get(timeoutMillis + 1000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                throw new KddmException("destroy of set " + setId + " failed: " + e, e);
            }
        }
        dropSet(setId);
    }

    private void dropSet(long setId) {
        SetTable<?> t;
        synchronized (pending) {
            t = sets.remove(setId);
            pending.remove(setId);
            orphans.remove(setId);
        }
        if (t != null) {
            t.failAll(new NoSuchSetException(setId));
        }
    }

    /** Runs {@code action} on the set now, or once it exists here (messages for a set not created yet wait). */
    private void withSet(long setId, Consumer<SetTable<?>> action) {
        SetTable<?> t = sets.get(setId);
        if (t == null) {
            synchronized (pending) {
                t = sets.get(setId);
                if (t == null) {
                    ArrayDeque<Consumer<SetTable<?>>> q = pending.computeIfAbsent(setId, k -> new ArrayDeque<>());
                    if (q.size() >= MAX_PENDING_PER_SET) {
                        log.warn("node {}: dropping a message for unknown KDDM set {}", self, setId);
                        return;
                    }
                    q.add(action);
                    if ((setId & DYNAMIC) != 0 && lookups.putIfAbsent(setId, Boolean.TRUE) == null) {
                        executor.execute(() -> {
                            try {
                                findOrLookup(setId);
                            } catch (KerrighedException e) {
                                log.warn("node {}: message for unknown KDDM set {} dropped: {}", self, setId,
                                        e.getMessage());
                                synchronized (pending) {
                                    pending.remove(setId);
                                }
                            } finally {
                                lookups.remove(setId);
                            }
                        });
                    }
                    return;
                }
            }
        }
        action.accept(t);
    }

    private void register() {
        rpc.register(Wire.REQ, HandlerKind.NON_BLOCKING, (ctx, r) -> {
            withSet(r.set(), t -> t.onReq(r));
            return null;
        });
        rpc.register(Wire.GRANT, HandlerKind.NON_BLOCKING, (ctx, g) -> {
            int from = ctx.caller();
            withSet(g.set(), t -> t.onGrant(from, g));
            return null;
        });
        rpc.register(Wire.INV, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            withSet(m.set(), t -> t.onInv(m));
            return null;
        });
        rpc.register(Wire.ACK, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            withSet(m.set(), t -> t.onAck(m));
            return null;
        });
        rpc.register(Wire.OWNER_IS, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            withSet(m.set(), t -> t.onOwnerIs(m));
            return null;
        });
        rpc.register(Wire.BACKUP, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            withSet(m.set(), t -> t.onBackup(m));
            return Boolean.TRUE;
        });
        rpc.register(Wire.REMOVED, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            withSet(m.set(), t -> t.onRemoved(m));
            return Boolean.TRUE;
        });
        rpc.register(Wire.REPORT, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            onRecoveryThread(() -> onReport(m));
            return null;
        });
        rpc.register(Wire.MARKER, HandlerKind.NON_BLOCKING, (ctx, m) -> {
            onRecoveryThread(() -> onMarker(m));      // after every message the sender sent before it
            return null;
        });
        rpc.register(Wire.LOOKUP, HandlerKind.NON_BLOCKING, (ctx, id) -> {
            SetTable<?> t = sets.get(id);
            return t == null ? null : new Wire.SetInfo(id, t.spec());
        });
        rpc.register(Wire.DESTROY, HandlerKind.BLOCKING, (ctx, id) -> {
            dropSet(id);
            return Boolean.TRUE;
        });
        rpc.register(Wire.STATS, HandlerKind.NON_BLOCKING, (ctx, ignored) -> new org.kerrighed.kddm.KddmStats(self, stats()));
    }

    private void onRecoveryThread(Runnable r) {
        try {
            recovery.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("node {}: KDDM is stopped; view message dropped", self);
        }
    }

    public List<SetStats> stats() {
        List<SetStats> l = new ArrayList<>();
        for (SetTable<?> t : sets.values()) {
            l.add(t.stats());
        }
        l.sort((a, b) -> Long.compare(a.setId(), b.setId()));
        return l;
    }

    // ------------------------------------------------------------------ views and recovery

    /**
     * Installs a view: {@code live} are the members (joining, online, leaving), {@code failed} those declared
     * failed since the last view. Returns once local state is adjusted and the reports are sent; the node is
     * synced when every other member's report for this epoch has arrived.
     */
    public void viewChanged(long newEpoch, Collection<Integer> live, Collection<Integer> failed,
                            Collection<Integer> leavingNow) {
        if (unusable != null) {
            return;
        }
        int[] now = live.stream().mapToInt(Integer::intValue).sorted().distinct().toArray();
        try {
            recovery.submit(() -> applyView(newEpoch, now, !failed.isEmpty(), leavingNow)).get(timeoutMillis,
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.error("node {}: KDDM could not apply view {}", self, newEpoch, e);
        }
    }

    private void applyView(long newEpoch, int[] now, boolean failure, Collection<Integer> leavingNow) {
        if (newEpoch <= epoch || unusable != null) {
            return;
        }
        leaving.clear();
        leaving.addAll(leavingNow);
        if (reported) {
            reportBase = members;                // homes moved from the last view this node reported for
        }
        full = failure || failurePending || !synced;
        failurePending |= failure;
        for (int m : members) {
            departurePending |= Arrays.binarySearch(now, m) < 0;   // before adjust: see SetTable.sendRequest
        }
        synchronized (syncWaiters) {
            synced = false;
        }
        members = now;
        epoch = newEpoch;
        reported = false;
        // a view that was not reconciled: keep what it taught us (the next reports may not say it again)
        carried.addAll(ownItems);
        reports.values().forEach(r -> carried.addAll(r.items()));
        reports.clear();
        ownItems.clear();
        markers.clear();
        for (SetTable<?> t : sets.values()) {
            t.adjust(now, failure);
        }
        for (int m : now) {
            if (m != self) {
                send(m, Wire.MARKER, new Wire.Marker(newEpoch, self));
            }
        }
        List<Integer> markedAhead = earlyMarkers.remove(newEpoch);
        if (markedAhead != null) {
            markers.addAll(markedAhead);
        }
        List<Wire.Report> ahead = early.remove(newEpoch);
        if (ahead != null) {
            ahead.forEach(r -> reports.put(r.from(), r));
        }
        early.keySet().removeIf(e -> e < newEpoch);
        earlyMarkers.keySet().removeIf(e -> e < newEpoch);
        maybeReport();
    }

    private void onMarker(Wire.Marker m) {
        if (m.epoch() > epoch) {
            earlyMarkers.computeIfAbsent(m.epoch(), k -> new ArrayList<>()).add(m.from());
        } else if (m.epoch() == epoch) {
            markers.add(m.from());
            maybeReport();
        }
    }

    /** Once every member's marker arrived (every transfer made before the view is here), reports to the homes. */
    private void maybeReport() {
        if (reported) {
            return;
        }
        for (int m : members) {
            if (m != self && !markers.contains(m)) {
                return;
            }
        }
        reported = true;
        Map<Integer, List<Wire.Item>> out = new HashMap<>();
        for (SetTable<?> t : sets.values()) {
            t.report(reportBase, members, full, out);
        }
        List<Wire.Item> mine = out.remove(self);
        if (mine != null) {
            ownItems.addAll(mine);
        }
        for (int m : members) {
            if (m != self) {
                send(m, Wire.REPORT, new Wire.Report(epoch, self, full, out.getOrDefault(m, List.of())));
            }
        }
        maybeSynced();
    }

    private void onReport(Wire.Report r) {
        if (r.epoch() > epoch) {
            early.computeIfAbsent(r.epoch(), k -> new ArrayList<>()).add(r);
            return;
        }
        if (r.epoch() < epoch) {
            if (!synced) {
                carried.addAll(r.items());   // from a view not reconciled here: still worth knowing
            }
            return;
        }
        reports.put(r.from(), r);
        maybeSynced();
    }

    private void maybeSynced() {
        if (synced || !reported) {
            return;
        }
        for (int m : members) {
            if (m != self && !reports.containsKey(m)) {
                return;
            }
        }
        boolean failure = failurePending;
        for (Wire.Report r : reports.values()) {
            failure |= r.failure() && failurePending;
        }
        Map<Long, Map<Long, List<Wire.Item>>> bySet = new HashMap<>();
        List<Wire.Item> all = new ArrayList<>(ownItems);
        all.addAll(carried);
        carried.clear();
        reports.values().forEach(r -> all.addAll(r.items()));
        for (Wire.Item it : all) {
            bySet.computeIfAbsent(it.set(), k -> new HashMap<>()).computeIfAbsent(it.id(), k -> new ArrayList<>()).add(it);
        }
        int[] now = members;
        for (var s : bySet.entrySet()) {
            SetTable<?> t;
            synchronized (pending) {
                t = sets.get(s.getKey());
                if (t == null) {
                    // a set this node has not created yet: what it must know as a home waits for its creation
                    Orphans o = orphans.computeIfAbsent(s.getKey(), k -> new Orphans());
                    o.failure |= failure;
                    s.getValue().forEach((id, items) -> o.items.computeIfAbsent(id, k -> new ArrayList<>()).addAll(items));
                    continue;
                }
            }
            resolveAll(t, s.getValue(), failure, now);
        }
        failurePending = false;
        departurePending = false;
        List<Runnable> ws;
        synchronized (syncWaiters) {
            synced = true;
            ws = new ArrayList<>(syncWaiters);
            syncWaiters.clear();
        }
        log.debug("node {}: KDDM synced at epoch {} ({} report items)", self, epoch, all.size());
        ws.forEach(executor::execute);
        for (SetTable<?> t : sets.values()) {
            t.resendPending();
            executor.execute(t::rereplicate);
        }
    }

    /** Report items for a set not created here yet. */
    private static final class Orphans {
        final Map<Long, List<Wire.Item>> items = new HashMap<>();
        boolean failure;
    }

    private final Map<Long, Orphans> orphans = new HashMap<>();   // guarded by pending

    private void resolveAll(SetTable<?> t, Map<Long, List<Wire.Item>> byId, boolean failure, int[] now) {
        for (var o : byId.entrySet()) {
            try {
                t.resolve(o.getKey(), o.getValue(), failure, now);
            } catch (RuntimeException e) {
                log.error("node {}: recovery of object {} of set {} failed", self, o.getKey(), t.id(), e);
            }
        }
    }

    /** This node leaves gracefully: hand every object to the others first. */
    public void flushAll() {
        for (SetTable<?> t : sets.values()) {
            t.flushAll();
        }
    }

    /** This node was fenced (or is closing): it serves nothing from now on and its callers fail. */
    public void stop(String why) {
        if (unusable != null) {
            return;
        }
        unusable = new KddmException("KDDM on node " + self + " is stopped: " + why);
        for (SetTable<?> t : sets.values()) {
            t.failAll(unusable);
        }
        synchronized (syncWaiters) {
            syncWaiters.clear();
        }
        recovery.shutdownNow();
        executor.shutdown();
    }

    public boolean stopped() {
        return unusable != null;
    }
}
