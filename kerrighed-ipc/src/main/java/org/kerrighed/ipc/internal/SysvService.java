package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.ipc.sysv.KeyExistsException;
import org.kerrighed.ipc.sysv.Message;
import org.kerrighed.ipc.sysv.NoSuchKeyException;
import org.kerrighed.ipc.sysv.Sysv;
import org.kerrighed.ipc.sysv.SysvException;
import org.kerrighed.ipc.sysv.SysvMessageQueues;
import org.kerrighed.ipc.sysv.SysvSemaphores;
import org.kerrighed.ipc.internal.SysvState.Counter;
import org.kerrighed.ipc.internal.SysvState.KeyEntry;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.IpcPerm;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.TypeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;

/**
 * The node's part of IPC that serves SysV semaphore sets and message queues. Wire types 5200-5299, service ids
 * 150-159, KDDM static sets 1180-1199 (all replicated, {@link SetSpec#SYSTEM_REPLICATION}, and
 * {@link SetFlag#LOCAL_EXCLUSIVE}: a write handle is a cluster-wide mutex on the object):
 *
 * <table>
 *   <caption>sets</caption>
 *   <tr><td>1180</td><td>id counters: object 0 semaphore sets, 1 message queues</td></tr>
 *   <tr><td>1181, 1184</td><td>key to id, per family (object id: the key as an unsigned int)</td></tr>
 *   <tr><td>1182</td><td>semaphore sets, by id</td></tr>
 *   <tr><td>1183</td><td>undo index: object {@code n} lists the sets where threads of node {@code n} have undo
 *       adjustments, object {@code 2^32 + pid} those of process {@code pid}</td></tr>
 *   <tr><td>1185</td><td>message queues, by id</td></tr>
 * </table>
 *
 * <p>Ids are {@code sequence << 8 | creator node}: unique in the cluster, and they name a message queue's master.
 * Lock order: a key object, then the counter or a data object; the undo index, then a data object. Never the
 * reverse, so handles held together cannot deadlock.
 *
 * <p>Threads that hold undo adjustments are watched by a reaper that runs every
 * {@value #REAPER_PERIOD_MS} ms and only looks at those threads ({@link Thread#isAlive()}): when one has ended, its
 * adjustments are applied. A Cleaner would depend on garbage collection; the reaper costs nothing while no
 * thread holds an undo.
 */
public final class SysvService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SysvService.class);

    static final long COUNTERS = 1180;
    static final long SEM_KEYS = 1181;
    static final long SEM_SETS = 1182;
    static final long UNDO_INDEX = 1183;
    static final long MSG_KEYS = 1184;
    static final long MSG_QUEUES = 1185;

    static final int FAMILY_SEM = 0;
    static final int FAMILY_MSG = 1;
    static final long REAPER_PERIOD_MS = 200;
    private static final long MAX_SEQ = (1L << 23) - 1;

    private final Ipc ipc;
    private final Kddm kddm;
    private final KddmSet<Counter> counters;
    final KddmSet<KeyEntry> semKeys;
    final KddmSet<SysvState.SemSet> semSets;
    final KddmSet<SysvState.UndoIndex> undoIndex;
    final KddmSet<KeyEntry> msgKeys;
    final KddmSet<SysvState.MsgQueue> msgQueues;
    private final SysvSemaphoreTable semaphores;
    private final SysvMessageTable messages;
    private final Map<Long, WeakReference<Thread>> undoThreads = new ConcurrentHashMap<>();
    private final ScheduledExecutorService reaper;
    private volatile boolean closed;
    // Nodes an incarnation of which ended and whose undo may not be done, with Kddm.lastDeparture when last noted: a
    // loop that finished removes a node only if no later departure was noted meanwhile.
    private final Map<Integer, Long> undoPending = new ConcurrentHashMap<>();
    private final Set<Integer> undoing = ConcurrentHashMap.newKeySet();       // those a loop of this node applies now
    private final Map<Integer, Long> departuresSeen = new ConcurrentHashMap<>();  // Kddm.lastDeparture at the last view

    public SysvService(Ipc ipc) {
        this.ipc = ipc;
        this.kddm = ipc.kddm();
        // Objects never hold null (KDDM ships a null value as "no data"): keys start free, counters at 1.
        counters = set(COUNTERS, Counter.class, id -> new Counter(1, false));
        semKeys = set(SEM_KEYS, KeyEntry.class, id -> KeyEntry.FREE);
        semSets = set(SEM_SETS, SysvState.SemSet.class, null);
        undoIndex = set(UNDO_INDEX, SysvState.UndoIndex.class, id -> new SysvState.UndoIndex());
        msgKeys = set(MSG_KEYS, KeyEntry.class, id -> KeyEntry.FREE);
        msgQueues = set(MSG_QUEUES, SysvState.MsgQueue.class, null);
        semaphores = new SysvSemaphoreTable(this);
        messages = new SysvMessageTable(this);
        reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ipc-sysv-undo-reaper-" + kddm.nodeId());
            t.setDaemon(true);
            return t;
        });
        reaper.scheduleWithFixedDelay(this::reapEndedThreads, REAPER_PERIOD_MS, REAPER_PERIOD_MS,
                TimeUnit.MILLISECONDS);
    }

    private <T> KddmSet<T> set(long id, Class<T> type, java.util.function.LongFunction<T> initial) {
        SetSpec spec = kddm.objectSpec(type).withReplication(SetSpec.SYSTEM_REPLICATION)
                .withFlags(SetFlag.LOCAL_EXCLUSIVE);
        return kddm.createStaticSet(id, spec, new ObjectLinker<>(type, initial));
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-ipc-sysv", 5200, 5299)
                .register(5200, Counter.class)
                .register(5201, KeyEntry.class)
                .register(5202, SysvState.SemSet.class)
                .register(5203, SysvState.SemWaiter.class)
                .register(5204, SysvState.Undo.class)
                .register(5205, SysvState.UndoIndex.class)
                .register(5206, SysvState.Holding.class)
                .register(5207, SysvState.MsgQueue.class)
                .register(5208, SysvState.MsgWaiter.class)
                .register(5209, SysvState.MsgReq.class)
                .register(5210, SysvState.MsgReply.class)
                .register(5211, Message.class)
                .register(5212, Message[].class)
                .register(5213, Caller[].class);
    }

    public SysvSemaphores semaphores() {
        return semaphores;
    }

    public SysvMessageQueues messageQueues() {
        return messages;
    }

    Ipc ipc() {
        return ipc;
    }

    Kddm kddm() {
        return kddm;
    }

    Sleepers sleepers() {
        return ipc.sleepers();
    }

    // ------------------------------------------------------------------ keys and ids

    /**
     * {@code get}'s key lookup, under the key object's write handle (so two nodes creating the same key get one
     * object). {@code existing} tests an id the key names (false: it was removed, the key is free; it throws
     * when the caller may not have it); {@code create} makes a new object and returns its id.
     */
    int lookup(KddmSet<KeyEntry> keys, String kind, int key, int flags, IntPredicate existing, IntSupplier create) {
        if (key == Sysv.IPC_PRIVATE) {
            return create.getAsInt();
        }
        Handle<KeyEntry> h = keys.grab(Integer.toUnsignedLong(key));
        boolean changed = false;
        try {
            KeyEntry e = h.value();
            if (e != null && e.id() != 0 && existing.test(e.id())) {
                if ((flags & Sysv.IPC_CREAT) != 0 && (flags & Sysv.IPC_EXCL) != 0) {
                    throw new KeyExistsException(kind + " with key " + key + " exists (id " + e.id()
                            + ") and IPC_CREAT|IPC_EXCL was given");
                }
                return e.id();
            }
            if ((flags & Sysv.IPC_CREAT) == 0) {
                throw new NoSuchKeyException("no " + kind + " with key " + key + " (give IPC_CREAT to create one)");
            }
            int id = create.getAsInt();
            h.set(new KeyEntry(id));
            changed = true;
            return id;
        } finally {
            h.release(changed);
        }
    }

    /** Frees {@code key} if it still names {@code id} (after a removal). */
    void forgetKey(KddmSet<KeyEntry> keys, int key, int id) {
        if (key == Sysv.IPC_PRIVATE) {
            return;
        }
        keys.grabIfExists(Integer.toUnsignedLong(key)).ifPresent(h -> {
            boolean mine = h.value() != null && h.value().id() == id;
            if (mine) {
                h.set(KeyEntry.FREE);
            }
            h.release(mine);
        });
    }

    /** A new id of {@code family}, unique in the cluster: {@code sequence << 8 | this node}. */
    int allocate(int family, KddmSet<?> data) {
        Handle<Counter> h = counters.grab(family);
        try {
            Counter c = h.value() == null ? new Counter(1, false) : h.value();
            long next = c.next();
            boolean wrapped = c.wrapped();
            for (long tries = 0; tries <= MAX_SEQ; tries++) {
                long seq = next;
                next = next >= MAX_SEQ ? 1 : next + 1;
                wrapped |= seq == MAX_SEQ;
                int id = (int) (seq << 8 | kddm.nodeId());
                if (wrapped && data.getIfExists(id).map(r -> {
                    r.close();
                    return true;
                }).orElse(false)) {
                    continue;
                }
                h.set(new Counter(next, wrapped));
                return id;
            }
            throw new SysvException("ENOSPC", "no free id left for a new "
                    + (family == FAMILY_SEM ? "semaphore set" : "message queue"));
        } finally {
            h.close();
        }
    }

    /** The node that made object {@code id}. */
    static int creatorNode(int id) {
        return id & 0xff;
    }

    /**
     * Checks the access {@code mode}'s permission bits ask for on an existing object (as Linux's {@code ipcperms}
     * on {@code get}): read if any read bit is set, write if any write bit is.
     */
    static void checkRequested(IpcPerm perm, Credentials c, int mode, String what) {
        if ((mode & 0444) != 0) {
            perm.check(c, Access.READ, what);
        }
        if ((mode & 0222) != 0) {
            perm.check(c, Access.WRITE, what);
        }
    }

    static void checkMode(int mode) {
        if ((mode & ~0777) != 0) {
            throw new SysvException("EINVAL", "mode has bits other than 0777: 0" + Integer.toOctalString(mode));
        }
    }

    // ------------------------------------------------------------------ undo holders

    // A thread as a holder of undo adjustments ({@link #undoHolder}): its id tagged with its node's incarnation
    // (EpochTagged, Kddm.incarnation()). A node that died and came back names its new threads as the old ones were
    // named (a JVM counts thread ids from 1 again); the incarnation tells the adjustments its dead threads left, which
    // are to be applied, from those of its live ones.

    /** {@code c} as a holder of undo adjustments: a thread of this node carries this node's incarnation. */
    Caller undoHolder(Caller c) {
        if (c.isProcess() || c.node() != kddm.nodeId()) {
            return c;
        }
        return new Caller(c.node(), 0, EpochTagged.of(kddm.incarnation(), c.thread()));
    }

    /**
     * Whether {@code holder}, a thread holder of {@link #undoHolder}, ran on an incarnation of its node that is gone.
     * One of unknown incarnation (0: it took its adjustments before its node's first view) goes by membership alone.
     */
    boolean incarnationGone(Caller holder) {
        long incarnation = EpochTagged.epoch(holder.thread());
        if (incarnation == 0) {
            return holder.node() != kddm.nodeId() && !kddm.isMember(holder.node());
        }
        return kddm.incarnationEnded(holder.node(), incarnation);
    }

    /** {@code holder} as callers name it: a thread without its node's incarnation (as shown by GETPID and logs). */
    static Caller plainHolder(Caller holder) {
        return holder.isProcess() ? holder : new Caller(holder.node(), 0, EpochTagged.value(holder.thread()));
    }

    /**
     * The holders of undo adjustments that {@code holder} names: itself; for a thread named as callers name it (without
     * an incarnation), that thread of its node's live incarnation (on this node: this incarnation).
     */
    java.util.function.Predicate<Caller> sameUndoHolder(Caller holder) {
        if (holder.isProcess() || EpochTagged.epoch(holder.thread()) != 0) {
            return holder::sameHolder;
        }
        long self = EpochTagged.epoch(EpochTagged.of(kddm.incarnation(), 0));
        return h -> !h.isProcess() && h.node() == holder.node() && EpochTagged.value(h.thread()) == holder.thread()
                && (h.node() == kddm.nodeId() ? EpochTagged.epoch(h.thread()) == self : !incarnationGone(h));
    }

    /** Watches the calling thread (a holder with undo adjustments) so its adjustments are applied when it ends. */
    void watchThread(Caller holder) {
        if (!holder.isProcess() && holder.node() == kddm.nodeId()
                && EpochTagged.value(holder.thread()) == Thread.currentThread().threadId()) {
            undoThreads.computeIfAbsent(holder.thread(), t -> new WeakReference<>(Thread.currentThread()));
        }
    }

    private void reapEndedThreads() {
        try {
            for (Map.Entry<Long, WeakReference<Thread>> e : undoThreads.entrySet()) {
                Thread t = e.getValue().get();
                if (t == null || !t.isAlive()) {
                    Caller holder = new Caller(kddm.nodeId(), 0, e.getKey());
                    log.debug("{} ended: applying its semaphore undo adjustments", plainHolder(holder));
                    semaphores.holderExited(holder);
                    undoThreads.remove(e.getKey(), e.getValue());
                }
            }
        } catch (RuntimeException e) {
            log.warn("node {}: applying the undo adjustments of ended threads failed (will retry): {}",
                    kddm.nodeId(), e.toString());
        }
    }

    /**
     * A view was installed ({@code failed}: nodes declared failed since the previous one). Every node keeps the
     * nodes an incarnation of which ended (they failed or left, or came back as another incarnation in views this
     * node missed: {@link Kddm#lastDeparture} grew) and whose threads' undo adjustments may not be applied yet, also
     * once such a node is back (only its ended incarnations' adjustments are applied). The lowest live member other
     * than that node applies them, one retried loop per node ({@link #undoFailed}). A member that becomes the lowest
     * because the last one died takes over what that one had not finished (applying twice is harmless: what is
     * applied is removed in the same write).
     */
    public void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed) {
        Set<Integer> known = new java.util.HashSet<>(members);
        known.addAll(failed);
        known.addAll(departuresSeen.keySet());             // a node that left is in neither
        for (int node : known) {
            long departed = kddm.lastDeparture(node);
            Long seen = departuresSeen.put(node, departed);
            if (departed >= 0 && (seen == null || departed > seen || failed.contains(node))) {
                undoPending.merge(node, departed, Math::max);
            }
        }
        undoPending.remove(kddm.nodeId());                 // this node's earlier incarnations: another member's work
        if (members.isEmpty()) {
            return;
        }
        for (int node : undoPending.keySet()) {
            launchUndo(node);
        }
    }

    /**
     * Starts the loop that applies node {@code node}'s pending undo adjustments, unless one runs or this node is not
     * the lowest member other than that node. Off the listener thread: KDDM operations wait until the view is
     * reconciled. A departure noted just as a loop ends is taken by a loop started again.
     */
    private void launchUndo(int node) {
        if (closed || Arrays.stream(kddm.members()).filter(m -> m != node).min().orElse(-1) != kddm.nodeId()
                || !undoing.add(node)) {
            return;
        }
        Thread.ofVirtual().name("ipc-sysv-undo-failed-" + node).start(() -> {
            try {
                undoFailed(node);
            } finally {
                undoing.remove(node);
            }
            if (undoPending.containsKey(node)) {
                launchUndo(node);
            }
        });
    }

    /** Tests only: how many of the next attempts at a failed node's undo adjustments fail (as a timeout would). */
    public static final java.util.concurrent.atomic.AtomicInteger FAIL_UNDO_FOR_TESTS =
            new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Applies the undo adjustments of the threads of failed node {@code node}'s incarnations that are gone, retried
     * (100 ms, doubling up to 5 s) until done: a semaphore a dead thread held with SEM_UNDO would otherwise stay held
     * for good (the first try often meets KDDM still recovering from the failure). The node may be back meanwhile:
     * its new incarnation's adjustments are kept ({@link #incarnationGone}). Stops when this node closes.
     */
    private void undoFailed(int node) {
        long pause = 100;
        int tries = 0;
        while (true) {
            Long noted = undoPending.get(node);
            if (closed || noted == null) {
                return;
            }
            try {
                if (FAIL_UNDO_FOR_TESTS.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    throw new org.kerrighed.kddm.KddmException("an attempt made to fail (tests)");
                }
                semaphores.nodeFailed(node);
                if (undoPending.remove(node, noted)) {
                    return;
                }
                continue;                                  // another incarnation ended meanwhile: again, at once
            } catch (RuntimeException e) {
                if (tries++ < 6 || tries % 12 == 0) {       // then once a minute
                    log.warn("node {}: applying the undo adjustments of failed node {} failed (try {}, the next in"
                            + " {} ms): {}", kddm.nodeId(), node, tries, pause, e.toString());
                }
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                return;
            }
            pause = Math.min(pause * 2, 5000);
        }
    }

    @Override
    public void close() {
        closed = true;
        reaper.shutdownNow();
    }
}
