package org.kerrighed.rpc.membership;

import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.HandshakeException;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.LinkListener;
import org.kerrighed.rpc.NodeFailedException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.membership.Messages.*;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * This node's membership in the cluster: joins it, keeps the current {@link View}, detects failures, fences
 * failed nodes and runs the {@link HotplugHook}s.
 *
 * <p>Overview. Hazelcast (embedded, TCP-IP discovery) finds the members and is a second, slower failure
 * signal; everything the services rely on is decided here, over authenticated RPC. A joiner first proves
 * the cluster secret as a tool ({@link RpcClient}) to learn the view and get a node id, then starts its
 * endpoint and asks the master to admit it; only then does any hook run for it, so a Hazelcast member that
 * never passes the handshake is never a node. The master is the oldest live member this node does not
 * suspect; it alone makes views, one at a time on its membership thread, and pushes each to every member,
 * which runs its hooks before acknowledging. Views carry increasing epochs; a node installs only newer ones.
 *
 * <p>Failure detection. A closed link (a killed process's sockets close at once) makes its peer suspected
 * immediately; a link silent for {@link MembershipConfig#silenceBeforeSuspect()} (heartbeats flow every
 * second, on I/O threads) does too. The master then probes the suspect itself and declares it failed only
 * if the probe fails, and only while it still sees a majority of the last view (ties go to the side holding
 * the smallest node id), so a minority never changes the view: it stops accepting writes
 * ({@link #writable()}) until it is whole again. A node declared failed is fenced: every member refuses its
 * incarnation's links. A fenced node that wakes up (after SIGSTOP, or a healed partition) finds its links
 * refused or its membership denied, runs {@link HotplugHook#fenced}, and must rejoin as a new incarnation.
 * The membership thread is a platform thread and measures its own scheduling gaps: after a pause of its own
 * process it forgets suspicions (the silence was its own) and checks that it is still a member.
 *
 * <p>Thread safety: public methods are thread-safe. Hooks run on the membership thread.
 */
public final class Membership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Membership.class);
    private static final long TICK_MS = 200;
    private static final long PAUSE_MS = 1500;
    private static final Duration PROBE_TIMEOUT = Duration.ofMillis(1500);   // longer than a tolerated 1 s pause
    private static final Duration PUSH_TIMEOUT = Duration.ofSeconds(5);

    private final RpcNode rpc;
    private final MembershipConfig config;
    private final ScheduledExecutorService thread;        // the membership thread: all state changes run here
    private final List<HotplugHook> hooks = new CopyOnWriteArrayList<>();
    private final List<Runnable> fencedListeners = new CopyOnWriteArrayList<>();
    private final Set<String> fenced = ConcurrentHashMap.newKeySet();  // "id/incarnation" of declared failures
    private final Set<Integer> suspected = ConcurrentHashMap.newKeySet();
    private final Map<Integer, Long> allocations = new HashMap<>();     // id -> expiry (ms), master only
    private final Map<Integer, Long> lastContact = new ConcurrentHashMap<>(); // id -> nanoTime of last sign of life
    private final long startedAtMillis = System.currentTimeMillis();
    private volatile View view = View.empty();
    private volatile boolean writable = true;
    private volatile boolean selfFenced;
    private volatile boolean closed;
    private volatile Discovery discovery;
    private long lastTickNanos = System.nanoTime();
    private volatile long confirmedNanos = System.nanoTime();  // last tick that found this process running normally

    private Membership(RpcNode rpc, MembershipConfig config) {
        this.rpc = rpc;
        this.config = config;
        this.thread = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("krg-membership-" + rpc.nodeId()).daemon().factory());
    }

    /**
     * Starts this node: bootstraps a new cluster when {@code config} has no seeds, else joins through one of
     * them. Returns once this node is ONLINE in a view that every member installed.
     *
     * @param rpcConfigs the RPC configuration to use for a node id (the id may be assigned by the master)
     * @throws KerrighedException when no seed answers, the id is taken, or a step exceeds the join timeout
     */
    public static Membership start(IntFunction<RpcConfig> rpcConfigs, MembershipConfig config, List<HotplugHook> hooks) {
        return start(rpcConfigs, config, hooks, rpc -> {
        });
    }

    /**
     * Like {@link #start(IntFunction, MembershipConfig, List)}, and runs {@code beforeJoin} on this node's
     * endpoint as soon as it exists, before the node is admitted: services register their handlers there,
     * so no member ever sends them a message they cannot take.
     */
    public static Membership start(IntFunction<RpcConfig> rpcConfigs, MembershipConfig config, List<HotplugHook> hooks,
                                   java.util.function.Consumer<RpcNode> beforeJoin) {
        Checks.notNull(rpcConfigs, "rpcConfigs");
        Checks.notNull(beforeJoin, "beforeJoin");
        Checks.notNull(config, "config");
        if (config.seeds().isEmpty()) {
            int id = Math.max(0, config.requestedNodeId());
            RpcNode rpc = RpcNode.start(rpcConfigs.apply(id));
            Membership m = new Membership(rpc, config);
            m.hooks.addAll(hooks);
            try {
                beforeJoin.accept(rpc);
                m.bootstrap();
                return m;
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
        RpcConfig clientConfig = rpcConfigs.apply(0).toBuilder().nodeId(-1).faults(null).jmx(false).build();
        Info info = null;
        List<String> errors = new ArrayList<>();
        for (HostAndPort seed : config.seeds()) {
            try (RpcClient c = RpcClient.connect(clientConfig, seed)) {
                info = c.call(Messages.INFO, new InfoRequest(clientConfig.clusterName()), config.joinTimeout()).get();
                break;
            } catch (Exception e) {
                errors.add(seed + ": " + rootMessage(e));
            }
        }
        if (info == null || info.view().members().isEmpty()) {
            throw new KerrighedException("cannot join: no seed answered (" + String.join("; ", errors) + ")");
        }
        Member master = info.view().member(info.view().master()).orElse(info.view().members().getFirst());
        int id;
        try (RpcClient c = RpcClient.connect(clientConfig, master.rpcAddress())) {
            id = c.call(Messages.ALLOCATE, new AllocateId(config.requestedNodeId()), config.joinTimeout()).get();
        } catch (Exception e) {
            throw new KerrighedException("cannot join: master " + master.nodeId() + " gave no node id: " + rootMessage(e), e);
        }
        RpcNode rpc = RpcNode.start(rpcConfigs.apply(id));
        Membership m = new Membership(rpc, config);
        m.hooks.addAll(hooks);
        try {
            beforeJoin.accept(rpc);
            m.join(info, master);
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static String rootMessage(Throwable t) {
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    // ------------------------------------------------------------------ public view of the membership

    /** This node's RPC endpoint. */
    public RpcNode rpc() {
        return rpc;
    }

    public int nodeId() {
        return rpc.nodeId();
    }

    /** The current view (never null; empty before start completes). */
    public View view() {
        return view;
    }

    public long epoch() {
        return view.epoch();
    }

    /**
     * False while this node sees fewer than half of the last view alive (ties: the half without the smallest
     * id) or after it was fenced: services must refuse writes then.
     */
    public boolean writable() {
        return writable && !selfFenced;
    }

    /**
     * Nanoseconds since the membership thread last confirmed that this process runs normally (it ticks every
     * 200 ms). After a pause of the whole process (SIGSTOP, a long GC) the value stays high until the node
     * has checked with the others that it is still a member, so a service that serves cached data can refuse
     * to while it is above a bound well under the failure-detection time: a node the others may have declared
     * failed then never serves a stale copy.
     */
    public long sinceConfirmedNanos() {
        return System.nanoTime() - confirmedNanos;
    }

    /** True once this node was declared failed by the others; it must rejoin as a new incarnation. */
    public boolean isFenced() {
        return selfFenced;
    }

    /** Node ids this node currently suspects. */
    public Set<Integer> suspects() {
        return new TreeSet<>(suspected);
    }

    /** Adds a hook; it sees changes from the next view on. */
    public void addHook(HotplugHook hook) {
        hooks.add(Checks.notNull(hook, "hook"));
    }

    /** Runs {@code r} (on the membership thread) when this node learns it was fenced. */
    public void onFenced(Runnable r) {
        fencedListeners.add(Checks.notNull(r, "listener"));
    }

    /** The discovery (Hazelcast) address of this node. */
    public HostAndPort discoveryAddress() {
        Discovery d = discovery;
        return d == null ? null : d.address();
    }

    /** Hazelcast's own member count (for diagnostics). */
    public int discoverySize() {
        Discovery d = discovery;
        return d == null ? 0 : d.size();
    }

    // ------------------------------------------------------------------ start

    private Member self(NodeState state, long epoch) {
        return new Member(rpc.nodeId(), rpc.incarnation(), rpc.address(), discovery.address(), state, epoch,
                startedAtMillis);
    }

    private void installServices() {
        rpc.setAdmission(this::refusal);
        rpc.addLinkListener(new LinkListener() {
            @Override
            public void linkDown(int nodeId, String reason) {
                if (!closed && view.member(nodeId).isPresent()) {
                    async(() -> suspect(nodeId, "link closed: " + reason));
                }
            }
        });
        rpc.register(Messages.INFO, HandlerKind.BLOCKING, (ctx, r) -> new Info(view, discoveryAddresses()));
        rpc.register(Messages.ALLOCATE, HandlerKind.BLOCKING, (ctx, r) -> onThread(() -> allocate(r.requested())));
        rpc.register(Messages.JOIN, HandlerKind.BLOCKING, (ctx, r) -> onThread(() -> admit(r.candidate())));
        rpc.register(Messages.SUSPECT, HandlerKind.NON_BLOCKING, (ctx, r) -> {
            async(() -> {
                if (view.contains(r.nodeId(), r.incarnation())) {
                    suspect(r.nodeId(), "reported by node " + ctx.caller() + ": " + r.reason());
                }
            });
            return null;
        });
        rpc.register(Messages.LEAVE, HandlerKind.BLOCKING, (ctx, r) -> onThread(() -> depart(r.nodeId(), r.incarnation())));
        rpc.register(Messages.CHECK, HandlerKind.BLOCKING,
                (ctx, r) -> new CheckReply(view.contains(r.nodeId(), r.incarnation()), view));
        rpc.register(Messages.INSTALL, HandlerKind.BLOCKING, (ctx, r) -> onThread(() -> {
            install(r.view());
            return new Ack(view.epoch());
        }));
        rpc.register(Messages.PROBE, HandlerKind.NON_BLOCKING, (ctx, t) -> t);
    }

    private List<HostAndPort> discoveryAddresses() {
        List<HostAndPort> l = new ArrayList<>();
        for (Member m : view.members()) {
            l.add(m.discoveryAddress());
        }
        return l;
    }

    private void bootstrap() {
        installServices();
        discovery = new Discovery(rpc.config().clusterName(), config.discoveryBind(), List.of(), rpc.nodeId(),
                rpc.incarnation(), rpc.address(), this::discoveryLost);
        onThread(() -> {
            View v = new View(1, rpc.nodeId(), List.of(self(NodeState.ONLINE, 1)), List.of(), Set.of());
            install(v);
            return null;
        });
        startMonitor();
        log.info("node {} started cluster '{}' (epoch 1)", rpc.nodeId(), rpc.config().clusterName());
    }

    private void join(Info info, Member master) {
        installServices();
        for (Member m : info.view().members()) {
            rpc.addPeer(m.nodeId(), m.rpcAddress());
        }
        discovery = new Discovery(rpc.config().clusterName(), config.discoveryBind(), info.discoveryAddresses(),
                rpc.nodeId(), rpc.incarnation(), rpc.address(), this::discoveryLost);
        long start = System.nanoTime();
        View v;
        try {
            v = rpc.call(master.nodeId(), Messages.JOIN, new Join(self(NodeState.JOINING, 0)), config.joinTimeout())
                    .get(config.joinTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new KerrighedException("node " + rpc.nodeId() + " could not join through master " + master.nodeId()
                    + ": " + rootMessage(e), e);
        }
        onThread(() -> {
            install(v);
            return null;
        });
        startMonitor();
        log.info("node {} joined cluster '{}' at epoch {} in {} ms", rpc.nodeId(), rpc.config().clusterName(),
                v.epoch(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    private void startMonitor() {
        thread.execute(() -> lastTickNanos = System.nanoTime());   // the pause clock starts now, not at construction
        thread.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /** Queues {@code task} on the membership thread; dropped once the membership is closed. */
    private void async(Runnable task) {
        try {
            thread.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("node {}: membership closed; dropping an event", rpc.nodeId());
        }
    }

    /** Runs {@code task} on the membership thread and waits for it (from a handler or the starting thread). */
    private <T> T onThread(java.util.concurrent.Callable<T> task) {
        try {
            return thread.submit(task).get(config.joinTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new KerrighedException(rootMessage(e), e.getCause());
        } catch (TimeoutException e) {
            throw new KerrighedException("membership thread of node " + rpc.nodeId() + " is busy");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted");
        }
    }

    // ------------------------------------------------------------------ admission (I/O threads)

    private static String key(int id, long incarnation) {
        return id + "/" + incarnation;
    }

    private String refusal(int id, long incarnation) {
        if (fenced.contains(key(id, incarnation))) {
            return "incarnation " + Long.toHexString(incarnation) + " of node " + id
                    + " was declared failed; it must rejoin as a new incarnation";
        }
        return null;
    }

    // ------------------------------------------------------------------ master side (membership thread)

    private boolean isMaster() {
        return actingMaster() == rpc.nodeId();
    }

    /** The oldest live member this node does not suspect. */
    private int actingMaster() {
        for (Member m : view.members()) {
            if (!suspected.contains(m.nodeId())) {
                return m.nodeId();
            }
        }
        return rpc.nodeId();
    }

    private int allocate(int requested) {
        requireMaster();
        long now = System.currentTimeMillis();
        allocations.values().removeIf(expiry -> expiry < now);
        if (requested >= 0) {
            Member holder = view.member(requested).orElse(null);
            if (holder != null) {
                throw new IllegalStateException("node id " + requested + " is in use by the member at "
                        + holder.rpcAddress() + " (incarnation " + Long.toHexString(holder.incarnation()) + ")");
            }
            allocations.put(requested, now + config.joinTimeout().toMillis() * 2);
            return requested;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int id = 0; id < RpcConfig.MAX_NODES; id++) {
                boolean retired = view.retired().contains(id);
                if (view.member(id).isEmpty() && !allocations.containsKey(id) && (pass == 1 || !retired)) {
                    allocations.put(id, now + config.joinTimeout().toMillis() * 2);
                    return id;
                }
            }
        }
        throw new IllegalStateException("no free node id: the cluster has " + view.size() + " members");
    }

    private void requireMaster() {
        if (!isMaster()) {
            throw new IllegalStateException("node " + rpc.nodeId() + " is not the master; ask node " + actingMaster());
        }
    }

    private View admit(Member candidate) {
        requireMaster();
        if (fenced.contains(key(candidate.nodeId(), candidate.incarnation()))) {
            throw new IllegalStateException("incarnation was declared failed");
        }
        Member holder = view.member(candidate.nodeId()).orElse(null);
        if (holder != null && holder.incarnation() != candidate.incarnation()) {
            throw new IllegalStateException("node id " + candidate.nodeId() + " is held by another incarnation at "
                    + holder.rpcAddress());
        }
        allocations.remove(candidate.nodeId());
        if (holder == null) {
            long e1 = view.epoch() + 1;
            List<Member> ms = new ArrayList<>(view.members());
            ms.add(candidate.withState(NodeState.JOINING, e1));
            publish(new View(e1, rpc.nodeId(), ms, List.of(), view.retired()));
        }
        long e2 = view.epoch() + 1;
        List<Member> ms = new ArrayList<>();
        for (Member m : view.members()) {
            ms.add(m.nodeId() == candidate.nodeId() ? m.withState(NodeState.ONLINE, e2) : m);
        }
        Set<Integer> retired = new HashSet<>(view.retired());
        retired.remove(candidate.nodeId());
        publish(new View(e2, rpc.nodeId(), ms, List.of(), retired));
        return view;
    }

    private View depart(int id, long incarnation) {
        requireMaster();
        Member m = view.member(id).orElse(null);
        if (m == null || m.incarnation() != incarnation) {
            return view;
        }
        long e1 = view.epoch() + 1;
        List<Member> ms = new ArrayList<>();
        for (Member x : view.members()) {
            ms.add(x.nodeId() == id ? x.withState(NodeState.LEAVING, e1) : x);
        }
        publish(new View(e1, rpc.nodeId(), ms, List.of(), view.retired()));
        remove(id, NodeState.LEFT);
        return view;
    }

    /** Makes and publishes one view without every node of {@code ids} (declared failed). */
    private void removeAll(Set<Integer> ids) {
        long e = view.epoch() + 1;
        List<Member> ms = new ArrayList<>();
        List<Member> gone = new ArrayList<>();
        for (Member m : view.members()) {
            if (ids.contains(m.nodeId())) {
                gone.add(m.withState(NodeState.FAILED, e));
            } else {
                ms.add(m);
            }
        }
        if (gone.isEmpty()) {
            return;
        }
        Set<Integer> retired = new HashSet<>(view.retired());
        retired.addAll(ids);
        publish(new View(e, rpc.nodeId(), ms, gone, retired));
    }

    /** Makes and publishes the view without {@code id}. */
    private void remove(int id, NodeState how) {
        Member m = view.member(id).orElse(null);
        if (m == null) {
            return;
        }
        long e = view.epoch() + 1;
        List<Member> ms = new ArrayList<>(view.members());
        ms.removeIf(x -> x.nodeId() == id);
        Set<Integer> retired = new HashSet<>(view.retired());
        retired.add(id);
        publish(new View(e, rpc.nodeId(), ms, List.of(m.withState(how, e)), retired));
    }

    /**
     * Installs {@code v} here, then pushes it to every other member and waits (bounded) for their acks. A view in
     * which this (master) node is leaving is pushed first and installed here after: this node's leave hooks hand its
     * objects to the others, which must be in the view to take them (installed first, the hooks waited for them
     * until the call timeout).
     */
    private void publish(View v) {
        boolean leavingHere = v.member(rpc.nodeId()).map(m -> m.state() == NodeState.LEAVING).orElse(false);
        if (!leavingHere) {
            install(v);
        }
        List<Integer> others = new ArrayList<>(v.nodeIds());
        others.remove((Integer) rpc.nodeId());
        if (!others.isEmpty()) {
            try {
                var r = rpc.multicast(others, Messages.INSTALL, new Install(v), PUSH_TIMEOUT)
                        .get(PUSH_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
                r.failures().forEach((n, t) -> log.warn("node {}: node {} did not install epoch {}: {}", rpc.nodeId(),
                        n, v.epoch(), rootMessage(t)));
            } catch (Exception e) {
                log.warn("node {}: pushing epoch {} failed: {}", rpc.nodeId(), v.epoch(), rootMessage(e));
            }
        }
        if (leavingHere) {
            install(v);
        }
    }

    // ------------------------------------------------------------------ every node (membership thread)

    /** Applies a newer view: peers, fencing and hooks. Older or equal epochs are ignored. */
    private void install(View v) {
        View old = view;
        if (v.epoch() <= old.epoch()) {
            return;
        }
        view = v;
        Map<Integer, Member> before = new HashMap<>();
        for (Member m : old.members()) {
            before.put(m.nodeId(), m);
        }
        List<Member> departed = new ArrayList<>(v.departed());
        for (Member m : old.members()) {                       // missed epochs: vanished members failed
            if (v.member(m.nodeId()).isEmpty() && departed.stream().noneMatch(d -> d.nodeId() == m.nodeId())) {
                departed.add(m.withState(NodeState.FAILED, v.epoch()));
            }
        }
        for (Member d : departed) {
            if (d.nodeId() == rpc.nodeId() && d.incarnation() == rpc.incarnation()) {
                if (d.state() == NodeState.FAILED) {
                    fence(old);
                }
                return;
            }
        }
        for (Member m : v.members()) {
            Member was = before.get(m.nodeId());
            if (m.nodeId() != rpc.nodeId()) {
                rpc.addPeer(m.nodeId(), m.rpcAddress());
            }
            if (was == null || was.incarnation() != m.incarnation()) {
                lastContact.put(m.nodeId(), System.nanoTime());
                runHooks(true, h -> h.nodeAdded(m, v));
            } else if (m.state() == NodeState.LEAVING && was.state() != NodeState.LEAVING) {
                runHooks(false, h -> h.nodeLeaving(m, v));
            }
        }
        for (Member d : departed) {
            suspected.remove(d.nodeId());
            lastContact.remove(d.nodeId());
            if (d.state() == NodeState.FAILED) {
                fenced.add(key(d.nodeId(), d.incarnation()));
                rpc.removePeer(d.nodeId(), new NodeFailedException(d.nodeId(), "node " + d.nodeId()
                        + " was declared failed at epoch " + v.epoch()));
                runHooks(false, h -> h.nodeFailed(d, v));
                log.info("node {}: node {} failed (epoch {})", rpc.nodeId(), d.nodeId(), v.epoch());
            } else {
                rpc.removePeer(d.nodeId(), new LinkClosedException(d.nodeId(), "node " + d.nodeId() + " left"));
                log.info("node {}: node {} left (epoch {})", rpc.nodeId(), d.nodeId(), v.epoch());
            }
        }
        updateWritable();
        runHooks(true, h -> h.viewInstalled(v));
    }

    private void runHooks(boolean ascending, java.util.function.Consumer<HotplugHook> call) {
        List<HotplugHook> ordered = new ArrayList<>(hooks);
        Comparator<HotplugHook> byPriority = Comparator.comparingInt(HotplugHook::priority);
        ordered.sort(ascending ? byPriority : byPriority.reversed());
        for (HotplugHook h : ordered) {
            try {
                call.accept(h);
            } catch (RuntimeException e) {
                log.error("node {}: hotplug hook {} failed", rpc.nodeId(), h, e);
            }
        }
    }

    private void fence(View last) {
        if (selfFenced) {
            return;
        }
        selfFenced = true;
        writable = false;
        log.warn("node {}: this node (incarnation {}) was declared failed by the cluster; it stops serving",
                rpc.nodeId(), Long.toHexString(rpc.incarnation()));
        runHooks(false, h -> h.fenced(last));
        for (Runnable r : fencedListeners) {
            try {
                r.run();
            } catch (RuntimeException e) {
                log.error("node {}: fenced listener failed", rpc.nodeId(), e);
            }
        }
    }

    private void discoveryLost(int id, long incarnation) {
        if (!closed) {
            async(() -> {
                if (view.contains(id, incarnation)) {
                    suspect(id, "discovery (Hazelcast) lost it");
                }
            });
        }
    }

    /** A member looks dead: the acting master verifies and declares; others report to it. */
    private void suspect(int id, String reason) {
        if (closed || selfFenced || id == rpc.nodeId() || view.member(id).isEmpty()) {
            return;
        }
        boolean fresh = suspected.add(id);
        if (fresh) {
            log.info("node {}: suspects node {}: {}", rpc.nodeId(), id, reason);
        }
        updateWritable();
        if (isMaster()) {
            verifyAndDeclare(id, reason);
        } else if (fresh) {
            int master = actingMaster();
            Member m = view.member(id).orElseThrow();
            try {
                rpc.send(master, Messages.SUSPECT, new Suspect(id, m.incarnation(), reason));
            } catch (RuntimeException e) {
                log.debug("node {}: cannot report node {} to master {}: {}", rpc.nodeId(), id, master, e.getMessage());
            }
        }
    }

    /**
     * Confirms a suspicion before acting on it: probes every member at once. The suspect is declared failed
     * only if it does not answer and the members that do answer (with this one) are a majority of the
     * view; every other member that did not answer is declared failed in the same view.
     */
    private void verifyAndDeclare(int id, String reason) {
        if (view.member(id).isEmpty()) {
            return;
        }
        Map<Integer, CompletableFuture<Long>> probes = new HashMap<>();
        for (Member m : view.members()) {
            if (m.nodeId() != rpc.nodeId()) {
                probes.put(m.nodeId(), rpc.call(m.nodeId(), Messages.PROBE, System.nanoTime(), PROBE_TIMEOUT));
            }
        }
        Set<Integer> silent = new TreeSet<>();
        for (var e : probes.entrySet()) {
            try {
                e.getValue().get(PROBE_TIMEOUT.toMillis() + 500, TimeUnit.MILLISECONDS);
                heardFrom(e.getKey());
            } catch (Exception ex) {
                Throwable t = unwrap(ex);
                if (t instanceof HandshakeException he && he.getMessage().contains("declared failed")) {
                    fence(view);                               // the others refuse us: we are the failed one
                    return;
                }
                silent.add(e.getKey());
            }
        }
        suspected.clear();
        suspected.addAll(silent);
        updateWritable();
        if (!silent.contains(id)) {
            log.info("node {}: node {} answered the probe; not failed", rpc.nodeId(), id);
            return;
        }
        if (!seesMajority()) {
            log.warn("node {}: cannot declare {} failed: only {} of the {} members of epoch {} answered",
                    rpc.nodeId(), silent, view.size() - silent.size(), view.size(), view.epoch());
            return;
        }
        log.info("node {}: declaring {} failed ({})", rpc.nodeId(), silent, reason);
        removeAll(silent);
    }

    private void heardFrom(int id) {
        heardFrom(id, System.nanoTime());
    }

    /** Records a sign of life from {@code id} at {@code atNanos} (System.nanoTime). */
    private void heardFrom(int id, long atNanos) {
        lastContact.merge(id, atNanos, Math::max);
        if (suspected.remove(id)) {
            log.info("node {}: node {} is heard again", rpc.nodeId(), id);
        }
    }

    private boolean seesMajority() {
        int size = view.size();
        int alive = 0;
        int smallest = Integer.MAX_VALUE;
        boolean holdsSmallest = false;
        for (Member m : view.members()) {
            smallest = Math.min(smallest, m.nodeId());
        }
        for (Member m : view.members()) {
            if (!suspected.contains(m.nodeId())) {
                alive++;
                holdsSmallest |= m.nodeId() == smallest;
            }
        }
        return 2 * alive > size || (2 * alive == size && holdsSmallest);
    }

    private void updateWritable() {
        writable = !selfFenced && seesMajority();
    }

    /**
     * Every TICK_MS on the membership thread: pause detection, silence detection, link upkeep. A member's
     * silence counts from its last sign of life (a frame on its link, or an answered probe), whether or not
     * a link is open; only a refused connection (its process is gone) is suspected at once.
     */
    private void tick() {
        try {
            if (closed || selfFenced) {
                return;
            }
            long now = System.nanoTime();
            long gapMs = TimeUnit.NANOSECONDS.toMillis(now - lastTickNanos);
            lastTickNanos = now;
            if (gapMs > PAUSE_MS) {
                // This process was not running (SIGSTOP, long GC pause): the silence was ours.
                log.warn("node {}: was paused for {} ms; checking it is still a member", rpc.nodeId(), gapMs);
                suspected.clear();
                lastContact.replaceAll((k, v) -> now);
                checkStillMember();
                return;
            }
            Map<Integer, Long> silence = rpc.silenceMillis();
            long limitNanos = config.silenceBeforeSuspect().toNanos();
            for (Member m : view.members()) {
                int id = m.nodeId();
                if (id == rpc.nodeId()) {
                    continue;
                }
                Long s = silence.get(id);
                if (s != null && s < TimeUnit.NANOSECONDS.toMillis(limitNanos)) {
                    heardFrom(id, now - TimeUnit.MILLISECONDS.toNanos(s));   // when its last frame arrived
                } else if (s == null) {
                    // No link: open one (heartbeats then flow on it). A refusal means the process is gone.
                    rpc.call(id, Messages.PROBE, now, PROBE_TIMEOUT).whenComplete((r, t) -> async(() -> {
                        if (t == null) {
                            heardFrom(id);
                        } else if (!(unwrap(t) instanceof org.kerrighed.rpc.RpcTimeoutException)) {
                            suspect(id, "unreachable: " + rootMessage(t));
                        }
                    }));
                }
                long last = lastContact.computeIfAbsent(id, k -> now);
                if (now - last > limitNanos) {
                    suspect(id, "silent for " + TimeUnit.NANOSECONDS.toMillis(now - last) + " ms");
                }
            }
            updateWritable();
            confirmedNanos = now;
        } catch (RuntimeException e) {
            log.error("node {}: membership tick failed", rpc.nodeId(), e);
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Asks the members, oldest first, whether this incarnation is still a member. */
    private void checkStillMember() {
        for (Member m : view.members()) {
            if (m.nodeId() == rpc.nodeId()) {
                continue;
            }
            try {
                CheckReply r = rpc.call(m.nodeId(), Messages.CHECK, new Check(rpc.nodeId(), rpc.incarnation()),
                        Duration.ofSeconds(2)).get(3, TimeUnit.SECONDS);
                if (!r.member()) {
                    install(r.view());
                    fence(view);
                } else {
                    install(r.view());
                    confirmedNanos = System.nanoTime();
                }
                return;
            } catch (Exception e) {
                Throwable t = e instanceof ExecutionException ? e.getCause() : e;
                if (t instanceof HandshakeException he && he.getMessage().contains("declared failed")) {
                    fence(view);
                    return;
                }
            }
        }
    }

    // ------------------------------------------------------------------ leaving

    /**
     * Leaves the cluster gracefully: every node runs its leave hooks for this node, then this node is
     * removed from the view. Bounded by the join timeout. Does not close the endpoint.
     */
    public void leave() {
        if (selfFenced || closed || view.size() <= 1) {
            return;
        }
        if (isMaster()) {
            onThread(() -> depart(rpc.nodeId(), rpc.incarnation()));
            return;
        }
        try {
            rpc.call(actingMaster(), Messages.LEAVE, new Leave(rpc.nodeId(), rpc.incarnation()), config.joinTimeout())
                    .get(config.joinTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.warn("node {}: graceful leave failed: {}", rpc.nodeId(), rootMessage(e));
        }
    }

    /** Leaves gracefully (unless fenced), then stops discovery, the membership thread and the endpoint. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            leave();
        } catch (RuntimeException e) {
            log.warn("node {}: leave failed: {}", rpc.nodeId(), e.getMessage());
        }
        closed = true;
        thread.shutdownNow();
        Discovery d = discovery;
        if (d != null) {
            d.close();
        }
        rpc.close();
    }

    /** Stops at once without leaving (tests: what a crash looks like to the others, minus the sockets). */
    public void halt() {
        closed = true;
        thread.shutdownNow();
        Discovery d = discovery;
        if (d != null) {
            d.close();
        }
        rpc.close();
    }

    @Override
    public String toString() {
        return "Membership[node " + rpc.nodeId() + ", epoch " + view.epoch() + ", " + view.nodeIds() + "]";
    }
}
