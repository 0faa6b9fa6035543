package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.ChannelsService;
import org.kerrighed.ipc.internal.Sleepers;
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
    private final Sleepers sleepers;
    private final ChannelsService channels;
    private final SysvService sysv;

    private Ipc(Kddm kddm) {
        this.kddm = kddm;
        this.sleepers = new Sleepers(kddm);
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
                .register(5001, org.kerrighed.ipc.internal.WaiterRef.class);
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

    // ------------------------------------------------------------ java.util.concurrent primitives

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

    private void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed) {
        channels.viewChanged(epoch, members, failed);
        sysv.viewChanged(epoch, members, failed);
        if (!failed.isEmpty()) {
            sleepers.wakeAll();          // wake-ups sent by (or to be sent by) dead nodes: everyone re-checks
        }
    }

    @Override
    public void close() {
        channels.close();
        sysv.close();
        sleepers.wakeAll();
    }

    @Override
    public String toString() {
        return "ipc of node " + kddm.nodeId();
    }
}
