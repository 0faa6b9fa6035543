package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.epm.internal.EpmWire.Entry;
import org.kerrighed.epm.internal.EpmWire.Kill;
import org.kerrighed.epm.internal.EpmWire.Requester;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.CallerContext;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.MulticastResult;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TypeRegistrar;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A node's process layer: cluster-wide processes with global pids, started here or on other nodes, waited for,
 * signalled and listed from any node. One per node ({@code node.epm()}), started on the node's KDDM, shared
 * memory and IPC; every node of the cluster starts one. Thread-safe.
 *
 * <p><b>Who calls.</b> Called from a process's thread, a method acts as that process (its credentials, its
 * capabilities; a spawn makes a child of it). Called from any other thread, it acts for the node: the node's
 * configured credentials, every capability, and processes it starts are children of {@link Pids#INIT}. The node
 * installs a {@link CallerContext} so that shared memory and IPC see the current process too.
 *
 * <p><b>Blocking.</b> Spawning, signalling and listing wait for at most one or two round trips, bounded by the
 * node's call timeout ({@link KerrighedException} after it).
 *
 * <p><b>Failure.</b> When a node fails (or leaves with processes that did not end), the processes that ran on it
 * are reported to their parents as killed by KILL (reason "node N failed", "node N left"), and the children of
 * processes that ran there are re-parented to {@link Pids#INIT}. The process table (a KDDM set, replicated)
 * survives; its rows for processes of the dead node are dropped when next looked up.
 */
public final class Epm implements AutoCloseable {
    /*
     * Overview: a process lives in its node's `local` map and, for lookups from other nodes, in the process table
     * (`ProcessTable`: one row per pid, homed on the birth node, replicated). Parents, children, exit notices and
     * adoption are the `Reaper`'s. Requests about a pid that is not here go to the node its row names.
     */
    private static final Logger log = LoggerFactory.getLogger(Epm.class);
    static final ThreadLocal<LocalProcess> CURRENT = new ThreadLocal<>();
    private static final long NEVER = Long.MIN_VALUE;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final Kddm kddm;
    private final SharedMemory shm;
    private final Ipc ipc;
    private final RpcNode rpc;
    private final int self;
    private final CallerContext nodeCallers;
    private final ProcessTable table;
    private final Reaper reaper;
    private final Map<Integer, LocalProcess> local = new ConcurrentHashMap<>();
    private final ExecutorService processThreads;
    private final LoadSampler loads;
    private final Applications apps;
    private final Ghosts ghosts;
    private final Migration migration;
    private final Checkpoints checkpoints;
    private final java.util.Set<PeriodicCheckpoint> periodic = ConcurrentHashMap.newKeySet();
    private final AtomicInteger roundRobin = new AtomicInteger();
    private final Duration timeout;
    private volatile Placement placement;
    private volatile long lastMigration = NEVER;
    private volatile boolean closed;
    private volatile long closeDeadline;                    // nanoTime: when close stops waiting for processes

    private Epm(Kddm kddm, SharedMemory shm, Ipc ipc) {
        this.kddm = kddm;
        this.shm = shm;
        this.ipc = ipc;
        this.rpc = kddm.rpc();
        this.self = kddm.nodeId();
        this.timeout = rpc.config().defaultCallTimeout();
        this.nodeCallers = kddm.callers();
        this.placement = r -> Placement.NO_CHOICE;
        this.table = new ProcessTable(kddm, local);
        this.processThreads = Executors.newCachedThreadPool(
                Thread.ofPlatform().name("krg-proc-pool-" + self + "-", 0).daemon().factory());
        this.loads = new LoadSampler(self, local::values);
        this.apps = new Applications(rpc, kddm.storage(), kddm::isMember, kddm::members);
        this.reaper = new Reaper(rpc, local, table, apps, shm, ipc);
        this.ghosts = new Ghosts(this, rpc.config().types(), apps);
        ghosts.warm();
        this.migration = new Migration(this, rpc);
        this.checkpoints = new Checkpoints(this, rpc, kddm.storage());
        reaper.setMigration(migration);
        kddm.setCallers(new ProcessCallers());
        rpc.register(EpmWire.SPAWN, HandlerKind.BLOCKING, (ctx, s) -> startLocal(s));
        rpc.register(EpmWire.EXIT, HandlerKind.BLOCKING, (ctx, e) -> {
            reaper.onExit(e, ctx.caller(), false);
            return null;
        });
        rpc.register(EpmWire.EXIT_BY_ROW, HandlerKind.BLOCKING, (ctx, e) -> {
            reaper.onExit(e, ctx.caller(), true);
            return null;
        });
        rpc.register(EpmWire.KILL, HandlerKind.BLOCKING, (ctx, k) -> route(k));
        rpc.registerAsync(EpmWire.KILL_GROUP, HandlerKind.NON_BLOCKING, (ctx, k) -> killLocalGroup(k));
        rpc.register(EpmWire.REPARENT, HandlerKind.BLOCKING, (ctx, r) -> {
            reaper.reparent(r, ctx.caller(), false);
            return null;
        });
        rpc.register(EpmWire.REPARENT_BY_ROW, HandlerKind.BLOCKING, (ctx, r) -> {
            reaper.reparent(r, ctx.caller(), true);
            return null;
        });
        rpc.register(EpmWire.CAPSET, HandlerKind.BLOCKING, (ctx, c) -> capsetHere(c));
        rpc.register(EpmWire.LIST, HandlerKind.NON_BLOCKING, (ctx, r) -> listReply(r));
        rpc.register(EpmWire.LOAD, HandlerKind.BLOCKING, (ctx, r) -> loads.current());      // reads /proc
        rpc.register(EpmWire.MIGRATE, HandlerKind.BLOCKING, (ctx, m) -> routeMigrate(m));
        rpc.register(EpmWire.MOVED, HandlerKind.BLOCKING, (ctx, m) -> reaper.moved(m, ctx.caller(), false));
        rpc.register(EpmWire.MOVED_BY_ROW, HandlerKind.BLOCKING, (ctx, m) -> {
            reaper.moved(m, ctx.caller(), true);
            return null;
        });
        kddm.addViewListener((epoch, members, failed) -> reaper.viewChanged(members, failed));
    }

    /** Starts the process layer on {@code kddm}'s node (registers its messages, creates the process table). */
    public static Epm start(Kddm kddm, SharedMemory shm, Ipc ipc) {
        return new Epm(Checks.notNull(kddm, "kddm"), Checks.notNull(shm, "shm"), Checks.notNull(ipc, "ipc"));
    }

    /**
     * The process layer's wire types (ids 7000-7069): every node and tool of a cluster that uses processes
     * registers them. Service ids: 160-179; KDDM static sets: 1200 (the process table), 1201 (pid maps).
     */
    public static TypeRegistrar types() {
        return EpmWire::registerTypes;
    }

    /**
     * Registers the programs that run tasks and the process image's types (for {@link EpmWire#registerTypes}); not
     * for applications.
     */
    public static void registerPrograms(org.kerrighed.rpc.TypeRegistry.Builder b) {
        b.range("kerrighed-epm.tasks", 7020, 7029)
                .register(7020, TaskPrograms.RunnableProgram.class)
                .register(7021, TaskPrograms.CallableProgram.class);
        ProcessImage.registerTypes(b);
    }

    public int nodeId() {
        return self;
    }

    Ipc ipc() {
        return ipc;
    }

    /** The application JARs this node holds (what {@code krg run} ships), and their class loaders. */
    public Applications applications() {
        return apps;
    }

    SharedMemory shm() {
        return shm;
    }

    Migration migration() {
        return migration;
    }

    ProcessTable table() {
        return table;
    }

    Reaper reaper() {
        return reaper;
    }

    Ghosts ghosts() {
        return ghosts;
    }

    boolean isLocal(int pid) {
        return local.containsKey(pid);
    }

    LocalProcess localProcess(int pid) {
        return local.get(pid);
    }

    int[] memberIds() {
        return kddm.members();
    }

    boolean isMember(int node) {
        return kddm.isMember(node);
    }

    Duration callTimeout() {
        return timeout;
    }

    boolean isClosed() {
        return closed;
    }

    /** When a closing process layer stops waiting for its processes to end ({@link System#nanoTime}). */
    long closeDeadline() {
        return closeDeadline;
    }

    /** The process of the calling thread, if it is one of this node's; empty otherwise. */
    public Optional<ProcessContext> current() {
        return Optional.ofNullable(currentProcess());
    }

    private LocalProcess currentProcess() {
        LocalProcess p = CURRENT.get();
        return p != null && p.epm == this ? p : null;
    }

    private Requester requester() {
        LocalProcess p = currentProcess();
        return p != null ? new Requester(p.pid, self, p.credentials, p.capabilities())
                : new Requester(0, self, nodeCallers.credentials(), Capabilities.FULL);
    }

    /** Replaces the placement hook (the scheduler installs its policy here); null restores round robin. */
    public void setPlacement(Placement p) {
        placement = p == null ? r -> Placement.NO_CHOICE : p;
    }

    private int roundRobin(int[] live) {
        return live[Math.floorMod(roundRobin.getAndIncrement(), live.length)];
    }

    // ------------------------------------------------------------------ spawn

    /**
     * Starts {@code program} as a new process (a child of the calling process, or of {@link Pids#INIT} from
     * outside a process) on the node the options name, or else the one the placement hook picks. Returns once the
     * process runs. A program whose class is neither registered nor a class of an application JAR (see
     * {@link Applications}) cannot travel: the hook is then not asked and it runs here.
     *
     * @throws CapabilityException      when a process names another node without {@code DISTANT_FORK} effective
     * @throws IllegalArgumentException when the named node is not a live member, or the program cannot travel there
     * @throws KerrighedException       when the target node failed or did not answer in time
     */
    public ClusterProcess spawn(Program program, SpawnOptions options) {
        Checks.notNull(program, "program");
        Checks.notNull(options, "options");
        checkOpen();
        LocalProcess parent = currentProcess();
        Credentials creds;
        Capabilities caps;
        int ppid;
        int pgid;
        int sid;
        if (parent != null) {
            if (options.credentials() != null && !parent.credentials.isRoot()
                    && !options.credentials().equals(parent.credentials)) {
                throw new PermissionDeniedException("process " + parent.pid + " (" + parent.credentials
                        + ") may not give its child other credentials: only root may");
            }
            creds = options.credentials() == null ? parent.credentials : options.credentials();
            caps = parent.capabilities().forChild();
            if (options.capabilities() != null) {
                caps = caps.change(options.capabilities());
            }
            ppid = parent.pid;
            pgid = options.processGroup() == SpawnOptions.SAME_GROUP ? parent.pgid
                    : options.processGroup() == SpawnOptions.NEW_GROUP ? 0 : options.processGroup();
            sid = options.sessionLeader() ? 0 : parent.sid;
        } else {
            creds = options.credentials() == null ? nodeCallers.credentials() : options.credentials();
            caps = options.capabilities() == null ? Capabilities.DEFAULT : options.capabilities();
            ppid = Pids.INIT;
            pgid = options.processGroup() > 0 ? options.processGroup() : 0;
            sid = pgid;
        }
        String command = options.name() != null ? options.name() : commandOf(program, options.args());
        EpmWire.Spawn msg = new EpmWire.Spawn(program, null, null, command, options.args(), options.env(), ppid, self,
                pgid, sid, creds, caps);
        int target = chooseNode(parent, program, options, new Placement.Request(self, null, command, ppid, pgid, sid,
                creds.uid()));
        int pid;
        if (target == self) {
            pid = startLocal(msg);
        } else {
            EpmWire.Spawn travelling = apps.forTravel(msg);
            try (AutoCloseable ignored = parent != null ? parent.useCapability(Capability.DISTANT_FORK) : null) {
                pid = callSpawn(target, travelling);
            } catch (KerrighedException e) {
                if (options.node() != SpawnOptions.ANY_NODE) {
                    throw e;
                }
                log.debug("node {}: distant fork of {} to node {} failed ({}); starting it here", self, command, target,
                        e.getMessage());
                target = self;                                  // as Kerrighed: a failed remote clone forks locally
                pid = startLocal(msg);
            } catch (RuntimeException e) {
                throw e;                                        // the target refused: bad program, rights...
            } catch (Exception e) {
                throw new IllegalStateException(e);             // closing a capability use does not throw
            }
        }
        Child c = reaper.register(parent, pid, target);
        return new ClusterProcess(this, pid, target, c);
    }

    private static String commandOf(Program program, List<String> args) {
        Class<?> c = program.getClass();
        String name = program instanceof AppMain m ? m.mainClass()
                : c.isSynthetic() || c.isAnonymousClass() ? "program" : c.getSimpleName();
        return args.isEmpty() ? name : name + " " + String.join(" ", args);
    }

    private int chooseNode(LocalProcess parent, Program program, SpawnOptions options, Placement.Request request) {
        boolean mayFork = parent == null || parent.capabilities().has(Capability.DISTANT_FORK);
        boolean travels = travels(program) || apps.loaderOf(program) != null;
        if (options.node() != SpawnOptions.ANY_NODE) {
            int n = options.node();
            if (n == self) {
                return n;
            }
            if (!mayFork) {
                throw new CapabilityException("process " + parent.pid + " may not start a child on node " + n
                        + ": DISTANT_FORK is not effective (" + Capabilities.names(parent.capabilities().effective())
                        + ")");
            }
            if (!kddm.isMember(n)) {
                throw new IllegalArgumentException("node " + n + " is not a live member of the cluster");
            }
            if (!travels) {
                throw new IllegalArgumentException("program " + program.getClass().getName() + " cannot run on node "
                        + n + ": its class is not registered in the cluster's type registry, nor a class of an"
                        + " application JAR (a lambda never travels)");
            }
            return n;
        }
        if (!mayFork || !travels) {
            return self;
        }
        int[] live = kddm.members();
        Placement.Request r = new Placement.Request(self, live, request.command(), request.ppid(), request.pgid(),
                request.sid(), request.uid());
        try {
            int n = placement.place(r);
            if (n == Placement.NO_CHOICE) {
                return roundRobin(live);
            }
            return Arrays.binarySearch(live, n) >= 0 ? n : self;
        } catch (RuntimeException e) {
            log.warn("node {}: the placement hook failed for {}; starting it here", self, r.command(), e);
            return self;
        }
    }

    /** True when {@code program} (and the task a task program wraps) is of a registered type. */
    private boolean travels(Program program) {
        Object inner = program instanceof TaskPrograms.RunnableProgram r ? r.task()
                : program instanceof TaskPrograms.CallableProgram c ? c.task() : program;
        var types = rpc.config().types();
        return types.idOf(program.getClass()) >= 0 && types.idOf(inner.getClass()) >= 0;
    }

    private int callSpawn(int target, EpmWire.Spawn msg) {
        return await(rpc.call(target, EpmWire.SPAWN, msg), "start " + msg.command() + " on node " + target);
    }

    /** Creates and starts a process on this node (a local spawn, or a SPAWN request). */
    private int startLocal(EpmWire.Spawn s) {
        checkOpen();
        Program program = apps.programOf(s);
        ProcessTable.Claim claim = table.claim(s);
        LocalProcess p = new LocalProcess(this, claim.entry(), program, s, s.parentNode());
        local.put(p.pid, p);
        if (!claim.written()) {
            table.write(p, claim.entry());
        }
        try {
            processThreads.execute(p::runOnThread);
        } catch (RuntimeException e) {
            local.remove(p.pid);
            table.removeAfter(p);
            throw new KerrighedException("node " + self + " is stopping: cannot start " + s.command(), e);
        }
        return p.pid;
    }

    // ------------------------------------------------------------------ signals

    /**
     * Sends {@code signal} to process {@code pid}, wherever it runs. The receiver takes it at its next safe point;
     * KILL and STOP also interrupt its thread.
     *
     * @throws NoSuchProcessException      when no live process has this pid
     * @throws PermissionDeniedException when the caller is neither root nor the process's user
     */
    public void kill(int pid, Signal signal) {
        Checks.notNull(signal, "signal");
        checkOpen();
        int r = route(new Kill(pid, signal, false, requester(), 0));
        check(r, "process " + pid, "send " + signal + " to");
    }

    /**
     * Sends {@code signal} to every member of process group {@code pgid} on every node.
     *
     * @return how many processes it reached
     * @throws NoSuchProcessException      when the group has no member
     * @throws PermissionDeniedException when it has members but the caller may signal none of them
     */
    public int killGroup(int pgid, Signal signal) {
        Checks.notNull(signal, "signal");
        checkOpen();
        long id = java.util.concurrent.ThreadLocalRandom.current().nextLong() | 1;    // never 0
        EpmWire.KillGroup k = new EpmWire.KillGroup(pgid, signal, requester(), id);
        List<Integer> others = membersBut(self);
        EpmWire.GroupResult mine = await(killLocalGroup(k), "signal group " + pgid);
        int delivered = mine.delivered();
        int denied = mine.denied();
        if (!others.isEmpty()) {
            MulticastResult<EpmWire.GroupResult> all = await(rpc.multicast(others, EpmWire.KILL_GROUP, k, timeout),
                    "signal group " + pgid);
            for (EpmWire.GroupResult g : all.replies().values()) {
                delivered += g.delivered();
                denied += g.denied();
            }
        }
        if (delivered == 0) {
            check(denied > 0 ? EpmWire.DENIED : EpmWire.NO_SUCH_PROCESS, "process group " + pgid, "send " + signal + " to");
        }
        return delivered;
    }

    /** Interrupts process {@code pid}'s thread (not a signal: see {@link ClusterThread#interrupt}). */
    void interrupt(int pid) {
        checkOpen();
        check(route(new Kill(pid, null, true, requester(), 0)), "process " + pid, "interrupt");
    }

    private void check(int result, String what, String action) {
        if (result == EpmWire.NO_SUCH_PROCESS) {
            throw new NoSuchProcessException("no live " + what);
        }
        if (result == EpmWire.DENIED) {
            throw new PermissionDeniedException(requester().credentials() + " may not " + action + " " + what
                    + ": only root or its owner may");
        }
    }

    /** Delivers {@code k} here, or forwards it to the process's node (at most two hops). */
    private int route(Kill k) {
        LocalProcess p = local.get(k.pid());
        if (p != null && k.group() != 0 && p.pgid != k.pgid()) {
            return EpmWire.NO_SUCH_PROCESS;                     // the pid is another process's now
        }
        if (p != null) {
            if (!mayControl(k.from(), p)) {
                return EpmWire.DENIED;
            }
            if (k.interrupt()) {
                p.interrupt();
                return EpmWire.DELIVERED;
            }
            if (k.group() != 0) {
                LocalProcess.GroupPost r = p.postGroup(k.signal(), k.group());
                if (r != LocalProcess.GroupPost.LEFT) {
                    return r == LocalProcess.GroupPost.TAKEN ? EpmWire.DELIVERED : EpmWire.TAKEN_BEFORE;
                }
            } else if (p.post(k.signal())) {
                return EpmWire.DELIVERED;
            }
        }
        if (k.hops() >= 3) {
            return EpmWire.NO_SUCH_PROCESS;
        }
        int went = migration.wentTo(k.pid());
        // A group signal follows a member where it went, and only there: a row or birth node may name another
        // process with that pid by now.
        int host = went >= 0 ? went : k.group() != 0 ? -1 : table.hostOf(k.pid());
        int r = host < 0 ? EpmWire.NO_SUCH_PROCESS : await(rpc.call(host, EpmWire.KILL, new Kill(k.pid(), k.signal(),
                k.interrupt(), k.from(), k.hops() + 1, k.group(), k.pgid())), "signal process " + k.pid() + " on node "
                + host);
        if (r != EpmWire.NO_SUCH_PROCESS || k.hops() > 0) {
            return r;
        }
        // The caller's node: the row (not written yet, or removed by a stale lookup) led nowhere. Every other node is
        // asked whether it runs the process, and none forwards further.
        List<Integer> others = membersBut(host);
        if (others.isEmpty()) {
            return r;
        }
        MulticastResult<Integer> all = await(rpc.multicast(others, EpmWire.KILL, new Kill(k.pid(), k.signal(),
                k.interrupt(), k.from(), 3, k.group(), k.pgid()), timeout), "signal process " + k.pid());
        for (int answer : all.replies().values()) {
            if (answer != EpmWire.NO_SUCH_PROCESS) {
                return answer;
            }
        }
        return r;
    }

    /** Sends {@code s} on to process {@code pid}, which moved to {@code node} (as the node: it was posted here). */
    CompletableFuture<Integer> forwardSignal(int pid, Signal s, int node) {
        return forwardGroupSignal(pid, s, 0, 0, node, asThisNode());
    }

    /**
     * Sends {@code s}, part of group signal {@code group} (0: none) of group {@code pgid}, on to process {@code pid},
     * which moved to {@code node}, as {@code from} (whose right to signal it is checked there). Never waits: the
     * future gives the outcome there ({@link EpmWire#DELIVERED}..., {@link EpmWire#NO_SUCH_PROCESS} when it failed).
     */
    CompletableFuture<Integer> forwardGroupSignal(int pid, Signal s, long group, int pgid, int node, Requester from) {
        Kill k = new Kill(pid, s, false, from, 1, group, pgid);
        return rpc.call(node, EpmWire.KILL, k, timeout).handle((r, e) -> {
            if (e != null) {
                log.debug("node {}: {} for process {} not forwarded to node {}: {}", self, s, pid, node, e.toString());
                return EpmWire.NO_SUCH_PROCESS;
            }
            return r;
        });
    }

    /** Sends group signal {@code g} on to process {@code p}, which moved to {@code node} (it was held here). */
    CompletableFuture<Integer> forwardHeldGroupSignal(LocalProcess p, LocalProcess.GroupSignal g, int node) {
        return forwardGroupSignal(p.pid, g.signal(), g.id(), p.pgid, node, asThisNode());
    }

    /** This node itself as a requester: what it sends on was posted here, by a caller whose rights were checked. */
    private Requester asThisNode() {
        return new Requester(0, self, org.kerrighed.kddm.access.Credentials.ROOT, Capabilities.FULL);
    }

    static boolean mayControl(Requester r, LocalProcess p) {
        return r.credentials().isRoot() || r.credentials().uid() == p.credentials.uid();
    }

    // ------------------------------------------------------------------ migration

    /**
     * Moves process {@code pid} to node {@code node}, from any node: it stops at its next safe point (between two
     * steps of a {@link StepProgram}), its ghost travels, and it goes on there with the same pid, credentials,
     * capabilities, children, handles and held locks. Signals and {@code wait} keep working. Returns once it runs
     * on {@code node} and this side let it go (signals and exit notices for it go on there), with the time of each
     * phase; the old node releases its copies of the process's segments and pipe ends right after (a move back to
     * that node waits for that).
     *
     * @throws MigrationException       when it was not moved (not migratable, no safe point in time, the target
     *                                  refused or failed): it goes on where it was
     * @throws KerrighedException       (not a MigrationException) when the caller was interrupted, or the move had
     *                                  no outcome within its bound (the target a silent member): the process runs
     *                                  on one of the two nodes ({@link #status} tells which)
     * @throws CapabilityException      when the process lacks {@code CAN_MIGRATE}
     * @throws PermissionDeniedException when the caller is neither root nor the process's user
     * @throws NoSuchProcessException   when no live process has this pid
     */
    public MigrationReport migrate(int pid, int node) {
        checkOpen();
        return routeMigrate(new EpmWire.Migrate(pid, node, requester(), 0));
    }

    private MigrationReport routeMigrate(EpmWire.Migrate m) {
        LocalProcess p = local.get(m.pid());
        if (p != null) {
            if (closed) {
                throw new MigrationException("process " + m.pid() + " is not moved: the process layer of node " + self
                        + ", where it runs, is closing");
            }
            if (!mayControl(m.from(), p)) {
                throw new PermissionDeniedException(m.from().credentials() + " may not migrate process " + m.pid()
                        + " (" + p.credentials + "): only root or its owner may");
            }
            if (m.from().pid() == m.pid()) {
                throw new MigrationException("process " + m.pid() + " cannot wait for its own move: ask from another"
                        + " thread or process");
            }
            MigrationReport r = migration.moveFromHere(p, m);
            lastMigration = System.nanoTime();
            return r;
        }
        int went = migration.wentTo(m.pid());
        int host = went >= 0 ? went : table.hostOf(m.pid());
        if (host < 0 || m.hops() >= 3) {
            throw new NoSuchProcessException("no live process " + m.pid());
        }
        int waits = Migration.CALLER_TIMEOUTS + 3 - m.hops();   // longer than the node it asks waits
        return await(rpc.call(host, EpmWire.MIGRATE, new EpmWire.Migrate(m.pid(), m.node(), m.from(), m.hops() + 1),
                timeout.multipliedBy(waits)), "move process " + m.pid() + " (on node " + host + ")", waits);
    }

    /**
     * Makes {@code p}, which moved here, one of this node's processes and starts it. Its row is rewritten as its
     * first table operation; then (not before: a row that still names the old node says that no other node was told
     * of the move, see {@link Migration}) its parent's and children's nodes are told where it is, off the move's
     * path. When its thread cannot start (the node is closing), nothing of it is left here: it is not listed, its
     * row is not rewritten, and this throws.
     */
    void install(LocalProcess p) {
        java.util.concurrent.CompletableFuture<Void> started = list(p);
        try {
            startThread(p);
        } catch (RuntimeException e) {
            local.remove(p.pid, p);
            started.completeExceptionally(e);
            throw new KerrighedException("node " + self + " is stopping: process " + p.pid + " cannot start here", e);
        }
        started.complete(null);
    }

    /**
     * {@link #install} with the start left to {@code later} (the move's answer leaves first): listed now, so that
     * signals and moves asked meanwhile wait for it, and started by {@code later}, and only then its row rewritten
     * and the other nodes told. Throws, leaving nothing, when the node is closing; if it closes before {@code later}
     * runs, the process is taken out of the list and lost with this node (logged): it never ran here.
     */
    void installThenStart(LocalProcess p, java.util.function.Consumer<Runnable> later) {
        if (closed) {
            throw new KerrighedException("node " + self + " is stopping: process " + p.pid + " cannot start here");
        }
        java.util.concurrent.CompletableFuture<Void> started = list(p);
        later.accept(() -> {
            try {
                startThread(p);
            } catch (RuntimeException e) {
                local.remove(p.pid, p);
                started.completeExceptionally(e);
                log.warn("node {}: process {} moved here as the node stopped; it could not start and is lost with"
                        + " this node: {}", self, p.pid, e.toString());
                return;
            }
            started.complete(null);
        });
    }

    /** Lists {@code p}, which moved here, with its table operations held until the returned future completes. */
    private java.util.concurrent.CompletableFuture<Void> list(LocalProcess p) {
        lastMigration = System.nanoTime();
        java.util.concurrent.CompletableFuture<Void> started = new java.util.concurrent.CompletableFuture<>();
        p.gateTableOps(started);
        p.chainTableOp(() -> table.movedHere(p));
        p.chainTableOp(() -> Thread.ofVirtual().name("krg-epm-arrived-" + p.pid).start(() -> reaper.arrived(p)));
        local.put(p.pid, p);
        refuseIfClosed(p, started);
        return started;
    }

    /**
     * After {@code p} was listed: when the process layer is closing, takes it out again and throws (its table
     * operations, held by {@code gate}, never run). {@link #close} sets its flag before it copies the list, and a
     * process is listed before this reads the flag: a process that arrives as the node closes is either sent the
     * close's KILL or refused here, never left running.
     */
    private void refuseIfClosed(LocalProcess p, java.util.concurrent.CompletableFuture<Void> gate) {
        if (closed) {
            local.remove(p.pid, p);
            KerrighedException e = new KerrighedException("node " + self + " is stopping: process " + p.pid
                    + " cannot start here");
            if (gate != null) {
                gate.completeExceptionally(e);
            }
            throw e;
        }
    }

    /** Makes {@code p}, rebuilt from a ghost, one of this node's processes, without starting it yet. */
    void installStopped(LocalProcess p) {
        if (local.putIfAbsent(p.pid, p) != null) {
            throw new KerrighedException("process " + p.pid + " already runs on node " + nodeId());
        }
        refuseIfClosed(p, null);
        table.takeOver(p, System.nanoTime() + timeout.toNanos() / 4);
    }

    /** Undoes {@link #installStopped} (a restart abandoned before {@code p} started). */
    void uninstall(LocalProcess p) {
        local.remove(p.pid, p);
    }

    void startThread(LocalProcess p) {
        processThreads.execute(p::runOnThread);
    }

    /** A distant fork of {@code p} (on its thread): see {@link ProcessContext#fork}. */
    ClusterProcess fork(LocalProcess p, SpawnOptions options) {
        Checks.notNull(options, "options");
        checkOpen();
        int target = chooseNode(p, p.program(), options, new Placement.Request(self, null, p.command, p.pid, p.pgid,
                p.sid, p.credentials.uid()));
        int pid = table.newPid();
        Child[] c = new Child[1];
        try (AutoCloseable ignored = target != self ? p.useCapability(Capability.DISTANT_FORK) : null) {
            checkpoints.fork(p, pid, target, () -> c[0] = reaper.register(p, pid, target));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);                 // closing a capability use does not throw
        }
        return new ClusterProcess(this, pid, target, c[0]);
    }

    // ------------------------------------------------------------------ checkpoint/restart

    /**
     * Checkpoints the application rooted at process {@code root}: that process and its descendants, on every node.
     * Each is frozen at its next safe point (between two steps of a {@link StepProgram}); once all are, their
     * ghosts and the segments only they use are written under {@code options.directory()/root/vN} (N one more than
     * the last version), synced, and the directory renamed into place; then the application goes on, or is killed
     * (the call then returns once its processes are gone, at most the call timeout later).
     * A process that ends or moves meanwhile makes the checkpoint start over (three times at most). Runs on the
     * calling node, which writes the files.
     *
     * @throws CapabilityException      when a process lacks {@code CHECKPOINTABLE}
     * @throws PermissionDeniedException when the caller is neither root nor the processes' user
     * @throws NoSuchProcessException   when no live process has pid {@code root}
     * @throws KerrighedException       when a process cannot be frozen or its state cannot be written (the
     *                                  application goes on, nothing is left under the directory)
     */
    public CheckpointReport checkpoint(int root, CheckpointOptions options) {
        Checks.notNull(options, "options");
        checkOpen();
        return checkpoints.checkpoint(root, options, requester());
    }

    /**
     * Checkpoints the application rooted at {@code root} (started from this node) every {@code period}, as
     * {@link #checkpoint} does (never killing it); with {@code restartOnFailure}, restarts it from its last
     * checkpoint on the surviving nodes when a node it ran on fails. Close the handle to stop.
     */
    public PeriodicCheckpoint checkpointEvery(ClusterProcess root, Duration period, CheckpointOptions options,
                                              boolean restartOnFailure) {
        Checks.notNull(root, "root");
        Checks.notNull(options, "options");
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("period must be positive, got " + period);
        }
        checkOpen();
        PeriodicCheckpoint pc = new PeriodicCheckpoint(this, kddm, root.pid(), root, period, options,
                restartOnFailure);
        periodic.add(pc);
        return pc;
    }

    void periodicClosed(PeriodicCheckpoint pc) {
        periodic.remove(pc);
    }

    /** The directory where checkpoints go when the options name none: {@code <storage>/checkpoints}. */
    public java.nio.file.Path checkpointDirectory() {
        return checkpoints.defaultDirectory();
    }

    /**
     * The newest complete checkpoint version of application {@code app} under {@code dir} (null: the default
     * directory), if any.
     */
    public Optional<java.nio.file.Path> latestCheckpoint(java.nio.file.Path dir, int app) {
        return Checkpoints.latest(dir == null ? checkpoints.defaultDirectory() : dir, app);
    }

    /**
     * Restarts an application from checkpoint version directory {@code version} (on this node's file system), on
     * the nodes the options allow, even when the nodes it ran on are dead. Every process is rebuilt and installed
     * before any starts. Its root becomes a child of the caller.
     *
     * @throws GhostException      when the checkpoint is corrupted, incomplete, or from an incompatible version or
     *                             cluster (nothing is started)
     * @throws KerrighedException  when a pid is in use and new pids were not allowed, or a node failed (nothing is
     *                             started)
     */
    public Restarted restart(java.nio.file.Path version, RestartOptions options) {
        Checks.notNull(version, "version");
        Checks.notNull(options, "options");
        checkOpen();
        return checkpoints.restart(version, options, currentProcess());
    }

    /**
     * Delivers group signal {@code k} to the members of its group here, and sends it on after those that moved away
     * lately; completes once those answered (a member counts where it took the signal, once: as delivered, or denied).
     * Never blocks (an I/O thread runs it for other nodes).
     */
    private CompletableFuture<EpmWire.GroupResult> killLocalGroup(EpmWire.KillGroup k) {
        int delivered = 0;
        int denied = 0;
        List<CompletableFuture<Integer>> forwarded = new ArrayList<>();
        for (Map.Entry<Integer, Integer> w : migration.wentAwayFrom(k.pgid()).entrySet()) {
            if (!local.containsKey(w.getKey())) {             // moved on: it follows, taken there once
                forwarded.add(forwardGroupSignal(w.getKey(), k.signal(), k.id(), k.pgid(), w.getValue(), k.from()));
            }
        }
        for (LocalProcess p : local.values()) {
            if (p.pgid == k.pgid()) {
                if (mayControl(k.from(), p)) {
                    LocalProcess.GroupPost r = p.postGroup(k.signal(), k.id());
                    if (r == LocalProcess.GroupPost.TAKEN) {
                        delivered++;
                    } else if (r == LocalProcess.GroupPost.LEFT) {
                        int went = migration.wentTo(p.pid);      // it left: on to where it went, taken there once
                        if (went >= 0) {
                            forwarded.add(forwardGroupSignal(p.pid, k.signal(), k.id(), k.pgid(), went, k.from()));
                        }
                    }
                } else {
                    denied++;
                }
            }
        }
        EpmWire.GroupResult here = new EpmWire.GroupResult(delivered, denied);
        if (forwarded.isEmpty()) {
            return CompletableFuture.completedFuture(here);
        }
        return CompletableFuture.allOf(forwarded.toArray(CompletableFuture[]::new)).handle((v, e) -> {
            int d = here.delivered();
            int n = here.denied();
            for (CompletableFuture<Integer> f : forwarded) {
                int r = f.getNow(EpmWire.NO_SUCH_PROCESS);
                d += r == EpmWire.DELIVERED ? 1 : 0;
                n += r == EpmWire.DENIED ? 1 : 0;
            }
            return new EpmWire.GroupResult(d, n);
        });
    }

    // ------------------------------------------------------------------ capabilities

    /**
     * Changes process {@code pid}'s capabilities, wherever it runs (Kerrighed's {@code krgcapset -k}).
     *
     * @return the sets now in force
     * @throws CapabilityException          when the calling process lacks {@code CHANGE_KERRIGHED_CAP}
     * @throws PermissionDeniedException    when the caller is neither root nor the process's user
     * @throws CapabilityInUseException     when an effective capability being dropped is in use
     * @throws IllegalArgumentException     when {@code requested} breaks a subset rule
     * @throws NoSuchProcessException       when no live process has this pid
     */
    public Capabilities setCapabilities(int pid, Capabilities requested) {
        Checks.notNull(requested, "requested");
        checkOpen();
        requested.validate();
        EpmWire.Capset c = new EpmWire.Capset(pid, requested, requester());
        checkMayChange(c.from());
        LocalProcess p = local.get(pid);
        if (p != null) {
            return capsetHere(c);
        }
        int host = table.hostOf(pid);
        if (host < 0) {
            throw new NoSuchProcessException("no live process " + pid);
        }
        return await(rpc.call(host, EpmWire.CAPSET, c), "change the capabilities of process " + pid);
    }

    private static void checkMayChange(Requester r) {
        if (r.isProcess() && !r.capabilities().has(Capability.CHANGE_KERRIGHED_CAP)) {
            throw new CapabilityException("process " + r.pid() + " may not change capabilities: CHANGE_KERRIGHED_CAP"
                    + " is not effective (" + Capabilities.names(r.capabilities().effective()) + ")");
        }
    }

    private Capabilities capsetHere(EpmWire.Capset c) {
        checkMayChange(c.from());
        LocalProcess p = local.get(c.pid());
        if (p == null) {
            throw new NoSuchProcessException("no live process " + c.pid() + " on node " + self);
        }
        if (!mayControl(c.from(), p)) {
            throw new PermissionDeniedException(c.from().credentials() + " may not change the capabilities of process "
                    + c.pid() + " (" + p.credentials + "): only root or its owner may");
        }
        return p.changeCapabilities(c.requested());
    }

    // ------------------------------------------------------------------ views

    /** Every process of the cluster (and every zombie), sorted by pid; nodes that do not answer are left out. */
    public List<ProcessInfo> ps() {
        return ps(false);
    }

    /**
     * {@link #ps()}; with {@code complete}, a node that does not answer is an error instead (what a checkpoint needs:
     * the application may have processes there).
     *
     * @throws KerrighedException with {@code complete}, naming the nodes that did not answer and why
     */
    List<ProcessInfo> ps(boolean complete) {
        checkOpen();
        List<ProcessInfo> all = new ArrayList<>();
        MulticastResult<EpmWire.ListReply> r = await(rpc.multicast(members(), EpmWire.LIST, new EpmWire.ListRequest(0),
                timeout), "list processes");
        if (complete && !r.failures().isEmpty()) {
            StringBuilder why = new StringBuilder();
            r.failures().forEach((n, e) -> why.append(why.isEmpty() ? "" : "; ").append("node ").append(n)
                    .append(": ").append(e.getMessage()));
            throw new KerrighedException("the processes of node(s) " + new java.util.TreeSet<>(r.failures().keySet())
                    + " could not be listed (" + why + ")");
        }
        for (EpmWire.ListReply l : r.replies().values()) {
            all.addAll(l.processes());
        }
        all.sort(Comparator.comparingInt(ProcessInfo::pid));
        return all;
    }

    /** Process {@code pid}'s status, from the node it runs on; empty when no live process (or zombie) has it. */
    public Optional<ProcessInfo> status(int pid) {
        checkOpen();
        List<ProcessInfo> here = listLocal(pid);
        if (!here.isEmpty()) {
            return Optional.of(here.getFirst());
        }
        int host = table.hostOf(pid);
        Optional<ProcessInfo> found = statusFrom(host >= 0 ? List.of(host) : members(), pid);
        if (found.isEmpty() && host >= 0) {             // a row not written yet names the birth node: ask the others
            List<Integer> others = membersBut(host);
            found = statusFrom(others, pid);
        }
        return found;
    }

    private Optional<ProcessInfo> statusFrom(List<Integer> nodes, int pid) {
        if (nodes.isEmpty()) {
            return Optional.empty();
        }
        MulticastResult<EpmWire.ListReply> r = await(rpc.multicast(nodes, EpmWire.LIST, new EpmWire.ListRequest(pid),
                timeout), "read the status of process " + pid);
        for (EpmWire.ListReply l : r.replies().values()) {
            if (!l.processes().isEmpty()) {
                return Optional.of(l.processes().getFirst());
            }
        }
        return Optional.empty();
    }

    /** The members other than this node and {@code node}. */
    private List<Integer> membersBut(int node) {
        List<Integer> m = members();
        m.removeIf(n -> n == self || n == node);
        return m;
    }

    private List<Integer> members() {
        List<Integer> m = new ArrayList<>();
        for (int n : kddm.members()) {
            m.add(n);
        }
        return m;
    }

    /** This node's answer to a process list request (package-private: tests re-register it). */
    EpmWire.ListReply listReply(EpmWire.ListRequest r) {
        return new EpmWire.ListReply(listLocal(r.onlyPid()));
    }

    /** This node's processes, and the zombies among their children ({@code onlyPid} > 0: just that one). */
    private List<ProcessInfo> listLocal(int onlyPid) {
        List<ProcessInfo> out = new ArrayList<>();
        for (LocalProcess p : local.values()) {
            if (onlyPid <= 0 || p.pid == onlyPid) {
                out.add(p.info(p.state(), null));
            }
            for (Child c : p.children.all()) {
                ProcessInfo z = c.last;
                if (z != null && c.exit().isDone() && (onlyPid <= 0 || c.pid == onlyPid)) {
                    out.add(z);
                }
            }
        }
        return out;
    }

    /**
     * The processes that run on this node now (zombies left out), read without any message: what the scheduler's
     * probes sample. Thread-safe; a snapshot.
     */
    public List<ProcessInfo> localProcesses() {
        List<ProcessInfo> out = new ArrayList<>(local.size());
        for (LocalProcess p : local.values()) {
            ProcessState st = p.state();
            if (st != ProcessState.ZOMBIE) {
                out.add(p.info(st, null));
            }
        }
        return out;
    }

    /**
     * When a process last moved to or from this node ({@link System#nanoTime()}), or empty if none ever did since
     * this node started.
     */
    public java.util.OptionalLong lastMigrationNanos() {
        long t = lastMigration;
        return t == NEVER ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(t);
    }

    /** Node {@code node}'s load (from the node itself). */
    public NodeLoad load(int node) {
        checkOpen();
        return node == self ? loads.current() : await(rpc.call(node, EpmWire.LOAD, node), "read node " + node + "'s load");
    }

    /** Every live node's load, by node id; nodes that do not answer are left out. */
    public List<NodeLoad> loads() {
        checkOpen();
        MulticastResult<NodeLoad> r = await(rpc.multicast(members(), EpmWire.LOAD, 0, timeout), "read the nodes' loads");
        return new ArrayList<>(r.replies().values());
    }

    /** The cluster's aggregate load (node -1): sums over the live nodes, mean JVM CPU use. */
    public NodeLoad clusterLoad() {
        return LoadSampler.aggregate(loads());
    }

    /**
     * The load the caller is shown as "the machine's", as Kerrighed's {@code /proc/loadavg}: this node's own
     * for a process with {@code SEE_LOCAL_PROC_STAT} effective, the cluster's aggregate for every other process.
     * Callers that are not processes get this node's.
     */
    public NodeLoad machineLoad() {
        LocalProcess p = currentProcess();
        return p == null || p.capabilities().has(Capability.SEE_LOCAL_PROC_STAT) ? load(self) : clusterLoad();
    }

    // ------------------------------------------------------------------ misc

    /**
     * Fails when {@code r} cannot travel in an exit notice: not registered, not a JDK value type and not of an
     * application class.
     */
    void checkResultType(Object r) {
        if (r != null && rpc.config().types().idOf(r.getClass()) < 0 && !(r instanceof String || r instanceof Number
                || r instanceof Boolean || r instanceof Character) && apps.loaderOf(r) == null) {
            throw new IllegalArgumentException("result of type " + r.getClass().getName() + " cannot travel to the"
                    + " parent: register it in the cluster's type registry");
        }
    }

    static long cpuNanos(Thread t) {
        return THREADS.getThreadCpuTime(t.threadId());
    }

    static long allocatedBytes(Thread t) {
        return THREADS.getThreadAllocatedBytes(t.threadId());
    }

    private <R> R await(java.util.concurrent.CompletableFuture<R> f, String what) {
        return await(f, what, 1);
    }

    private <R> R await(java.util.concurrent.CompletableFuture<R> f, String what, int timeouts) {
        try {
            return f.get(timeouts * timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while waiting to " + what);
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + self + ": no answer in " + timeout + " to " + what);
        } catch (ExecutionException e) {
            throw ProcessErrors.fromRemote(e.getCause(), what);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new KerrighedException("node " + self + "'s process layer is closed");
        }
    }

    /** The node's caller context with processes: a process thread calls as its process. */
    private final class ProcessCallers implements CallerContext {
        @Override
        public Credentials credentials() {
            LocalProcess p = currentProcess();
            return p != null ? p.credentials : nodeCallers.credentials();
        }

        @Override
        public Caller caller() {
            LocalProcess p = currentProcess();
            return p != null ? new Caller(self, p.pid, Thread.currentThread().threadId()) : nodeCallers.caller();
        }

        @Override
        public void checkCapability(String capability) {
            LocalProcess p = currentProcess();
            if (p != null && !p.capabilities().has(Capability.parse(capability))) {
                throw new CapabilityException("process " + p.pid + " may not use this: " + capability
                        + " is not effective (" + Capabilities.names(p.capabilities().effective()) + ")");
            }
            nodeCallers.checkCapability(capability);
        }
    }

    /**
     * Stops the process layer: this node's processes are sent KILL and given 2 s to end (their parents are told),
     * then the process threads are abandoned. A process that is moving to another node is sent KILL only if its
     * move ends with it still here: one that arrived goes on there (the close's KILL is not carried along), and
     * its move is settled by asking the target, as long as the close waits. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        closeDeadline = deadline;
        closed = true;
        table.close();
        List.copyOf(periodic).forEach(PeriodicCheckpoint::close);
        loads.close();
        for (LocalProcess p : new ArrayList<>(local.values())) {
            p.killHereOnly();
        }
        while (!local.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!local.isEmpty()) {
            log.warn("node {}: {} process(es) did not end or move away within 2 s of KILL (they never reached a safe"
                    + " point, or their move has not ended): {}", self, local.size(), local.keySet());
        }
        processThreads.shutdownNow();
        apps.close();
        kddm.setCallers(nodeCallers);
    }

    @Override
    public String toString() {
        return "Epm[node " + self + ", " + local.size() + " processes]";
    }
}
