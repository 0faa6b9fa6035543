package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.ipc.internal.QueueWire.QueueMeta;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.TypeRegistry;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The node's part of IPC that serves queues, pipes and FIFOs. Wire types 5100-5199, service ids 140-149, KDDM
 * static sets 1150-1179 (1150: queue metas, 1151: pipe and FIFO infos).
 */
public final class ChannelsService implements AutoCloseable {
    /** KDDM set of {@link QueueMeta}s, by queue name id. */
    public static final long QUEUE_META_SET = 1150;
    /** KDDM set of {@link PipeWire.PipeInfo}s, by pipe id (FIFOs: their name's id). */
    public static final long PIPE_INFO_SET = 1151;

    private final Ipc ipc;
    private final Kddm kddm;
    private final KddmSet<QueueMeta> metas;
    private final QueueService queues;
    private final PipeService pipes;
    private final Map<Long, QueueClient> clients = new ConcurrentHashMap<>();
    private Set<Integer> lastMembers = Set.of();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("ipc-channels-timer").daemon().factory());

    public ChannelsService(Ipc ipc) {
        this.ipc = ipc;
        this.kddm = ipc.kddm();
        this.metas = kddm.createStaticSet(QUEUE_META_SET,
                kddm.objectSpec(QueueMeta.class).withReplication(SetSpec.SYSTEM_REPLICATION),
                new ObjectLinker<>(QueueMeta.class));
        this.queues = new QueueService(kddm, ipc.sleepers(), metas, clients);
        this.pipes = new PipeService(ipc);
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-ipc-channels", 5100, 5199)
                .register(5100, QueueMeta.class)
                .register(5101, QueueWire.Append.class)
                .register(5102, QueueWire.AppendReply.class)
                .register(5103, QueueWire.Take.class)
                .register(5104, QueueWire.TakeReply.class)
                .register(5105, QueueWire.Push.class)
                .register(5106, QueueWire.Ack.class)
                .register(5107, QueueWire.Inspect.class)
                .register(5108, QueueWire.InspectReply.class)
                .register(5109, QueueWire.Repl.class)
                .register(5110, QueueWire.ReplReply.class)
                .register(5111, QueueWire.Memo.class)
                .register(5112, QueueWire.Snapshot.class)
                .register(5130, PipeWire.PipeInfo.class)
                .register(5131, PipeWire.EndRef.class)
                .register(5132, PipeWire.PipeOp.class)
                .register(5133, PipeWire.PipeReply.class)
                .register(5134, PipeWire.Counts.class)
                .register(5135, PipeWire.Adopt.class)
                .register(5136, org.kerrighed.ipc.PipeEndHandle.class);
    }

    /**
     * The node's access to queue {@code name}, creating it (home: this node) if it does not exist.
     *
     * @throws IllegalArgumentException when it exists with another element type or capacity
     */
    public QueueClient queue(String name, Class<?> type, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("queue '" + name + "': capacity must be positive, got " + capacity);
        }
        long id = Names.id(name);
        QueueMeta meta;
        try (Handle<QueueMeta> h = metas.get(id)) {
            meta = h.value();
        }
        if (meta == null) {
            try (Handle<QueueMeta> h = metas.grab(id)) {
                meta = h.value();
                if (meta == null) {
                    int self = kddm.nodeId();
                    int backup = queues.nextLive(self);
                    queues.createHome(id, capacity, backup);
                    meta = new QueueMeta(name, type.getName(), capacity, self, backup, 0);
                    h.set(meta);
                }
            }
        }
        Names.checkSame(name, meta.name(), "queue");
        if (!meta.type().equals(type.getName())) {
            throw new IllegalArgumentException("queue '" + name + "' holds " + meta.type() + ", not " + type.getName());
        }
        if (meta.capacity() != capacity) {
            throw new IllegalArgumentException("queue '" + name + "' has capacity " + meta.capacity() + ", not "
                    + capacity);
        }
        QueueMeta m = meta;
        return clients.computeIfAbsent(id, i -> new QueueClient(kddm, ipc.sleepers(), queues, metas, i, m, type,
                timer));
    }

    /** The pipes and FIFOs of this node. */
    public PipeService pipes() {
        return pipes;
    }

    /** A view was installed ({@code failed}: nodes declared failed since the previous one). */
    public void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed) {
        boolean departed = !failed.isEmpty() || !members.containsAll(lastMembers);
        lastMembers = Set.copyOf(members);
        queues.viewChanged(members, failed);
        if (departed) {                            // failed or left: what was parked there must be asked again
            clients.values().forEach(QueueClient::nodeFailed);
            pipes.viewChanged(members, failed);
            if (failed.isEmpty()) {
                ipc.sleepers().wakeAll();          // Ipc wakes them after failures; a graceful leave too
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        pipes.close();
    }
}
