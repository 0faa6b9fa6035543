package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.BarrierService;
import org.kerrighed.ipc.internal.ChannelsService;
import org.kerrighed.ipc.internal.Sleepers;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.ipc.internal.SysvService;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.TypeRegistry;

import java.util.Set;

/**
 * A node's cluster IPC: cluster versions of the {@code java.util.concurrent} primitives, found by name from any
 * node, plus SysV-style IPC, pipes and FIFOs. One per node ({@code node.ipc()}), started on the node's KDDM;
 * every node of the cluster starts one (it creates the static KDDM sets the objects live in).
 *
 * <p>Objects are KDDM objects (replication {@value org.kerrighed.kddm.SetSpec#SYSTEM_REPLICATION}: their state
 * survives a node's death); threads that wait for one sleep until a wake-up message comes. Thread-safe.
 */
public final class Ipc implements AutoCloseable {
    /** KDDM static set ids used by IPC: 1100-1199. */
    static final long FIRST_SET = 1100;

    private final Kddm kddm;
    /** The permission mode of objects made without one: read and write for the owner and the group. */
    public static final int DEFAULT_MODE = 0660;

    private final Sleepers sleepers;
    private final org.kerrighed.ipc.internal.ReservationClock reservations =
            new org.kerrighed.ipc.internal.ReservationClock();
    private final SyncSets syncSets;
    private final BarrierService barriers;
    private final ChannelsService channels;
    private final SysvService sysv;

    private Ipc(Kddm kddm) {
        this.kddm = kddm;
        this.sleepers = new Sleepers(kddm);
        this.syncSets = new SyncSets(kddm);
        this.barriers = new BarrierService(kddm, sleepers);
        this.channels = new ChannelsService(this);
        this.sysv = new SysvService(this);
        kddm.addViewListener(this::viewChanged);
    }

    /** Starts IPC on {@code kddm}'s node (registers its messages, creates its sets). */
    public static Ipc start(Kddm kddm) {
        return new Ipc(kddm);
    }

    /**
     * IPC's wire types (ids 5000-5999: 5000-5099 the shared machinery and the java.util.concurrent primitives,
     * 5100-5199 queues, pipes and FIFOs, 5200-5299 SysV semaphore sets and message queues): every node and tool
     * of a cluster that uses IPC registers them. Service ids: 130-159; KDDM static sets: 1100-1199.
     */
    public static TypeRegistrar types() {
        return Ipc::registerTypes;
    }

    private static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-ipc", 5000, 5099)
                .register(5000, Sleepers.Wake.class)
                .register(5001, org.kerrighed.ipc.internal.WaiterRef.class)
                .register(5002, SyncState.Lock.class)
                .register(5003, SyncState.RwLock.class)
                .register(5004, SyncState.SemWaiter.class)
                .register(5005, SyncState.Semaphore.class)
                .register(5006, SyncState.Latch.class)
                .register(5007, SyncState.Barrier.class)
                .register(5008, SyncState.AtomicLong.class)
                .register(5009, SyncState.AtomicRef.class)
                .register(5015, BarrierService.Op.class)
                .register(5016, BarrierService.Reply.class)
                .register(5017, Sleepers.Wakes.class)
                .register(5018, ClusterLock.class, new org.kerrighed.rpc.NodeBound<>("send its name"))
                .register(5019, PipeReadEnd.class, new org.kerrighed.rpc.NodeBound<>("send its handle() and open it"
                        + " there"))
                .register(5020, PipeWriteEnd.class, new org.kerrighed.rpc.NodeBound<>("send its handle() and open it"
                        + " there"));
        ChannelsService.registerTypes(b);
        SysvService.registerTypes(b);
    }

    /** The node's KDDM. */
    public Kddm kddm() {
        return kddm;
    }

    /** Who calls, on this node (see {@link Kddm#callers()}). */
    public CallerContext callers() {
        return kddm.callers();
    }

    /** This node's sleepers (threads waiting for a wake-up message); for the implementations of IPC objects. */
    public Sleepers sleepers() {
        return sleepers;
    }

    /** How long this node has seen each lock reservation (see {@link #handOverLocks}). */
    org.kerrighed.ipc.internal.ReservationClock reservations() {
        return reservations;
    }

    // ------------------------------------------------------------ java.util.concurrent primitives

    /** The sets and per-node state of the java.util.concurrent primitives (for their implementations). */
    public SyncSets syncSets() {
        return syncSets;
    }

    /** The barriers this node coordinates, and the calls to other nodes' (for {@link ClusterCyclicBarrier}). */
    BarrierService barriers() {
        return barriers;
    }

    /** The non-fair cluster lock {@code name}, made with {@link #DEFAULT_MODE} if it does not exist. */
    public ClusterLock lock(String name) {
        return lock(name, false, DEFAULT_MODE);
    }

    /**
     * The cluster lock {@code name}; {@code fair} orders this node's threads by arrival. {@code mode} applies when
     * this node's instance makes the lock: the lock's first acquisition (anywhere) makes it; permissions are checked at each acquisition
     * ({@link org.kerrighed.kddm.access.PermissionDeniedException} without write access). Sends no message.
     */
    public ClusterLock lock(String name, boolean fair, int mode) {
        return new ClusterLock(syncSets.core("lock", name, n -> new ClusterLock.Core(this, n, fair, mode)));
    }

    /**
     * A cluster lock held by a thread that hands it over: its name, how many holds, and how it was made.
     *
     * @param name  the lock's name
     * @param holds the hold count (reentrant acquisitions)
     * @param fair  whether this node's instance was fair
     * @param mode  the permission mode it was made with
     */
    public record HeldLock(String name, int holds, boolean fair, int mode) implements java.io.Serializable {
    }

    /** The {@link ClusterLock}s the calling thread holds on this node, with their hold counts (nothing released). */
    public java.util.List<HeldLock> heldLocks() {
        java.util.List<HeldLock> held = new java.util.ArrayList<>();
        for (ClusterLock.Core c : syncSets.cores("lock", ClusterLock.Core.class)) {
            if (c.local.isHeldByCurrentThread()) {
                held.add(new HeldLock(c.name, c.local.getHoldCount(), c.fair, c.mode));
            }
        }
        return held;
    }

    /**
     * Releases every {@link ClusterLock} the calling thread holds on this node, each reserved for process
     * {@code pid} until {@code reserve} has passed: meanwhile no caller but that process (on any node) takes it.
     * The process layer calls it when a process moves to another node; {@link #takeOverLocks} takes them back.
     * Read-write locks, semaphores and condition waits are not carried.
     *
     * @return what the thread held (empty if nothing)
     */
    public java.util.List<HeldLock> handOverLocks(int pid, java.time.Duration reserve) {
        long id = 0;
        java.util.List<HeldLock> held = new java.util.ArrayList<>();
        for (ClusterLock.Core c : syncSets.cores("lock", ClusterLock.Core.class)) {
            if (c.local.isHeldByCurrentThread()) {
                if (id == 0) {
                    id = reservations.start(reserve.toMillis());   // counted from now here, first sight elsewhere
                }
                int holds = c.handOver(pid, id, reserve.toMillis());
                held.add(new HeldLock(c.name, holds, c.fair, c.mode));
            }
        }
        return held;
    }

    /**
     * Takes back, for the calling thread, locks that {@link #handOverLocks} reserved for the calling process
     * (on this node or another), with their hold counts.
     *
     * @throws org.kerrighed.rpc.KerrighedException when a lock is not back within {@code timeout} (the locks
     *         already taken are released again, still reserved)
     */
    public void takeOverLocks(java.util.List<HeldLock> held, int pid, java.time.Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            for (HeldLock h : held) {
                ClusterLock l = lock(h.name(), h.fair(), h.mode());
                if (!l.tryLock(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    throw new org.kerrighed.rpc.KerrighedException("lock '" + h.name() + "' was not taken back in "
                            + timeout);
                }
                for (int i = 1; i < h.holds(); i++) {
                    l.lock();                                    // reentrant: no message
                }
            }
        } catch (RuntimeException | InterruptedException e) {
            handOverLocks(pid, timeout);                         // keep them for the process: it may try again
            throw e;
        }
    }

    /** The non-fair cluster read-write lock {@code name} (made by its first write lock, with {@link #DEFAULT_MODE}). */
    public ClusterReadWriteLock readWriteLock(String name) {
        return readWriteLock(name, false, DEFAULT_MODE);
    }

    /** The cluster read-write lock {@code name}; {@code fair} orders this node's threads. Sends no message. */
    public ClusterReadWriteLock readWriteLock(String name, boolean fair, int mode) {
        return new ClusterReadWriteLock(syncSets.core("rwlock", name,
                n -> new ClusterReadWriteLock.Core(this, n, fair, mode)));
    }

    /** The non-fair cluster semaphore {@code name}, made with {@code permits} if it does not exist. */
    public ClusterSemaphore semaphore(String name, int permits) {
        return semaphore(name, permits, false, DEFAULT_MODE);
    }

    /**
     * The cluster semaphore {@code name}; {@code permits}, {@code fair} and {@code mode} apply when this call makes
     * it. Waits for one KDDM round trip at most.
     */
    public ClusterSemaphore semaphore(String name, int permits, boolean fair, int mode) {
        return new ClusterSemaphore(this, name, permits, fair, mode);
    }

    /** The cluster count-down latch {@code name}, made with {@code count} if it does not exist. */
    public ClusterCountDownLatch countDownLatch(String name, long count) {
        return new ClusterCountDownLatch(this, name, count, DEFAULT_MODE);
    }

    /** The cluster cyclic barrier {@code name} for {@code parties} threads, without an action. */
    public ClusterCyclicBarrier cyclicBarrier(String name, int parties) {
        return cyclicBarrier(name, parties, null);
    }

    /**
     * The cluster cyclic barrier {@code name} for {@code parties} threads; {@code action} (may be null) runs on this
     * node when the last party to arrive is a thread of this node.
     *
     * @throws IllegalArgumentException when the barrier exists with another number of parties
     */
    public ClusterCyclicBarrier cyclicBarrier(String name, int parties, Runnable action) {
        return new ClusterCyclicBarrier(this, name, parties, action, DEFAULT_MODE);
    }

    /** The cluster atomic long {@code name}, made with value 0 and {@link #DEFAULT_MODE} if it does not exist. */
    public ClusterAtomicLong atomicLong(String name) {
        return atomicLong(name, 0, DEFAULT_MODE);
    }

    /** The cluster atomic long {@code name}; {@code initial} and {@code mode} apply when this call makes it. */
    public ClusterAtomicLong atomicLong(String name, long initial, int mode) {
        return new ClusterAtomicLong(this, name, initial, mode);
    }

    /** The cluster atomic reference {@code name} to values of {@code type} (registered), initially null. */
    public <V> ClusterAtomicReference<V> atomicReference(String name, Class<V> type) {
        return atomicReference(name, type, null, DEFAULT_MODE);
    }

    /** The cluster atomic reference {@code name}; {@code initial} and {@code mode} apply when this call makes it. */
    public <V> ClusterAtomicReference<V> atomicReference(String name, Class<V> type, V initial, int mode) {
        return new ClusterAtomicReference<>(this, name, type, initial, mode);
    }

    // ------------------------------------------------------------ queues, pipes and FIFOs

    /**
     * The cluster queue {@code name} holding {@code type} elements (a registered type), created with this node as
     * its home if it does not exist yet; any node gets the same queue by name.
     *
     * @param capacity the bound ({@link Integer#MAX_VALUE}: unbounded)
     * @throws IllegalArgumentException when the queue exists with another type or capacity
     */
    public <E> ClusterBlockingQueue<E> queue(String name, Class<E> type, int capacity) {
        return new ClusterBlockingQueue<>(channels.queue(name, type, capacity), type);
    }

    /** An unbounded cluster queue (see {@link #queue(String, Class, int)}). */
    public <E> ClusterBlockingQueue<E> queue(String name, Class<E> type) {
        return queue(name, type, Integer.MAX_VALUE);
    }

    /** A new pipe with both ends open on this node; its buffer holds 64 KiB. */
    public Pipe pipe() {
        return pipe(org.kerrighed.ipc.internal.PipeService.DEFAULT_CAPACITY);
    }

    /** A new pipe whose buffer holds {@code capacity} bytes (at least 4096). */
    public Pipe pipe(int capacity) {
        if (capacity < org.kerrighed.ipc.internal.PipeService.PIPE_BUF) {
            throw new IllegalArgumentException("pipe capacity must be at least 4096 bytes, got " + capacity);
        }
        var ends = channels.pipes().pipe(capacity);
        return new Pipe(new PipeReadEnd(ends[0]), new PipeWriteEnd(ends[1]));
    }

    /**
     * A new pipe whose buffer already holds {@code data} (at most {@code capacity} bytes), both ends open here:
     * how a checkpoint's pipe is restored.
     */
    public Pipe pipe(int capacity, byte[] data) {
        if (capacity < org.kerrighed.ipc.internal.PipeService.PIPE_BUF) {
            throw new IllegalArgumentException("pipe capacity must be at least 4096 bytes, got " + capacity);
        }
        var ends = channels.pipes().pipe(capacity, data);
        return new Pipe(new PipeReadEnd(ends[0]), new PipeWriteEnd(ends[1]));
    }

    /**
     * The pipe {@code handle} names as it is now: its capacity, how many ends are open, and a copy of the bytes in
     * its buffer (nothing is taken); empty when the pipe no longer exists. Consistent only while nobody uses it
     * (a checkpoint takes it with the processes that hold its ends frozen).
     */
    public java.util.Optional<PipeSnapshot> pipeSnapshot(PipeEndHandle handle) {
        return java.util.Optional.ofNullable(channels.pipes().snapshot(handle.pipe()));
    }

    /**
     * Closes every pipe or FIFO end that {@code holder} opened on this node and has not closed (the process layer
     * calls it when a process ends or leaves the node, as Unix closes a process's descriptors). Returns how many.
     */
    public int closePipeEnds(org.kerrighed.kddm.access.Caller holder) {
        return channels.pipes().closeAll(holder);
    }

    /** Opens, on this node, a new reading end of the pipe {@code handle} names (a handle from any node). */
    public PipeReadEnd openReadEnd(PipeEndHandle handle) {
        return new PipeReadEnd(channels.pipes().open(new PipeEndHandle(handle.pipe(), true)));
    }

    /** Opens, on this node, a new writing end of the pipe {@code handle} names (a handle from any node). */
    public PipeWriteEnd openWriteEnd(PipeEndHandle handle) {
        return new PipeWriteEnd(channels.pipes().open(new PipeEndHandle(handle.pipe(), false)));
    }

    /** Opens the end {@code handle} names: a {@link PipeReadEnd} or a {@link PipeWriteEnd}. */
    public java.nio.channels.Channel openPipeEnd(PipeEndHandle handle) {
        return handle.readEnd() ? openReadEnd(handle) : openWriteEnd(handle);
    }

    /**
     * Creates the named FIFO with permission {@code mode} (owner, group, others: read 4, write 2) for the current
     * caller's credentials, unless it exists.
     *
     * @return true when created, false when it existed
     */
    public boolean fifo(String name, int mode) {
        return channels.pipes().mkfifo(name, mode);
    }

    /**
     * Opens FIFO {@code name} for reading, from any node; needs read permission.
     *
     * @throws IllegalArgumentException when it does not exist
     * @throws org.kerrighed.kddm.access.PermissionDeniedException when the caller may not read it
     */
    public PipeReadEnd openFifoForReading(String name) {
        return new PipeReadEnd(channels.pipes().openFifo(name, true));
    }

    /**
     * Opens FIFO {@code name} for writing, from any node; needs write permission. Writes wait until a reader has
     * opened it.
     */
    public PipeWriteEnd openFifoForWriting(String name) {
        return new PipeWriteEnd(channels.pipes().openFifo(name, false));
    }

    /** Removes FIFO {@code name} (its owner, creator or root); returns false when it did not exist. */
    public boolean unlinkFifo(String name) {
        return channels.pipes().unlinkFifo(name);
    }

    // ------------------------------------------------------------ SysV semaphore sets and message queues

    /** SysV-style semaphore sets ({@code semget}, {@code semop}, {@code semctl}) shared by the cluster. */
    public org.kerrighed.ipc.sysv.SysvSemaphores semaphores() {
        return sysv.semaphores();
    }

    /** SysV-style message queues ({@code msgget}, {@code msgsnd}, {@code msgrcv}, {@code msgctl}) shared by the cluster. */
    public org.kerrighed.ipc.sysv.SysvMessageQueues messageQueues() {
        return sysv.messageQueues();
    }

    private void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed) {
        barriers.viewChanged();
        channels.viewChanged(epoch, members, failed);
        sysv.viewChanged(epoch, members, failed);
        if (!failed.isEmpty()) {
            sleepers.wakeAll();          // wake-ups sent by (or to be sent by) dead nodes: everyone re-checks
        }
    }

    @Override
    public void close() {
        barriers.close();
        channels.close();
        sysv.close();
        sleepers.wakeAll();
    }

    @Override
    public String toString() {
        return "ipc of node " + kddm.nodeId();
    }
}
