package org.kerrighed.scheduler.sim;

import org.kerrighed.scheduler.Components;
import org.kerrighed.scheduler.FilterSpec;
import org.kerrighed.scheduler.NewProcess;
import org.kerrighed.scheduler.Policy;
import org.kerrighed.scheduler.PortLink;
import org.kerrighed.scheduler.ProbeSpec;
import org.kerrighed.scheduler.SchedulerConfig;
import org.kerrighed.scheduler.SchedulerEngine;
import org.kerrighed.scheduler.SchedulerSpec;
import org.kerrighed.scheduler.SchedulerStats;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * A virtual cluster on which real schedulers run off-cluster: every virtual node has a {@link SchedulerEngine} of
 * its own, configured like a real node's (any {@link SchedulerConfig}, with the built-in types or plugin types
 * installed in the {@link Components}), whose {@link org.kerrighed.scheduler.SchedulerHost} is the simulator's
 * state. Probes sample that state, policies decide on it, and the simulator carries out their moves and
 * placements.
 *
 * <p>The model, on a virtual clock that advances in ticks ({@link SimSettings#tickMillis()}):
 * <ul>
 *   <li>Each node has {@link SimSettings#cpus()} processors shared equally by its runnable processes (processor
 *       sharing). A process is always runnable, except while it migrates; it needs a given CPU time and exits when
 *       it got it ({@link SimProcess}).</li>
 *   <li>Each tick, in this order: migrations that are due land, poll answers that are due arrive, the nodes whose
 *       engine is due run its {@link SchedulerEngine#tick()} (in id order), the cluster is observed, and the
 *       processes run for the tick.</li>
 *   <li>A node's engine is first ticked at its start time ({@link SimSettings#startSpreadMillis()}), then every
 *       {@link SimSettings#engineTickMillis()}. Automatic (0): the greatest common divisor of the configuration's
 *       probe periods, {@code remote_cache} polling periods and 2 s (the engine's expel period), when it is a
 *       multiple of the tick and poll answers arrive within it; else every tick. An engine only does something
 *       when a probe or a poll is due (or every 2 s, an expel), and migrations complete whenever they land, so
 *       these ticks change nothing but the time the simulation takes (a 256-node run polls 255 nodes from each
 *       node). A later {@link #configure} that changes that interval makes it every tick from then on.</li>
 *   <li>A poll of another node's values answers that node's {@link SchedulerEngine#values} at the time it is asked,
 *       after {@link SimSettings#pollLatencyTicks()} ticks.</li>
 *   <li>A migration takes {@link SimSettings#migrationMillis()} plus a uniform draw up to
 *       {@link SimSettings#migrationJitterMillis()}, and lands on the first tick after that; meanwhile the process
 *       stays listed on the node it leaves, not runnable, and runs nowhere. Landing sets both nodes' last migration
 *       time and completes the engine's future. A process without {@code CAN_MIGRATE}, not on the asking node,
 *       already moving or gone is refused at once (a failed future).</li>
 *   <li>{@link #spawn} places a new process as the process layer does: on the spawning node without
 *       {@code DISTANT_FORK}; else where the node's schedulers' placement says, or round robin over the live nodes
 *       when it says {@link Policy#NO_CHOICE}.</li>
 * </ul>
 *
 * <p><b>Balance.</b> A node's load is its runnable processes divided by its processors; the mean load is the live
 * processes (migrating ones included) divided by the cluster's processors. The cluster is <em>within 10 % of
 * balance</em> at a tick when no node has more runnable processes than {@code ceil(1.1 × mean load × its cpus)}: no
 * node holds more than 10 % above its fair share, rounded up to whole processes (with 4 processes per processor,
 * at most 5 on any one-processor node). It has <em>converged</em> at time T when it is within 10 % of balance at
 * every tick from T to the end of the run ({@link SimResult#convergedSeconds()}).
 *
 * <p>Deterministic: the same settings (seed included), configuration, components and calls give the same run, as
 * long as the policies and probes are deterministic themselves. Not thread-safe: one thread drives a simulator.
 */
public final class Simulator {
    private static final long SECOND = 1_000_000_000L;
    private static final long ENGINE_EXPEL_MILLIS = 2000;

    private final SimSettings settings;
    private final long tickNanos;
    private final VirtualNode[] nodes;
    private final int[] live;
    private final int totalCpus;
    private final Random random;
    private final Map<Integer, Proc> processes = new HashMap<>();
    private final PriorityQueue<Proc> moving = new PriorityQueue<>(
            Comparator.comparingLong((Proc p) -> p.arrival).thenComparingInt(p -> p.pid));
    private final ArrayDeque<Answer> answers = new ArrayDeque<>();
    private final List<SimPoint> series = new ArrayList<>();
    private long engineEvery;
    private long now;
    private long ticks;
    private int nextPid = 1;
    private long migrations;
    private long failedMigrations;
    private long balancedSince = -1;
    private long lastExit = -1;
    private double cpuSeconds;

    private record Answer(long tick, CompletableFuture<Map<String, Double>> future, Map<String, Double> values) {
    }

    /**
     * A virtual cluster of {@code settings.nodes()} idle nodes at time 0, each running {@code config} with the
     * types of {@code components} (shared by the nodes; the caller closes it). A node set may name nodes the
     * simulator does not have: like nodes that are down, they are not among the live nodes.
     */
    public Simulator(SimSettings settings, Components components, SchedulerConfig config) {
        this.settings = settings;
        this.tickNanos = settings.tickMillis() * 1_000_000;
        this.random = new Random(settings.seed());
        this.nodes = new VirtualNode[settings.nodes()];
        this.live = IntStream.range(0, settings.nodes()).toArray();
        this.totalCpus = settings.nodes() * settings.cpus();
        long startTicks = settings.startSpreadMillis() / settings.tickMillis();
        for (int i = 0; i < nodes.length; i++) {
            long start = startTicks <= 1 ? 0 : random.nextLong(startTicks) * tickNanos;
            nodes[i] = new VirtualNode(this, i, settings.cpus(), start, components);
        }
        configure(config);
    }

    public SimSettings settings() {
        return settings;
    }

    /** The virtual clock, in nanoseconds since the start. */
    public long nanoTime() {
        return now;
    }

    /** Node {@code node}'s scheduler engine (for its stats, its placement, its configuration). */
    public SchedulerEngine engine(int node) {
        return node(node).engine;
    }

    /** Applies {@code config} to every node's engine now (a real cluster applies it within milliseconds). */
    public void configure(SchedulerConfig config) {
        for (VirtualNode n : nodes) {
            n.configure(config);
        }
        long every = (settings.engineTickMillis() > 0 ? settings.engineTickMillis() : autoEngineTick(config))
                * 1_000_000;
        engineEvery = engineEvery == 0 || every == engineEvery ? every : tickNanos;
    }

    private long autoEngineTick(SchedulerConfig config) {
        long g = ENGINE_EXPEL_MILLIS;
        for (ProbeSpec p : config.probes().values()) {
            g = gcd(g, p.periodMillis());
        }
        for (SchedulerSpec s : config.schedulers().values()) {
            for (PortLink l : s.links().values()) {
                FilterSpec cache = l.filter("remote_cache");
                if (cache != null) {
                    g = gcd(g, Long.parseLong(cache.params().getOrDefault("polling", "1000")));
                }
            }
        }
        boolean exact = g % settings.tickMillis() == 0 && settings.pollLatencyTicks() * settings.tickMillis() <= g;
        return exact ? g : settings.tickMillis();
    }

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** Starts process {@code p} on {@code node}, without asking placement (a spawn with a chosen node). */
    public int start(int node, SimProcess p) {
        VirtualNode n = node(node);
        Proc proc = new Proc(nextPid++, p, n);
        processes.put(proc.pid, proc);
        n.add(proc);
        return proc.pid;
    }

    /**
     * Starts process {@code p} from {@code node} where placement puts it: on {@code node} when {@code p} lacks
     * {@code DISTANT_FORK}, else on the node {@code node}'s schedulers choose ({@link SchedulerEngine#place}), or
     * round robin over the live nodes when they choose none. Returns its pid.
     */
    public int spawn(int node, SimProcess p) {
        VirtualNode from = node(node);
        int to = node;
        if (p.distantFork()) {
            to = from.engine.place(new NewProcess(p.command(), 0, p.pgid(), p.sid(), p.uid()));
            if (to == Policy.NO_CHOICE) {
                to = live[Math.floorMod(from.nextRoundRobin++, live.length)];
            }
        }
        return start(to, p);
    }

    /** The node process {@code pid} runs on (while it migrates: the node it leaves), or -1 when it exited. */
    public int nodeOf(int pid) {
        Proc p = processes.get(pid);
        return p == null ? -1 : p.node.id;
    }

    /** Whether process {@code pid} is migrating now. */
    public boolean migrating(int pid) {
        Proc p = processes.get(pid);
        return p != null && !p.runnable();
    }

    /** The runnable processes on {@code node}. */
    public int runnable(int node) {
        return node(node).runnable;
    }

    /** The live processes. */
    public int processes() {
        return processes.size();
    }

    /** Runs for {@code d} of simulated time (rounded up to whole ticks). */
    public void run(Duration d) {
        long n = Math.ceilDiv(d.toNanos(), tickNanos);
        for (long i = 0; i < n; i++) {
            tick();
        }
    }

    /**
     * Runs until every process exited, for {@code limit} of simulated time at most. Returns whether they all
     * exited.
     */
    public boolean runUntilDone(Duration limit) {
        long end = now + limit.toNanos();
        while (!processes.isEmpty() && now < end) {
            tick();
        }
        return processes.isEmpty();
    }

    /** What the run gave so far. */
    public SimResult result() {
        long decisions = 0;
        long placements = 0;
        long errors = 0;
        List<String> disabled = new ArrayList<>();
        for (VirtualNode n : nodes) {
            for (SchedulerStats s : n.engine.stats()) {
                decisions += s.decisions();
                placements += s.placements();
                errors += s.errors();
                if (s.disabled() != null) {
                    disabled.add("node " + n.id + ": scheduler " + s.scheduler() + ": " + s.disabled());
                }
            }
            n.engine.disabledProbes().forEach((probe, why) ->
                    disabled.add("node " + n.id + ": probe " + probe + ": " + why));
        }
        return new SimResult(settings, (double) now / SECOND, series, migrations, failedMigrations,
                balancedSince < 0 ? Double.NaN : (double) balancedSince / SECOND, processes.size(),
                lastExit < 0 ? Double.NaN : (double) lastExit / SECOND, cpuSeconds, decisions, placements, errors,
                disabled);
    }

    // ---------------------------------------------------------------- the tick

    private void tick() {
        while (!moving.isEmpty() && moving.peek().arrival <= now) {
            land(moving.poll());
        }
        while (!answers.isEmpty() && answers.peek().tick() <= ticks) {
            Answer a = answers.poll();
            a.future().complete(a.values());
        }
        for (VirtualNode n : nodes) {
            if (now >= n.startAt && (now - n.startAt) % engineEvery == 0) {
                n.tick();
            }
        }
        observe();
        double dt = (double) tickNanos / SECOND;
        for (VirtualNode n : nodes) {
            cpuSeconds += n.run(now, dt);
        }
        now += tickNanos;
        ticks++;
    }

    private void land(Proc p) {
        VirtualNode from = p.node;
        VirtualNode to = p.target;
        from.remove(p);
        p.target = null;
        p.node = to;
        to.add(p);
        from.lastMigration = now;
        to.lastMigration = now;
        migrations++;
        p.moved.complete(null);
    }

    private void observe() {
        int total = processes.size();
        double mean = (double) total / totalCpus;
        int overloaded = 0;
        int max = 0;
        int min = Integer.MAX_VALUE;
        double maxLoad = 0;
        for (VirtualNode n : nodes) {
            int r = n.runnable;
            if (r > Math.ceil(1.1 * mean * n.cpus - 1e-9)) {
                overloaded++;
            }
            max = Math.max(max, r);
            min = Math.min(min, r);
            maxLoad = Math.max(maxLoad, (double) r / n.cpus);
        }
        if (overloaded > 0) {
            balancedSince = -1;
        } else if (balancedSince < 0) {
            balancedSince = now;
        }
        if (now % SECOND == 0) {
            series.add(new SimPoint((double) now / SECOND, total, moving.size(), maxLoad, mean, max, min, overloaded,
                    migrations));
        }
    }

    // ---------------------------------------------------------------- for the virtual nodes

    int[] liveNodes() {
        return live.clone();
    }

    CompletableFuture<Map<String, Double>> poll(int node, Set<String> keys) {
        if (node < 0 || node >= nodes.length) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no virtual node " + node));
        }
        Map<String, Double> values = nodes[node].values(keys);
        if (settings.pollLatencyTicks() == 0) {
            return CompletableFuture.completedFuture(values);
        }
        CompletableFuture<Map<String, Double>> f = new CompletableFuture<>();
        answers.add(new Answer(ticks + settings.pollLatencyTicks(), f, values));
        return f;
    }

    CompletableFuture<?> migrate(VirtualNode from, int pid, int to) {
        Proc p = processes.get(pid);
        String refused = p == null ? "no live process " + pid
                : p.node != from ? "process " + pid + " does not run on node " + from.id
                : !p.runnable() ? "process " + pid + " is migrating already"
                : !p.spec.mayMigrate() ? "process " + pid + " may not migrate (no CAN_MIGRATE)"
                : to < 0 || to >= nodes.length ? "no virtual node " + to
                : to == from.id ? "process " + pid + " runs on node " + to + " already" : null;
        if (refused != null) {
            failedMigrations++;
            return CompletableFuture.failedFuture(new IllegalStateException(refused));
        }
        long jitter = settings.migrationJitterMillis() == 0 ? 0
                : random.nextLong(settings.migrationJitterMillis() * 1_000_000 + 1);
        from.runnable--;
        p.target = nodes[to];
        p.arrival = now + settings.migrationMillis() * 1_000_000 + jitter;
        p.moved = new CompletableFuture<>();
        moving.add(p);
        return p.moved;
    }

    void exited(Proc p, long at) {
        processes.remove(p.pid);
        lastExit = Math.max(lastExit, at);
    }

    private VirtualNode node(int node) {
        if (node < 0 || node >= nodes.length) {
            throw new IllegalArgumentException("no virtual node " + node + ": they are 0-" + (nodes.length - 1));
        }
        return nodes[node];
    }
}
