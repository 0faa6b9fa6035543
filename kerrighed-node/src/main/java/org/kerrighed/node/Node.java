package org.kerrighed.node;

import org.kerrighed.epm.Epm;
import org.kerrighed.fs.ClusterFs;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.membership.HotplugHook;
import org.kerrighed.rpc.membership.Member;
import org.kerrighed.rpc.membership.Membership;
import org.kerrighed.rpc.membership.View;
import org.kerrighed.scheduler.ClusterScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * This process's node of the cluster: its RPC endpoint, its membership, and the services reached from it.
 *
 * <p>When the cluster declares this node failed while it was only paused or cut off, the node is fenced:
 * it stops serving at once (its hooks' {@code fenced} runs), then rejoins as a new incarnation, through
 * the members of its last view, with the same configured id or a fresh assigned one. {@link #rpc()} and
 * {@link #membership()} then return the new incarnation's objects; listeners given to {@link #onRejoin}
 * are told. Thread-safe.
 */
public final class Node implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Node.class);

    private final NodeConfig config;
    private final TypeRegistrar[] types;
    private final List<HotplugHook> hooks = new CopyOnWriteArrayList<>();
    private final List<Consumer<Node>> rejoinListeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile Membership membership;
    private volatile Kddm kddm;
    private volatile SharedMemory shm;
    private volatile Ipc ipc;
    private volatile ClusterFs fs;
    private volatile Epm epm;
    private volatile ClusterScheduler scheduler;
    private volatile String stopReason;
    private volatile boolean closed;

    private Node(NodeConfig config, TypeRegistrar[] types) {
        this.config = config;
        this.types = types.clone();
    }

    static Node start(NodeConfig config, TypeRegistrar... types) {
        Checks.notNull(config, "config");
        SchedStartup sched = SchedStartup.read(config);            // a bad file stops the start before the join
        Node n = new Node(config, types);
        n.membership = n.startMembership(config.seeds(), config.nodeId().orElse(-1));
        if (sched != null) {
            sched.apply(n);
        }
        return n;
    }

    /** Every type a node of this cluster registers: kerrighed-node's own, then the application's. */
    TypeRegistrar[] allTypes() {
        TypeRegistrar[] all = new TypeRegistrar[types.length + 7];
        all[0] = NodeAdmin::registerTypes;
        all[1] = Kddm.types();
        all[2] = SharedMemory.types();
        all[3] = Ipc.types();
        all[4] = Epm.types();
        all[5] = ClusterScheduler.types();
        all[6] = ClusterFs.types();
        System.arraycopy(types, 0, all, 7, types.length);
        return all;
    }

    private Membership startMembership(List<HostAndPort> seeds, int requestedId) {
        IntFunction<RpcConfig> rpcConfigs = id -> config.toRpcConfig(id, allTypes());
        var mc = config.toMembershipConfig();
        var withSeeds = new org.kerrighed.rpc.membership.MembershipConfig(mc.discoveryBind(), seeds, requestedId,
                mc.silenceBeforeSuspect(), mc.joinTimeout());
        Forwarder forwarder = new Forwarder();
        Kddm previous = kddm;
        Kddm[] started = new Kddm[1];
        SharedMemory[] startedShm = new SharedMemory[1];
        Ipc[] startedIpc = new Ipc[1];
        ClusterFs[] startedFs = new ClusterFs[1];
        Epm[] startedEpm = new Epm[1];
        ClusterScheduler[] startedSched = new ClusterScheduler[1];
        Membership m;
        try {
            m = Membership.start(rpcConfigs, withSeeds, List.of(forwarder), rpc -> {
                // KDDM takes messages as soon as the endpoint exists: members may talk to it once it is admitted
                Kddm k = Kddm.start(rpc, storageFor(rpc.nodeId()));
                forwarder.kddm = k.hook();
                started[0] = k;
                k.setCallers(CallerContext.ofNode(rpc.nodeId(), config.credentials()));
                startedShm[0] = SharedMemory.start(k);     // services on KDDM: their sets exist before members talk
                startedIpc[0] = Ipc.start(k);
                startedFs[0] = ClusterFs.start(k, config.fsConfig());
                startedEpm[0] = Epm.start(k, startedShm[0], startedIpc[0]);
                startedSched[0] = ClusterScheduler.start(startedEpm[0], k);
                if (previous != null) {
                    k.adoptStaticSets(previous);             // the application's sets (the services made theirs anew)
                }
            });
        } catch (RuntimeException e) {
            if (started[0] != null) {
                closeServices(startedSched[0], startedEpm[0], startedFs[0], startedIpc[0], startedShm[0],
                        started[0]);                                                   // the join failed
            }
            throw e;
        }
        started[0].attach(m);
        kddm = started[0];                  // published once joined: before, node.kddm() is the old (stopped) one
        shm = startedShm[0];
        ipc = startedIpc[0];
        fs = startedFs[0];
        fs.setProcSource(new NodeProcSource(this));
        epm = startedEpm[0];
        scheduler = startedSched[0];
        NodeAdmin.install(this, m);
        m.onFenced(() -> Thread.ofPlatform().name("krg-rejoin-" + m.nodeId()).daemon().start(() -> rejoin(m)));
        return m;
    }

    private Path storageFor(int id) {
        if (config.storageDir().isPresent()) {
            return config.storageDir().get().resolve("node-" + id);
        }
        try {
            return Files.createTempDirectory("kerrighed-" + config.clusterName() + "-node" + id + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a storage directory (set storage.dir)", e);
        }
    }

    /** Hooks given to the node run for every incarnation; they are forwarded from the membership. */
    private final class Forwarder implements HotplugHook {
        volatile HotplugHook kddm;                       // this incarnation's KDDM (priority 100)

        @Override
        public int priority() {
            return Integer.MIN_VALUE;                    // ordering is done per hook below
        }

        private List<HotplugHook> sorted(boolean ascending) {
            List<HotplugHook> l = new ArrayList<>(hooks);
            if (kddm != null) {
                l.add(kddm);
            }
            l.sort((a, b) -> ascending ? Integer.compare(a.priority(), b.priority())
                    : Integer.compare(b.priority(), a.priority()));
            return l;
        }

        /** Runs every hook in order; one that throws is logged and the others still run. */
        private void each(boolean ascending, Consumer<HotplugHook> call) {
            for (HotplugHook h : sorted(ascending)) {
                try {
                    call.accept(h);
                } catch (RuntimeException e) {
                    log.warn("hotplug hook {} failed", h, e);
                }
            }
        }

        @Override
        public void nodeAdded(Member m, View v) {
            each(true, h -> h.nodeAdded(m, v));
        }

        @Override
        public void nodeLeaving(Member m, View v) {
            each(false, h -> h.nodeLeaving(m, v));
        }

        @Override
        public void nodeFailed(Member m, View v) {
            each(false, h -> h.nodeFailed(m, v));
        }

        @Override
        public void viewInstalled(View v) {
            each(true, h -> h.viewInstalled(v));
        }

        @Override
        public void fenced(View last) {
            each(false, h -> h.fenced(last));
        }
    }

    private void rejoin(Membership fenced) {
        if (closed) {
            return;
        }
        View last = fenced.view();
        List<HostAndPort> seeds = new ArrayList<>();
        for (Member m : last.members()) {
            if (m.nodeId() != fenced.nodeId()) {
                seeds.add(m.rpcAddress());
            }
        }
        seeds.addAll(config.seeds());
        fenced.halt();
        closeServices(scheduler, epm, fs);   // the cluster declared this incarnation's processes dead: end them
        int requested = config.nodeId().orElse(-1);
        for (int attempt = 1; !closed; attempt++) {
            try {
                membership = startMembership(seeds, requested);
                log.info("node {} rejoined as a new incarnation (was node {}), epoch {}", membership.nodeId(),
                        fenced.nodeId(), membership.epoch());
                for (Consumer<Node> l : rejoinListeners) {
                    l.accept(this);
                }
                return;
            } catch (RuntimeException e) {
                log.warn("rejoin attempt {} failed: {}", attempt, e.getMessage());
                try {
                    Thread.sleep(Math.min(5000, 200L * attempt));
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** This node's id (it may change when a node with an assigned id rejoins after being fenced). */
    public int id() {
        return membership.nodeId();
    }

    public RpcNode rpc() {
        return membership.rpc();
    }

    public Membership membership() {
        return membership;
    }

    /**
     * This node's KDDM: distributed object sets. A node that rejoins after being fenced gets a new one, with the
     * static sets of the old one re-created (their objects are re-fetched from the cluster on use).
     */
    public Kddm kddm() {
        return kddm;
    }

    /** This node's cluster shared memory (SysV-style segments on KDDM pages); a new one after a rejoin. */
    public SharedMemory shm() {
        return shm;
    }

    /** This node's cluster IPC (locks, queues, semaphores, barriers, pipes...); a new one after a rejoin. */
    public Ipc ipc() {
        return ipc;
    }

    /**
     * This node's share of the cluster file system: its {@link ClusterFs#fileSystem()} is the {@code java.nio.file}
     * view of the cluster's one file tree ({@code krg://CLUSTER/...}); a new one after a rejoin.
     */
    public ClusterFs fs() {
        return fs;
    }

    /**
     * This node's process layer: cluster-wide processes (spawn, wait, signals, ps); a new one after a rejoin, whose
     * processes are gone (the fenced incarnation's processes were killed).
     */
    public Epm epm() {
        return epm;
    }

    /**
     * This node's share of the cluster-wide scheduler: configure probes, policies and plugins for the whole
     * cluster, read each node's decisions; a new one after a rejoin (the configuration is the cluster's and stays).
     */
    public ClusterScheduler scheduler() {
        return scheduler;
    }

    /**
     * Closes the given services (the process layer, IPC, shared memory, KDDM) in order; each one's failure is logged
     * and the others still close.
     */
    private static void closeServices(AutoCloseable... services) {
        for (AutoCloseable s : services) {
            if (s == null) {
                continue;
            }
            try {
                s.close();
            } catch (Exception e) {
                log.warn("closing {} failed", s, e);
            }
        }
    }

    public View view() {
        return membership.view();
    }

    /** False when this node must not accept writes (minority side, or fenced). */
    public boolean writable() {
        return membership.writable();
    }

    public NodeConfig config() {
        return config;
    }

    /** Adds a hotplug hook; it applies to this and every later incarnation. */
    public void addHook(HotplugHook hook) {
        hooks.add(Checks.notNull(hook, "hook"));
    }

    /** Called (on a rejoin thread) each time this node rejoined as a new incarnation after being fenced. */
    public void onRejoin(Consumer<Node> listener) {
        rejoinListeners.add(Checks.notNull(listener, "listener"));
    }

    /** Asks the node to stop (a tool's {@code krg nodes remove} or {@code krg cluster stop}). */
    void requestStop(String reason) {
        stopReason = reason;
        Thread.ofPlatform().name("krg-stop").start(this::close);
    }

    /** Waits until the node was stopped (by {@link #close()} or a tool); true if it was within the timeout. */
    public boolean awaitStop(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Why a tool stopped this node, or null. */
    public String stopReason() {
        return stopReason;
    }

    /**
     * Ends this node's processes (KILL, then up to 2 s for them to end; their parents are told), leaves the
     * cluster gracefully and stops. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeServices(scheduler, epm);           // processes end while the links are up: their parents are told
        try {
            membership.close();                  // leaves: KDDM hands its objects over first (its leave hook)
        } finally {
            closeServices(fs, ipc, shm, kddm);
            stopped.countDown();
        }
    }

    /** Stops at once without leaving (the others see it fail). */
    public void halt() {
        closed = true;
        try {
            closeServices(scheduler, epm, fs, ipc, shm, kddm);
        } finally {
            try {
                membership.halt();
            } finally {
                stopped.countDown();
            }
        }
    }

    @Override
    public String toString() {
        return "Node[" + id() + " @ " + rpc().address() + ", epoch " + view().epoch() + "]";
    }
}
