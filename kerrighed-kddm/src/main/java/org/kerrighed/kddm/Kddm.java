package org.kerrighed.kddm;

import org.kerrighed.kddm.internal.Engine;
import org.kerrighed.kddm.internal.Wire;
import org.kerrighed.kddm.linkers.DirectoryLinker;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.kddm.linkers.PageLinker;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.rpc.membership.HotplugHook;
import org.kerrighed.rpc.membership.Member;
import org.kerrighed.rpc.membership.Membership;
import org.kerrighed.rpc.membership.NodeState;
import org.kerrighed.rpc.membership.View;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * KDDM on one node: creates and finds sets, and keeps them coherent across the cluster. Start it on the node's
 * endpoint before the node joins ({@link #start}), give its {@link #hook()} to the membership, and
 * {@link #attach} the membership once started. Thread-safe.
 *
 * <p>Static sets have well-known ids below 2^32 and are created by every node ({@link #createStaticSet});
 * messages for one a node has not created yet wait for it. Dynamic sets get a cluster-unique id
 * ({@link #createSet}) and are instantiated lazily by other nodes on first use ({@link #set}), by asking their
 * manager node (encoded in the id) or, if it died, any node that has the set.
 */
public final class Kddm implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Kddm.class);
    /** Hook priority: after rpc (0), before the services built on KDDM. */
    public static final int HOOK_PRIORITY = 100;

    /**
     * The service a tool calls (with any {@code Long}) to read a node's counters; register {@link #types()} in
     * the tool's registry.
     */
    public static final org.kerrighed.rpc.ServiceKey<Long, KddmStats> STATS = Wire.STATS;

    private final Engine engine;
    private volatile org.kerrighed.kddm.access.CallerContext callers;
    // Each listener is told on a thread of its own, in view order: one that blocks delays only its own notices.
    private final Map<ViewListener, java.util.concurrent.ExecutorService> viewListeners = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private final Path storage;
    private final Map<String, LinkerFactory> linkers = new ConcurrentHashMap<>();
    private final Map<Long, StaticDef> statics = new ConcurrentHashMap<>();
    private final Map<Integer, Long> lastDeparture = new ConcurrentHashMap<>();  // node -> last view it was gone from
    private volatile long firstEpoch = -1;                  // the first view this node installed
    private volatile Applied applied = new Applied(0, Map.of());  // membership thread only (volatile: read anywhere)
    private ObjectName mbean;

    record StaticDef(SetSpec spec, IoLinker<?> linker) {
    }

    private Kddm(RpcNode rpc, Path storage) {
        this.storage = storage;
        TypeRegistry types = rpc.config().types();
        linkers.put("object", (id, spec) -> new ObjectLinker<>(objectType(types, spec.linkerArg())));
        linkers.put("page", (id, spec) -> new PageLinker(spec.linkerArg().isEmpty() ? 4096
                : Integer.parseInt(spec.linkerArg())));
        linkers.put("directory", (id, spec) -> new DirectoryLinker(storage.resolve(
                spec.linkerArg().isEmpty() ? Long.toUnsignedString(id) : spec.linkerArg())));
        this.engine = new Engine(rpc, this::linkerFor);
        this.callers = org.kerrighed.kddm.access.CallerContext.ofNode(rpc.nodeId(),
                org.kerrighed.kddm.access.Credentials.ROOT);
        if (rpc.config().jmx()) {
            registerMBean();
        }
    }

    /**
     * Starts KDDM on {@code rpc} (registering its handlers). It decides nothing as a home (no first touch) until
     * its first view arrives, from the membership hook or {@link #viewChanged}: a joining node cannot mistake
     * itself for the whole cluster.
     *
     * @param storage where directory-backed sets keep their files on this node
     */
    public static Kddm start(RpcNode rpc, Path storage) {
        Checks.notNull(rpc, "rpc");
        Checks.notNull(storage, "storage");
        return new Kddm(rpc, storage);
    }

    /** KDDM's wire types: every node and tool of a cluster that uses KDDM registers them. */
    public static TypeRegistrar types() {
        return Wire::registerTypes;
    }

    private static Class<?> objectType(TypeRegistry types, String arg) {
        if (arg.isEmpty()) {
            return Object.class;
        }
        int typeId;
        try {
            typeId = Integer.parseInt(arg);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the object linker's argument is a registered type id, got '" + arg + "'");
        }
        for (TypeRegistry.Entry e : types.entries()) {
            if (e.id() == typeId) {
                return e.type();
            }
        }
        throw new IllegalArgumentException("type id " + typeId + " is not registered on node");
    }

    /** The spec of an object set whose values are of {@code type} (registered in the cluster's type registry). */
    public SetSpec objectSpec(Class<?> type) {
        int id = engine.rpc().config().types().idOf(type);
        return SetSpec.of("object", Integer.toString(id));
    }

    private IoLinker<?> linkerFor(long setId, SetSpec spec) {
        LinkerFactory f = linkers.get(spec.linker());
        if (f == null) {
            throw new KddmException("set " + setId + " uses linker '" + spec.linker()
                    + "', which is not registered on node " + nodeId() + " (registered: " + linkers.keySet() + ")");
        }
        return f.create(setId, spec);
    }

    /**
     * Who the current caller is on this node, for the services built on KDDM. By default every caller is root
     * and holders are threads; the node installs its configured credentials, the process layer per-process ones.
     */
    public org.kerrighed.kddm.access.CallerContext callers() {
        return callers;
    }

    /** Replaces the caller context (see {@link #callers()}). */
    public void setCallers(org.kerrighed.kddm.access.CallerContext context) {
        this.callers = java.util.Objects.requireNonNull(context, "context");
    }

    /** The RPC endpoint KDDM runs on (services built on KDDM register their own messages there). */
    public RpcNode rpc() {
        return engine.rpc();
    }

    public int nodeId() {
        return engine.rpc().nodeId();
    }

    /**
     * This node's storage directory (given to {@link #start}; it may not exist yet). Directory-backed sets keep
     * their files in subdirectories named by their set id or linker argument; services built on KDDM keep theirs
     * in other subdirectories (the process layer uses {@code epm-apps}).
     */
    public Path storage() {
        return storage;
    }

    /** Registers a linker factory under {@code name} (do it on every node, before sets that use it are touched). */
    public void registerLinker(String name, LinkerFactory factory) {
        Checks.notNull(name, "name");
        Checks.notNull(factory, "factory");
        if (linkers.putIfAbsent(name, factory) != null) {
            throw new IllegalStateException("a linker named '" + name + "' is already registered");
        }
    }

    /**
     * Creates a static set with a well-known id (1 to 2^32-1). Every node that uses the set creates it with the
     * same spec and an equivalent linker.
     *
     * @throws IllegalStateException if this node already has a set with this id
     */
    public <T> KddmSet<T> createStaticSet(long id, SetSpec spec, IoLinker<T> linker) {
        if (id < 1 || id > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("static set ids are 1 to 2^32-1, got " + id);
        }
        Checks.notNull(spec, "spec");
        Checks.notNull(linker, "linker");
        statics.put(id, new StaticDef(spec, linker));
        @SuppressWarnings("unchecked") KddmSet<T> s = (KddmSet<T>) engine.install(id, spec, linker);
        return s;
    }

    /** A static set whose linker comes from the spec's registered factory. */
    public <T> KddmSet<T> createStaticSet(long id, SetSpec spec) {
        @SuppressWarnings("unchecked") IoLinker<T> l = (IoLinker<T>) linkerFor(id, spec);
        return createStaticSet(id, spec, l);
    }

    /** Creates a dynamic set with a new cluster-unique id; this node is its manager. */
    public <T> KddmSet<T> createSet(SetSpec spec) {
        Checks.notNull(spec, "spec");
        engine.checkUsable();
        long id = engine.newDynamicId();
        @SuppressWarnings("unchecked") KddmSet<T> s = (KddmSet<T>) engine.install(id, spec, linkerFor(id, spec));
        return s;
    }

    /**
     * The set {@code id}, instantiating a dynamic set here if needed (one lookup at its manager).
     *
     * @throws NoSuchSetException when no such set exists
     * @throws ClassCastException when its objects are not of {@code type}
     */
    public <T> KddmSet<T> set(long id, Class<T> type) {
        engine.checkUsable();
        var t = engine.findOrLookup(id);
        Class<?> has = Engine.typeOf(t);
        if (!type.isAssignableFrom(has)) {
            throw new ClassCastException("KDDM set " + id + " holds " + has.getName() + ", not " + type.getName());
        }
        @SuppressWarnings("unchecked") KddmSet<T> s = (KddmSet<T>) t;
        return s;
    }

    /** Destroys a set on every node: objects are dropped (not removed through the linker), waiters fail. */
    public void destroySet(long id) {
        statics.remove(id);
        engine.destroy(id);
    }

    /** The static sets created on this node (a node that rejoins as a new incarnation re-creates them). */
    public Map<Long, SetSpec> staticSets() {
        Map<Long, SetSpec> m = new java.util.TreeMap<>();
        statics.forEach((k, v) -> m.put(k, v.spec()));
        return m;
    }

    /** Re-creates {@code previous}'s static sets here (used when a fenced node rejoins as a new incarnation). */
    public void adoptStaticSets(Kddm previous) {
        previous.statics.forEach((id, d) -> {
            if (engine.set(id) == null) {
                statics.put(id, d);
                engine.install(id, d.spec(), d.linker());
            }
        });
    }

    /** One line on what this node knows of object {@code id} of set {@code setId}: state, owner hint, pins, queues. */
    public String describe(long setId, long id) {
        return engine.describe(setId, id);
    }

    /** Counters of every set instantiated on this node. */
    public List<SetStats> stats() {
        return engine.stats();
    }

    /** The current members as KDDM sees them. */
    public int[] members() {
        return engine.members();
    }

    /** Installs a view directly (for embedding without {@link Membership}, and for tests). */
    public void viewChanged(long epoch, Collection<Integer> members, Collection<Integer> failed) {
        List<Integer> gone = new ArrayList<>(failed);
        for (int m : engine.members()) {
            if (!members.contains(m)) {
                gone.add(m);                                // left (or failed without being listed)
            }
        }
        noteDepartures(epoch, gone);
        engine.viewChanged(epoch, members, failed, List.of());
        tellListeners(epoch, members, failed);
    }

    /** Adds a listener told of every later view (see {@link ViewListener}); adding it twice adds it once. */
    public void addViewListener(ViewListener listener) {
        java.util.Objects.requireNonNull(listener, "listener");
        viewListeners.computeIfAbsent(listener, l -> java.util.concurrent.Executors.newSingleThreadExecutor(
                Thread.ofVirtual().name("kddm-views").factory()));
        if (closed) {
            viewListeners.remove(listener).shutdownNow();
        }
    }

    /**
     * Removes a listener added with {@link #addViewListener} (nothing if it is not there); notices already queued for
     * it are still delivered.
     */
    public void removeViewListener(ViewListener listener) {
        java.util.concurrent.ExecutorService e = viewListeners.remove(listener);
        if (e != null) {
            e.shutdown();
        }
    }

    /** True when {@code node} is a member of the view this node has installed. */
    public boolean isMember(int node) {
        for (int m : engine.members()) {
            if (m == node) {
                return true;
            }
        }
        return false;
    }

    private void tellListeners(long epoch, Collection<Integer> members, Collection<Integer> failed) {
        if (viewListeners.isEmpty()) {
            return;
        }
        java.util.Set<Integer> live = java.util.Set.copyOf(members);
        java.util.Set<Integer> dead = java.util.Set.copyOf(failed);
        viewListeners.forEach((l, thread) -> {
            try {
                thread.execute(() -> {
                    try {
                        l.viewChanged(epoch, live, dead);
                    } catch (RuntimeException e) {
                        log.warn("node {}: view listener {} failed on view {}", nodeId(), l, epoch, e);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException gone) {
                // this node stopped, or the listener was removed: no more notices for it
            }
        });
    }

    /**
     * Hands every object this node owns to other nodes and drops its read copies: what a node does before it
     * leaves gracefully (the membership hook calls it when this node starts leaving). Blocks until done.
     */
    public void flushAll() {
        engine.flushAll();
    }

    /**
     * Takes the membership's pause confirmation and majority test: a node that was paused (until it has checked
     * it is still a member) or that sees only a minority of the cluster serves nothing (operations wait, bounded
     * by the call timeout), so it never serves a stale copy nor writes while the majority may be recovering.
     */
    public void attach(Membership m) {
        engine.setConfirmation(m::sinceConfirmedNanos, m::writable);
    }

    /** The hotplug hook to give the membership (priority {@value #HOOK_PRIORITY}). */
    public HotplugHook hook() {
        return new HotplugHook() {
            @Override
            public int priority() {
                return HOOK_PRIORITY;
            }

            @Override
            public void nodeLeaving(Member member, View view) {
                if (member.nodeId() == nodeId() && member.incarnation() == engine.rpc().incarnation()) {
                    applyView(view);               // know who is leaving before choosing where to flush
                    engine.flushAll();
                }
            }

            @Override
            public void viewInstalled(View view) {
                applyView(view);
            }

            @Override
            public void fenced(View lastView) {
                engine.stop("this node was declared failed (fenced)");
            }

            @Override
            public String toString() {
                return "kddm hook of node " + nodeId();
            }
        };
    }

    private void applyView(View v) {
        List<Integer> live = new ArrayList<>();
        List<Integer> leaving = new ArrayList<>();
        for (Member m : v.members()) {
            live.add(m.nodeId());
            if (m.state() == NodeState.LEAVING) {
                leaving.add(m.nodeId());
            }
        }
        List<Integer> failed = new ArrayList<>();
        java.util.Set<Integer> departed = new java.util.HashSet<>();
        for (Member d : v.departed()) {
            departed.add(d.nodeId());
            if (d.state() == NodeState.FAILED) {
                failed.add(d.nodeId());
            }
        }
        List<Integer> reborn = new ArrayList<>();
        Applied last = applied;
        if (v.epoch() > last.epoch()) {
            // A member that vanished without being listed departed: this node missed the view it departed in, and
            // takes it as failed, as the membership does (a full recovery; the listeners are told). One that is
            // back as another incarnation failed too, in the views missed: KDDM recovers in full, but the
            // listeners are not told (they go by node id, and would undo what the new incarnation holds).
            Map<Integer, Long> now = new java.util.HashMap<>();
            for (Member m : v.members()) {
                now.put(m.nodeId(), m.incarnation());
                Long was = last.incarnations().get(m.nodeId());
                if (was != null && was != m.incarnation() && m.nodeId() != nodeId()) {
                    reborn.add(m.nodeId());
                }
            }
            for (int m : last.incarnations().keySet()) {
                if (!now.containsKey(m) && !departed.contains(m) && m != nodeId()) {
                    failed.add(m);
                }
            }
            applied = new Applied(v.epoch(), Map.copyOf(now));
        }
        List<Integer> gone = new ArrayList<>(departed);
        gone.addAll(failed);
        noteDepartures(v.epoch(), gone);
        for (int r : reborn) {
            // it went after the last view this node installed, and came back before this one: what its old
            // incarnation made in the views missed is not told apart (sameIncarnation); what its new one makes
            // (from its first view on, after that last one) is never taken for the old one's
            lastDeparture.merge(r, last.epoch(), Math::max);
        }
        List<Integer> recover = new ArrayList<>(failed);
        recover.addAll(reborn);
        engine.viewChanged(v.epoch(), live, recover, leaving);
        tellListeners(v.epoch(), live, failed);
    }

    /** The last view from the membership this node applied: its epoch and its members' incarnations. */
    private record Applied(long epoch, Map<Integer, Long> incarnations) {
    }

    /**
     * Before view {@code epoch} is installed: its epoch for the nodes {@code gone} from it (failed or left: either
     * way, one that comes back is a new incarnation), and this node's first view.
     */
    private void noteDepartures(long epoch, Collection<Integer> gone) {
        for (int g : gone) {
            lastDeparture.merge(g, epoch, Math::max);
        }
        if (firstEpoch < 0) {
            firstEpoch = epoch;
        }
    }

    /**
     * This node's incarnation: the epoch of the first view it installed (0 before it). It does not change while this
     * node runs, and {@link #sameIncarnation} holds for it here; on another node it holds as long as this node is the
     * same incarnation there.
     */
    public long incarnation() {
        return Math.max(0, firstEpoch);
    }

    /**
     * Whether node {@code node}'s incarnation {@code incarnation} (the epoch of the first view that incarnation
     * installed: {@link #incarnation()} there) is known here to have ended: a view this node installed since left
     * the node out, or showed it back as another incarnation. What that incarnation made is then gone with it; a
     * later incarnation (which this node may not have seen join yet) is never taken for it. False for this node.
     */
    public boolean incarnationEnded(int node, long incarnation) {
        // The departure recorded is the view it was gone from, or, for an incarnation seen back in views this node
        // missed, the last view this node saw the old one in: the old incarnation began at or before it, the new
        // one after it, in both cases.
        return node != nodeId() && lastDeparture(node) >= incarnation;
    }

    /**
     * The epoch of the last view this node installed that recorded node {@code node} gone: the view it was left out
     * of, or, when it came back in views this node missed, the last one this node saw its old incarnation in; -1
     * if none. It grows each time this node learns that an incarnation of {@code node} ended.
     */
    public long lastDeparture(int node) {
        return lastDeparture.getOrDefault(node, -1L);
    }

    /** The epoch of the last view this node installed (0 before the first). */
    public long epoch() {
        return engine.epoch();
    }

    /**
     * Whether node {@code node} runs the same incarnation as when it was a member of view {@code epoch} (the epoch
     * that node had installed then, as {@link #epoch()} gave it there): it is a member now, and no view this node
     * installed since declared it failed or left it out (a node comes back only as a new incarnation). For this node
     * itself: {@code epoch} is not before the first view it installed (an earlier incarnation of it named it). A
     * departure in views this node missed counts from the next view it installs (the node gone from it, or back as
     * another incarnation); in the second case, what the old incarnation made during the views missed is not told
     * apart. For state that names threads or resources by node and outlives them, such as waiter lists: what an
     * earlier incarnation left must not be taken for the current one's.
     */
    public boolean sameIncarnation(int node, long epoch) {
        if (node == nodeId()) {
            long first = firstEpoch;
            return first < 0 || epoch >= first;
        }
        return isMember(node) && epoch > lastDeparture.getOrDefault(node, -1L);
    }

    private void registerMBean() {
        try {
            mbean = new ObjectName("org.kerrighed:type=Kddm,cluster=" + ObjectName.quote(engine.rpc().config().clusterName())
                    + ",node=" + nodeId());
            ManagementFactory.getPlatformMBeanServer().registerMBean(new Mx(), mbean);
        } catch (Exception e) {
            log.warn("node {}: KDDM MBean not registered: {}", nodeId(), e.toString());
            mbean = null;
        }
    }

    private final class Mx implements KddmMXBean {
        private long sum(java.util.function.ToLongFunction<SetStats> f) {
            long s = 0;
            for (SetStats st : stats()) {
                s += f.applyAsLong(st);
            }
            return s;
        }

        @Override
        public int getSets() {
            return stats().size();
        }

        @Override
        public long getHits() {
            return sum(SetStats::hits);
        }

        @Override
        public long getMisses() {
            return sum(SetStats::misses);
        }

        @Override
        public long getInvalidations() {
            return sum(SetStats::invalidations);
        }

        @Override
        public long getTransfers() {
            return sum(SetStats::transfers);
        }

        @Override
        public long getDeferred() {
            return sum(SetStats::deferred);
        }

        @Override
        public long getBytesMoved() {
            return sum(SetStats::bytesMoved);
        }

        @Override
        public String[] getPerSet() {
            return stats().stream().map(s -> Long.toUnsignedString(s.setId()) + ": " + s.hits() + " " + s.misses()
                    + " " + s.invalidations() + " " + s.transfers() + " " + s.deferred() + " " + s.bytesMoved() + " "
                    + s.objects() + " " + s.owned() + " " + s.backups()).toArray(String[]::new);
        }
    }

    /** Stops serving: waiters fail, later calls throw. Does not close the RPC endpoint. Idempotent. */
    @Override
    public void close() {
        engine.stop("closed");
        closed = true;
        viewListeners.values().forEach(java.util.concurrent.ExecutorService::shutdownNow);
        if (mbean != null) {
            try {
                ManagementFactory.getPlatformMBeanServer().unregisterMBean(mbean);
            } catch (Exception ignored) {
                // already gone
            }
            mbean = null;
        }
    }

    @Override
    public String toString() {
        return "Kddm[node " + nodeId() + ", " + engine.sets().size() + " sets, epoch " + engine.epoch() + "]";
    }
}
