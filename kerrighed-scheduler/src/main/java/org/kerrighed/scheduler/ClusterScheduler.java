package org.kerrighed.scheduler;

import org.kerrighed.epm.Capability;
import org.kerrighed.epm.Epm;
import org.kerrighed.epm.Placement;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.ProcessState;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.MulticastResult;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.scheduler.internal.SchedWire;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

/**
 * A node's share of the cluster-wide scheduler (one per node, {@code node.scheduler()}): it changes the cluster's
 * scheduler configuration, applies it on this node, and runs this node's probes and policies. Every node starts
 * one; they share one configuration, kept in a replicated KDDM object, so a change made on any node applies on
 * every node, including nodes that join later, and survives the death of any one node.
 *
 * <p><b>Until a scheduler is configured nothing moves automatically</b>, and new processes whose spawn names no
 * node are placed round robin by the process layer. {@link #installDefaults()} configures Kerrighed's two default
 * schedulers: round-robin placement and the MOSIX-style balancer.
 *
 * <p><b>Changes</b> ({@code create}, {@code link}, {@code set}, {@code remove}, plugins) are checked on this node,
 * written atomically (a concurrent change on another node is serialized by KDDM, never lost), and then every node
 * is told; each applies it within about a second even if the notice is lost. They return once written; use
 * {@link #awaitApplied} to wait until every node runs it. Bad input throws {@link IllegalArgumentException} and
 * changes nothing.
 *
 * <p><b>Plugins</b> ({@link #loadPlugin}): a JAR of {@link ProbeFactory}s and {@link PolicyFactory}s listed in
 * {@code META-INF/services}, checked here first (refused with the reason when a class is missing or cannot be
 * made), then fetched by every node from a node that holds it, checked by its SHA-256, and loaded on its own
 * class loader. Loading a plugin of the same name replaces it: the schedulers and probes of its types are made
 * again from the new classes, and the old loader is closed. Running processes are not touched.
 *
 * <p><b>Threads.</b> Thread-safe. A scheduler thread per node runs the probes and decisions every 100 ms;
 * migrations run on virtual threads; placement runs on the spawning thread.
 */
public final class ClusterScheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterScheduler.class);
    private static final long TICK_MILLIS = 100;
    private static final int SYNC_EVERY_TICKS = 10;
    private static final long RETRY_NANOS = 10_000_000_000L;              // a plugin that failed to load here

    private final Epm epm;
    private final Kddm kddm;
    private final RpcNode rpc;
    private final int self;
    private final Duration timeout;
    private final KddmSet<SchedulerConfig> store;
    private final Components components = new Components();
    private final SchedulerEngine engine;
    private final ScheduledExecutorService ticker;
    private final ExecutorService applier;
    private final ExecutorService movers = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicBoolean syncQueued = new AtomicBoolean();
    private final Map<String, String> pluginErrors = new HashMap<>();       // guarded by this
    private long lastRetry;                                                 // guarded by this
    private volatile long ticks;
    private volatile boolean closed;

    private ClusterScheduler(Epm epm, Kddm kddm) {
        this.epm = epm;
        this.kddm = kddm;
        this.rpc = kddm.rpc();
        this.self = kddm.nodeId();
        this.timeout = rpc.config().defaultCallTimeout();
        this.store = kddm.createStaticSet(SchedWire.CONFIG_SET, kddm.objectSpec(SchedulerConfig.class)
                .withReplication(SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(SchedulerConfig.class));
        this.engine = new SchedulerEngine(new Host(), components);
        // blocking kinds: both take the engine's lock, which a slow plugin may hold; never on an I/O thread
        rpc.register(SchedWire.POLL, HandlerKind.BLOCKING, (ctx, keys) -> new HashMap<>(engine.values(keys)));
        rpc.register(SchedWire.NUDGE, HandlerKind.NON_BLOCKING, (ctx, v) -> {
            requestSync();
            return null;
        });
        rpc.register(SchedWire.REPORT, HandlerKind.BLOCKING, (ctx, n) -> report());
        this.applier = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("krg-sched-apply-" + self).factory());
        this.ticker = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("krg-sched-" + self).daemon().factory());
        ticker.scheduleAtFixedRate(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        epm.setPlacement(r -> {
            int n = engine.place(new NewProcess(r.command(), r.ppid(), r.pgid(), r.sid(), r.uid()));
            return n == Policy.NO_CHOICE ? Placement.NO_CHOICE : n;
        });
        requestSync();
    }

    /**
     * Starts the scheduler on {@code kddm}'s node, over its process layer {@code epm}: registers its messages,
     * installs its placement hook and applies the cluster's configuration.
     */
    public static ClusterScheduler start(Epm epm, Kddm kddm) {
        return new ClusterScheduler(Checks.notNull(epm, "epm"), Checks.notNull(kddm, "kddm"));
    }

    /** The scheduler's wire types (ids 8000-8039): every node and tool of a cluster that schedules registers them. */
    public static TypeRegistrar types() {
        return SchedWire::registerTypes;
    }

    /** This node's id. */
    public int nodeId() {
        return self;
    }

    // ------------------------------------------------------------------ reading

    /** The cluster's configuration now (read from the replicated object; at most one round trip). */
    public SchedulerConfig config() {
        checkOpen();
        try (var h = store.get(SchedWire.CONFIG_ID)) {
            return h.value() == null ? SchedulerConfig.EMPTY : h.value();
        }
    }

    /** The configuration this node applied last. */
    public SchedulerConfig applied() {
        return engine.config();
    }

    /** The probe and policy types this node knows, one line each with its origin and description. */
    public List<String> componentTypes() {
        return components.describe();
    }

    /** This node's report: applied version, each scheduler's counters, what does not run here and why. */
    public NodeReport report() {
        Map<String, String> errors;
        synchronized (this) {
            errors = new HashMap<>(pluginErrors);
        }
        return new NodeReport(self, engine.config().version(), engine.stats(), engine.disabledProbes(),
                components.loaded(), errors);
    }

    /** Every live node's report, by node; nodes that do not answer in the call timeout are left out. */
    public List<NodeReport> reports() {
        checkOpen();
        List<Integer> members = Arrays.stream(kddm.members()).boxed().toList();
        try {
            MulticastResult<NodeReport> r = rpc.multicast(members, SchedWire.REPORT, self, timeout)
                    .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            return new ArrayList<>(r.replies().values());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while reading the nodes' scheduler reports");
        } catch (ExecutionException | TimeoutException e) {
            throw new KerrighedException("could not read the nodes' scheduler reports: " + e, e);
        }
    }

    /**
     * Waits until every live node applied configuration {@code version} or a later one.
     *
     * @return false when some node had not after {@code limit}
     */
    public boolean awaitApplied(long version, Duration limit) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (true) {
            requestSync();
            List<NodeReport> reports = reports();
            boolean all = reports.size() == kddm.members().length;
            for (NodeReport r : reports) {
                all &= r.version() >= version;
            }
            if (all) {
                return true;
            }
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(20);
        }
    }

    // ------------------------------------------------------------------ changes

    /**
     * Creates probe {@code name} of type {@code type}, sampled every {@code periodMillis} on every node.
     *
     * @throws IllegalArgumentException for a bad name, a name in use, an unknown type or a bad parameter
     * @return the new configuration version
     */
    public long createProbe(String name, String type, long periodMillis, Map<String, String> params) {
        return createProbe(name, type, periodMillis, false, params);
    }

    /**
     * Creates probe {@code name} as {@link #createProbe(String, String, long, Map)} does; with {@code onChange}, its
     * sources trigger the ports linked to them only when their number changed.
     */
    public long createProbe(String name, String type, long periodMillis, boolean onChange, Map<String, String> params) {
        ProbeSpec spec = new ProbeSpec(name, type, periodMillis, onChange, params);
        newProbe(spec);
        return change(c -> {
            checkFree(c, name);
            return c.withProbe(name, spec);
        });
    }

    /**
     * Creates scheduler {@code name} running a policy of type {@code policy} for processes {@code processes} on
     * nodes {@code nodes}, with parameters {@code params} (read by the policy). Its ports are linked afterwards.
     *
     * @return the new configuration version
     * @throws IllegalArgumentException for a bad name, a name in use or an unknown policy type
     */
    public long createScheduler(String name, String policy, ProcessSet processes, NodeSet nodes,
                                Map<String, String> params) {
        new SchedulerSpec(name, policy, 0, params, Map.of(), processes, nodes);     // checks the arguments
        newPolicy(policy);
        checkParams(policy, params);
        return change(c -> {
            checkFree(c, name);
            return c.withScheduler(name, new SchedulerSpec(name, policy, c.nextSeq(), params, Map.of(), processes,
                    nodes));
        });
    }

    /**
     * Links port {@code port} of scheduler {@code scheduler} to source {@code source} of probe {@code probe},
     * through {@code filters} in order (replacing what fed the port).
     *
     * @return the new configuration version
     * @throws IllegalArgumentException when the scheduler, port, probe or source does not exist
     */
    public long link(String scheduler, String port, String probe, String source, List<FilterSpec> filters) {
        PortLink link = new PortLink(probe, source, filters);
        return change(c -> {
            SchedulerSpec s = scheduler(c, scheduler);
            Set<String> ports = newPolicy(s.policy()).ports();
            if (!ports.contains(port)) {
                throw new IllegalArgumentException("policy " + s.policy() + " of scheduler " + scheduler
                        + " has no port '" + port + "' (it has " + (ports.isEmpty() ? "none"
                        : String.join(", ", new TreeSet<>(ports))) + ")");
            }
            checkSource(c, probe, source, "linked to " + scheduler + "." + port);
            for (FilterSpec f : filters) {
                String expr = f.params().get("threshold");
                if (expr != null) {
                    checkThreshold(c, expr);
                }
                String event = f.params().get("last_event");
                if (event != null) {
                    int slash = event.indexOf('/');
                    if (slash < 0) {
                        throw new IllegalArgumentException("last_event must name PROBE/SOURCE, not '" + event + "'");
                    }
                    checkSource(c, event.substring(0, slash), event.substring(slash + 1), "named by last_event");
                }
            }
            return c.withScheduler(scheduler, s.withLink(port, link));
        });
    }

    /** Removes what feeds port {@code port} of scheduler {@code scheduler}. */
    public long unlink(String scheduler, String port) {
        return change(c -> c.withScheduler(scheduler, scheduler(c, scheduler).withLink(port, null)));
    }

    /**
     * Sets parameters of probe or scheduler {@code name}. For a probe: {@code period=MS}, {@code on_change=true|false}
     * and its type's parameters
     * (the probe is made again). For a scheduler: {@code processes=SET}, {@code nodes=SET} and its policy's
     * parameters (the policy reads them at its next call; an empty value removes one).
     *
     * @return the new configuration version
     */
    public long set(String name, Map<String, String> params) {
        SchedulerSpec current = config().schedulers().get(name);
        if (current != null) {
            Map<String, String> own = new HashMap<>(params);
            own.keySet().removeAll(Set.of("processes", "nodes"));
            checkParams(current.policy(), own);           // outside the update: a plugin's check may take time
        }
        return change(c -> {
            ProbeSpec p = c.probes().get(name);
            if (p != null) {
                Map<String, String> m = new HashMap<>(p.params());
                long period = p.periodMillis();
                boolean onChange = p.onChange();
                for (Map.Entry<String, String> e : params.entrySet()) {
                    if (e.getKey().equals("period")) {
                        period = Config.positiveMillis(e.getValue(), "probe " + name + "'s period");
                    } else if (e.getKey().equals("on_change")) {
                        onChange = Config.bool(e.getValue(), "probe " + name + "'s on_change");
                    } else if (e.getValue().isEmpty()) {
                        m.remove(e.getKey());
                    } else {
                        m.put(e.getKey(), e.getValue());
                    }
                }
                ProbeSpec next = new ProbeSpec(name, p.type(), period, onChange, m);
                newProbe(next);
                return c.withProbe(name, next);
            }
            if (!c.schedulers().containsKey(name)) {
                throw new IllegalArgumentException("no probe or scheduler named '" + name + "'");
            }
            SchedulerSpec s = scheduler(c, name);
            Map<String, String> m = new HashMap<>(s.params());
            ProcessSet ps = s.processes();
            NodeSet ns = s.nodes();
            for (Map.Entry<String, String> e : params.entrySet()) {
                switch (e.getKey()) {
                    case "processes" -> ps = ProcessSet.parse(e.getValue());
                    case "nodes" -> ns = NodeSet.parse(e.getValue());
                    default -> {
                        if (e.getValue().isEmpty()) {
                            m.remove(e.getKey());
                        } else {
                            m.put(Config.checkName(e.getKey(), "parameter"), e.getValue());
                        }
                    }
                }
            }
            return c.withScheduler(name, s.withParams(m).withSets(ps, ns));
        });
    }

    /**
     * Removes probe or scheduler {@code name}.
     *
     * @throws IllegalArgumentException when there is none, or a scheduler's port is linked to the probe
     */
    public long remove(String name) {
        return change(c -> {
            if (c.schedulers().containsKey(name)) {
                return c.withScheduler(name, null);
            }
            if (!c.probes().containsKey(name)) {
                throw new IllegalArgumentException("no probe or scheduler named '" + name + "'");
            }
            List<String> users = new ArrayList<>();
            for (SchedulerSpec s : c.schedulersInOrder()) {
                s.links().forEach((port, l) -> {
                    if (l.probe().equals(name) || l.filters().stream().anyMatch(f ->
                            f.params().values().stream().anyMatch(v -> namesProbe(v, name)))) {
                        users.add(s.name() + "." + port);
                    }
                });
            }
            if (!users.isEmpty()) {
                throw new IllegalArgumentException("probe " + name + " feeds " + String.join(", ", users)
                        + ": unlink or remove those first");
            }
            return c.withProbe(name, null);
        });
    }

    /**
     * Installs Kerrighed's default schedulers ({@link SchedulerConfig#withDefaults()}), replacing probes and
     * schedulers of the same names.
     *
     * @return the new configuration version
     */
    public long installDefaults() {
        return change(SchedulerConfig::withDefaults);
    }

    /** Removes every probe and scheduler (plugins stay loaded): nothing moves automatically any more. */
    public long clear() {
        return change(c -> new SchedulerConfig(c.version() + 1, c.nextSeq(), Map.of(), Map.of(), c.plugins()));
    }

    // ------------------------------------------------------------------ plugins

    /**
     * Loads plugin JAR {@code jar} in the whole cluster under {@code name} (replacing the plugin of that name):
     * checks it on this node, stores it in this node's application cache, and records it in the configuration;
     * every node then fetches and loads it. Returns once this node applied it (so its types can be used through
     * this node at once; at most the call timeout); {@link #awaitApplied} waits for every node.
     *
     * @return the plugin as recorded
     * @throws IllegalArgumentException when the JAR is refused (unreadable, a listed class missing or failing to
     *                                  construct, no factory, a type that exists in another plugin or built in, or,
     *                                  replacing a plugin, a type of the version loaded now that a probe or scheduler
     *                                  uses and the new one lacks)
     */
    public PluginSpec loadPlugin(Path jar, String name) {
        Config.checkName(name, "plugin");
        String sha;
        try {
            sha = epm.applications().install(jar);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read plugin JAR " + jar + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("plugin JAR " + jar + " refused: " + e.getMessage(), e);
        }
        Components.Plugin p = Components.open(name, sha, epm.applications().jar(sha));
        try {
            Set<String> types = Components.types(p);
            checkOtherPlugins(config(), name, types);
            for (String t : types) {
                String owner = components.owner(t);
                if (owner != null && !owner.equals(name)) {
                    throw new IllegalArgumentException("plugin " + name + " refused: type " + t + " exists already ("
                            + (owner.equals(Components.BUILT_IN) ? "built in" : "plugin " + owner) + ")");
                }
            }
            PluginSpec spec = new PluginSpec(name, sha, List.of(self),
                    new ArrayList<>(new TreeSet<>(p.probes().keySet())),
                    new ArrayList<>(new TreeSet<>(p.policies().keySet())), System.currentTimeMillis());
            awaitHere(change(c -> {
                checkOtherPlugins(c, name, types);          // again, atomically: another node may load one now
                PluginSpec old = c.plugins().get(name);
                List<String> users = old == null ? List.of() : users(c, t -> old.provides(t) && !spec.provides(t));
                if (!users.isEmpty()) {
                    throw new IllegalArgumentException("plugin " + name + " refused: the version loaded now lacks a"
                            + " type that " + String.join(", ", users) + " uses: remove those first");
                }
                return c.withPlugin(name, spec);
            }));
            return spec;
        } finally {
            p.close();
        }
    }

    /**
     * Unloads plugin {@code name} from every node. Returns once this node applied it, as {@link #loadPlugin}.
     *
     * @return the new configuration version
     * @throws IllegalArgumentException when there is none, or a probe or scheduler uses one of its types
     */
    public long unloadPlugin(String name) {
        return awaitHere(change(c -> {
            PluginSpec p = c.plugins().get(name);
            if (p == null) {
                throw new IllegalArgumentException("no plugin named '" + name + "'");
            }
            List<String> users = users(c, p::provides);
            if (!users.isEmpty()) {
                throw new IllegalArgumentException("plugin " + name + " is in use by " + String.join(", ", users)
                        + ": remove those first");
            }
            return c.withPlugin(name, null);
        }));
    }

    /** Refuses plugin {@code name} when another plugin of {@code c} provides one of {@code types}. */
    private static void checkOtherPlugins(SchedulerConfig c, String name, Set<String> types) {
        for (PluginSpec other : c.plugins().values()) {
            for (String t : types) {
                if (!other.name().equals(name) && other.provides(t)) {
                    throw new IllegalArgumentException("plugin " + name + " refused: type " + t + " is plugin "
                            + other.name() + "'s");
                }
            }
        }
    }

    /** The probes and schedulers of {@code c} whose type is one of {@code types}, as "probe P", "scheduler S". */
    private static List<String> users(SchedulerConfig c, java.util.function.Predicate<String> types) {
        List<String> users = new ArrayList<>();
        c.probes().values().stream().filter(s -> types.test(s.type())).forEach(s -> users.add("probe " + s.name()));
        c.schedulers().values().stream().filter(s -> types.test(s.policy()))
                .forEach(s -> users.add("scheduler " + s.name()));
        return users;
    }

    /**
     * Waits until this node applied configuration {@code version} (at most the call timeout; it holds the plugin's
     * JAR, so nothing is fetched), so that the next change made through this node knows the plugin's types.
     */
    private long awaitHere(long version) {
        long end = System.nanoTime() + timeout.toNanos();
        requestSync();
        try {
            while (engine.config().version() < version && !closed) {
                if (System.nanoTime() > end) {
                    log.warn("node {}: configuration version {} not applied here after {}", self, version, timeout);
                    break;
                }
                Thread.sleep(2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return version;
    }

    // ------------------------------------------------------------------ helpers of changes

    private long change(UnaryOperator<SchedulerConfig> f) {
        checkOpen();
        SchedulerConfig next = store.update(SchedWire.CONFIG_ID, c -> f.apply(c == null ? SchedulerConfig.EMPTY : c));
        log.info("node {}: scheduler configuration version {} written", self, next.version());
        for (int n : kddm.members()) {
            if (n != self) {
                try {
                    rpc.send(n, SchedWire.NUDGE, next.version());
                } catch (RuntimeException e) {
                    log.debug("node {}: could not tell node {} of the new configuration: {}", self, n, e.toString());
                }
            }
        }
        requestSync();
        return next.version();
    }

    /** True when filter parameter {@code v} ({@code PROBE/SOURCE} or {@code N*PROBE/SOURCE}) names {@code probe}. */
    private static boolean namesProbe(String v, String probe) {
        String key = v.substring(v.indexOf('*') + 1);
        int slash = key.indexOf('/');
        return slash > 0 && key.substring(0, slash).equals(probe);
    }

    private static void checkFree(SchedulerConfig c, String name) {
        if (c.probes().containsKey(name) || c.schedulers().containsKey(name)) {
            throw new IllegalArgumentException("the name '" + name + "' is in use: remove it first");
        }
    }

    private static SchedulerSpec scheduler(SchedulerConfig c, String name) {
        SchedulerSpec s = c.schedulers().get(name);
        if (s == null) {
            throw new IllegalArgumentException("no scheduler named '" + name + "'" + (c.probes().containsKey(name)
                    ? " (" + name + " is a probe)" : ""));
        }
        return s;
    }

    private void checkSource(SchedulerConfig c, String probe, String source, String what) {
        ProbeSpec p = c.probes().get(probe);
        if (p == null) {
            throw new IllegalArgumentException("no probe named '" + probe + "' (" + what + ")");
        }
        Set<String> sources = newProbe(p).sources();
        if (!sources.contains(source)) {
            throw new IllegalArgumentException("probe " + probe + " (" + p.type() + ") has no source '" + source
                    + "' (it has " + String.join(", ", new TreeSet<>(sources)) + ")");
        }
    }

    private void checkThreshold(SchedulerConfig c, String expr) {
        int star = expr.indexOf('*');
        try {
            Double.parseDouble(star < 0 ? expr : expr.substring(0, star));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad threshold '" + expr + "': N or N*PROBE/SOURCE");
        }
        if (star >= 0) {
            String key = expr.substring(star + 1);
            int slash = key.indexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException("bad threshold '" + expr + "': N or N*PROBE/SOURCE");
            }
            checkSource(c, key.substring(0, slash), key.substring(slash + 1), "named by threshold " + expr);
        }
    }

    private Probe newProbe(ProbeSpec spec) {
        ProbeFactory f = components.probe(spec.type());
        if (f == null) {
            throw new IllegalArgumentException("no probe type '" + spec.type() + "' on node " + self + " (there are: "
                    + knownTypes("probe ") + ")");
        }
        try {
            return f.create(spec.params());
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalArgumentException("probe type " + spec.type() + " failed to make a probe: " + e, e);
        }
    }

    private void checkParams(String type, Map<String, String> params) {
        PolicyFactory f = components.policy(type);
        if (f == null) {
            return;                                         // reported where the type is needed
        }
        try {
            f.checkParams(params);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalArgumentException("policy type " + type + " failed to check its parameters: " + e, e);
        }
    }

    private Policy newPolicy(String type) {
        PolicyFactory f = components.policy(type);
        if (f == null) {
            throw new IllegalArgumentException("no policy type '" + type + "' on node " + self + " (there are: "
                    + knownTypes("policy ") + ")");
        }
        try {
            return f.create();
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalArgumentException("policy type " + type + " failed to make a policy: " + e, e);
        }
    }

    private String knownTypes(String kind) {
        List<String> out = new ArrayList<>();
        for (String line : components.describe()) {
            if (line.startsWith(kind)) {
                out.add(line.substring(kind.length()).trim().split(" ")[0]);
            }
        }
        return String.join(", ", out);
    }

    // ------------------------------------------------------------------ applying

    private void tick() {
        try {
            engine.tick();
            if (++ticks % SYNC_EVERY_TICKS == 0) {
                requestSync();
            }
        } catch (RuntimeException | Error e) {
            log.warn("node {}: scheduler tick failed", self, e);           // the next tick runs all the same
        }
    }

    private void requestSync() {
        if (!closed && syncQueued.compareAndSet(false, true)) {
            try {
                applier.execute(() -> {
                    syncQueued.set(false);
                    sync();
                });
            } catch (RuntimeException e) {
                syncQueued.set(false);                           // stopping
            }
        }
    }

    /**
     * Applies the cluster's configuration if it is newer than the applied one (or a plugin failed to load here, at
     * most every 10 s): plugins first, then the engine.
     */
    private void sync() {
        if (closed) {
            return;
        }
        SchedulerConfig c;
        try {
            c = config();
        } catch (RuntimeException e) {
            log.debug("node {}: cannot read the scheduler configuration now: {}", self, e.toString());
            return;
        }
        boolean retry;
        synchronized (this) {
            retry = !pluginErrors.isEmpty() && System.nanoTime() - lastRetry > RETRY_NANOS;
            if (retry) {
                lastRetry = System.nanoTime();
            }
        }
        if (c.version() <= engine.config().version() && engine.config().version() > 0 && !retry) {
            return;
        }
        Map<String, String> loaded = components.loaded();
        Map<String, String> errors = new HashMap<>();
        List<Components.Plugin> replaced = new ArrayList<>();
        for (PluginSpec p : c.plugins().values()) {
            if (!p.sha256().equals(loaded.get(p.name()))) {
                try {
                    int[] holders = java.util.stream.IntStream.concat(p.holders().stream().mapToInt(Integer::intValue),
                            Arrays.stream(kddm.members())).filter(n -> n != self).distinct().toArray();
                    Path jar = epm.applications().jar(p.sha256(), holders);
                    Components.Plugin opened = Components.open(p.name(), p.sha256(), jar);
                    try {
                        Components.Plugin old = components.install(opened);
                        if (old != null) {
                            replaced.add(old);
                        }
                        if (closed) {
                            components.remove(p.name());    // close() ran meanwhile: release the loader it missed
                        }
                    } catch (RuntimeException e) {
                        opened.close();
                        throw e;
                    }
                    log.info("node {}: loaded scheduler plugin {} ({})", self, p.name(), p.sha256().substring(0, 12));
                } catch (RuntimeException e) {
                    errors.put(p.name(), e.getMessage());
                    log.warn("node {}: cannot load scheduler plugin {}: {}", self, p.name(), e.getMessage());
                }
            }
        }
        engine.configure(c);
        replaced.forEach(Components.Plugin::close);      // the engine runs the new classes only now
        for (String name : loaded.keySet()) {
            if (!c.plugins().containsKey(name)) {
                components.remove(name);
                log.info("node {}: unloaded scheduler plugin {}", self, name);
            }
        }
        synchronized (this) {
            pluginErrors.clear();
            pluginErrors.putAll(errors);
        }
        log.debug("node {}: applied scheduler configuration version {}", self, c.version());
    }

    private void checkOpen() {
        if (closed) {
            throw new KerrighedException("node " + self + "'s scheduler is closed");
        }
    }

    /** Stops this node's scheduler: its thread, its placement hook, its plugins' loaders. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ticker.shutdownNow();
        applier.shutdownNow();
        movers.shutdownNow();
        epm.setPlacement(null);
        for (var key : List.of(SchedWire.POLL, SchedWire.NUDGE, SchedWire.REPORT)) {
            rpc.unregister(key.id());
        }
        components.close();
    }

    @Override
    public String toString() {
        return "ClusterScheduler[node " + self + ", configuration v" + engine.config().version() + "]";
    }

    /** The real node under the engine: its processes through the process layer, its peers through RPC. */
    private final class Host implements SchedulerHost {
        private final com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

        @Override
        public int self() {
            return self;
        }

        @Override
        public int[] liveNodes() {
            int[] m = kddm.members().clone();
            Arrays.sort(m);
            return m;
        }

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public NodeSample sample() {
            List<ProcessSample> ps = new ArrayList<>();
            for (ProcessInfo p : epm.localProcesses()) {
                ps.add(new ProcessSample(p.pid(), p.ppid(), p.pgid(), p.sid(), p.uid(),
                        p.state() == ProcessState.RUNNING, p.capabilities().has(Capability.CAN_MIGRATE), p.cpuNanos(),
                        p.command()));
            }
            var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            return new NodeSample(self, System.nanoTime(), Runtime.getRuntime().availableProcessors(),
                    os.getProcessCpuLoad(), heap.getUsed(), heap.getMax(), ps,
                    epm.lastMigrationNanos().orElse(Long.MIN_VALUE));
        }

        @Override
        public CompletableFuture<Map<String, Double>> poll(int node, Set<String> keys) {
            return rpc.call(node, SchedWire.POLL, new HashSet<>(keys), timeout).thenApply(m -> m);
        }

        @Override
        public CompletableFuture<?> migrate(int pid, int node) {
            return CompletableFuture.runAsync(() -> epm.migrate(pid, node), movers);
        }
    }
}
