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
