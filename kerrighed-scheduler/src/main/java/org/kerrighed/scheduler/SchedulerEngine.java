package org.kerrighed.scheduler;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * One node's schedulers at work: it runs the configured probes on their periods, passes what they publish
 * through each port's filters, calls the policies, carries out their moves through the {@link SchedulerHost}, and
 * polls other nodes' values for ports with a {@code remote_cache} filter. The same engine runs on real nodes
 * (driven by {@link ClusterScheduler}'s thread) and on the simulator's virtual nodes (driven by simulated time).
 *
 * <p>Thread-safe: every method holds the engine's lock, and policies and probes are called under it. A probe or
 * policy that throws (anything: an exception, an error such as a stack overflow, a checked exception its code did
 * not declare) is counted and, after three failures in a row, disabled on this node with the reason in its
 * stats; nothing a component throws escapes the engine.
 */
public final class SchedulerEngine {
    private static final Logger log = LoggerFactory.getLogger(SchedulerEngine.class);
    private static final int MAX_ERRORS_IN_A_ROW = 3;
    private static final long REFUSED_NANOS = 30_000_000_000L;
    private static final long EXPEL_EVERY_NANOS = 2_000_000_000L;
    private static final long SENT_MEMORY_NANOS = 30_000_000_000L;

    private final SchedulerHost host;
    private final Components components;
    private SchedulerConfig config = SchedulerConfig.EMPTY;
    private final Map<String, ProbeRun> probes = new HashMap<>();
    private final Map<String, SchedRun> schedulers = new HashMap<>();
    private final Map<String, Double> values = new HashMap<>();                 // PROBE/SOURCE -> last number
    private final Map<String, Map<Integer, Double>> perProcess = new HashMap<>();
    private final Map<Integer, Remote> remotes = new HashMap<>();
    private final Map<Integer, Long> refused = new HashMap<>();                  // pid -> until
    private final Set<Integer> moving = new HashSet<>();
    private final Set<Integer> departed = new HashSet<>();                       // moved away since `last`
    private NodeSample last;
    private long sampledAtTick;
    private final java.util.ArrayDeque<long[]> sent = new java.util.ArrayDeque<>();   // {time, node}, oldest first
    private Map<Integer, Set<String>> pollPlan = Map.of();                       // node -> keys, see planPolls
    private Map<Integer, Long> pollPeriods = Map.of();
    private SchedulerConfig pollPlanFor;
    private int[] pollPlanLive;

    public SchedulerEngine(SchedulerHost host, Components components) {
        this.host = Objects.requireNonNull(host);
        this.components = Objects.requireNonNull(components);
    }

    /** The configuration applied now. */
    public synchronized SchedulerConfig config() {
        return config;
    }

    // ------------------------------------------------------------------ configuration

    /**
     * Applies {@code next}: probes and schedulers that are new, changed, or whose type's factory changed (a plugin
     * was replaced) are made again; removed ones stop. A type this node does not know leaves that component
     * disabled with the reason in its stats. Plugins must be installed in the components first.
     */
    public synchronized void configure(SchedulerConfig next) {
        for (Iterator<Map.Entry<String, ProbeRun>> it = probes.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, ProbeRun> e = it.next();
            ProbeSpec spec = next.probes().get(e.getKey());
            if (spec == null || !spec.equals(e.getValue().spec)
                    || components.probe(spec.type()) != e.getValue().factory) {
                it.remove();
                values.keySet().removeIf(k -> k.startsWith(e.getKey() + "/"));
                perProcess.keySet().removeIf(k -> k.startsWith(e.getKey() + "/"));
            }
        }
        for (ProbeSpec spec : next.probes().values()) {
            probes.computeIfAbsent(spec.name(), n -> new ProbeRun(spec));
        }
        for (Iterator<Map.Entry<String, SchedRun>> it = schedulers.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, SchedRun> e = it.next();
            SchedulerSpec spec = next.schedulers().get(e.getKey());
            if (spec == null || !spec.equals(e.getValue().spec)
                    || components.policy(spec.policy()) != e.getValue().factory) {
                it.remove();
            }
        }
        for (SchedulerSpec spec : next.schedulers().values()) {
            schedulers.computeIfAbsent(spec.name(), n -> new SchedRun(spec));
        }
        config = next;
    }

    // ------------------------------------------------------------------ the clock

    /** Runs the probes that are due, the decisions their values trigger, and the polls that are due. */
    public synchronized void tick() {
        long now = host.nanoTime();
        Set<String> published = new HashSet<>();
        for (ProbeRun p : sorted(probes)) {
            if (p.probe != null && now >= p.due) {
                if (last == null || sampledAtTick != now) {
                    resample();                                 // one sample a tick, whichever probes are due
                    sampledAtTick = now;
                }
                p.due = now + p.spec.periodMillis() * 1_000_000;
                p.sample(last, published);
            }
        }
        refused.values().removeIf(until -> until < now);
        for (SchedRun s : sortedSchedulers()) {
            if (s.policy == null) {
                continue;
            }
            if (!s.spec.nodes().contains(host.self())) {
                if (!s.triggers.isEmpty()) {
                    s.expel(now);                      // a balancer's processes belong on its nodes
                }
                continue;
            }
            for (Map.Entry<String, PortLink> e : new TreeMap<>(s.spec.links()).entrySet()) {
                if (published.contains(e.getValue().key()) && s.triggers.contains(e.getKey())
                        && s.passes(e.getKey(), e.getValue(), now)) {
                    s.decide(e.getKey());
                }
            }
        }
        poll(now);
    }

    /** Records a process sent to {@code node} now (placed or moved), forgetting those older than 30 s. */
    private void sent(int node) {
        long now = host.nanoTime();
        while (!sent.isEmpty() && now - sent.peekFirst()[0] > SENT_MEMORY_NANOS) {
            sent.removeFirst();
        }
        sent.addLast(new long[] {now, node});
    }

    private void resample() {
        last = host.sample();
        departed.clear();
    }

    private static <T> List<T> sorted(Map<String, T> m) {
        return new ArrayList<>(new TreeMap<>(m).values());
    }

    private List<SchedRun> sortedSchedulers() {
        List<SchedRun> l = new ArrayList<>(schedulers.values());
        l.sort((a, b) -> Long.compare(a.spec.seq(), b.spec.seq()));
        return l;
    }

    // ------------------------------------------------------------------ placement

    /**
     * The node for {@code p}: the newest scheduler whose process set holds it and whose policy answers a live node
     * of its node set wins; {@link Policy#NO_CHOICE} when none does.
     */
    public synchronized int place(NewProcess p) {
        List<SchedRun> l = sortedSchedulers();
        for (int i = l.size() - 1; i >= 0; i--) {
            SchedRun s = l.get(i);
            if (s.policy != null && s.spec.processes().contains(p)) {
                int n = s.place(p);
                if (n != Policy.NO_CHOICE) {
                    return n;
                }
            }
        }
        return Policy.NO_CHOICE;
    }

    // ------------------------------------------------------------------ values

    /** This node's last published numbers of {@code keys} ({@code PROBE/SOURCE}), for other nodes' polls. */
    public synchronized Map<String, Double> values(Set<String> keys) {
        Map<String, Double> out = new HashMap<>();
        for (String k : keys) {
            Double v = values.get(k);
            if (v != null) {
                out.put(k, v);
            }
        }
        return out;
    }

    private void poll(long now) {
        int[] live = host.liveNodes();
        if (pollPlanFor != config || !Arrays.equals(pollPlanLive, live)) {
            planPolls(live);
        }
        pollPlan.forEach((node, keys) -> {
            Remote r = remotes.computeIfAbsent(node, k -> new Remote());
            if (!r.inFlight && now - r.started >= pollPeriods.get(node)) {
                r.inFlight = true;
                r.started = now;
                host.poll(node, keys).whenComplete((v, err) -> polled(node, r, v, err));
            }
        });
    }

    /** Which nodes to poll for which keys, how often: made again when the configuration or the nodes change. */
    private void planPolls(int[] live) {
        Map<Integer, Set<String>> want = new HashMap<>();
        Map<Integer, Long> period = new HashMap<>();
        for (SchedulerSpec s : config.schedulers().values()) {
            for (PortLink link : s.links().values()) {
                FilterSpec cache = link.filter("remote_cache");
                if (cache != null) {
                    long every = Long.parseLong(cache.params().getOrDefault("polling", "1000")) * 1_000_000;
                    for (int n : s.nodes().of(live)) {
                        if (n != host.self()) {
                            want.computeIfAbsent(n, k -> new HashSet<>()).add(link.key());
                            period.merge(n, every, Math::min);
                        }
                    }
                }
            }
        }
        want.replaceAll((n, keys) -> Set.copyOf(keys));
        remotes.keySet().retainAll(want.keySet());
        pollPlan = want;
        pollPeriods = period;
        pollPlanFor = config;
        pollPlanLive = live.clone();
    }

    private synchronized void polled(int node, Remote r, Map<String, Double> v, Throwable err) {
        r.inFlight = false;
        if (err != null) {
            log.debug("node {}: polling node {}'s scheduler values failed: {}", host.self(), node, err.toString());
        } else if (remotes.get(node) == r) {
            r.values = v;
            r.at = r.started;                          // the value is at least as old as the request
        }
    }

    // ------------------------------------------------------------------ stats

    /** Each scheduler's counters on this node, oldest scheduler first. */
    public synchronized List<SchedulerStats> stats() {
        List<SchedulerStats> out = new ArrayList<>();
        for (SchedRun s : sortedSchedulers()) {
            out.add(new SchedulerStats(host.self(), s.spec.name(), s.spec.policy(), s.decisions, s.placements,
                    s.migrations, s.failed, s.errors, s.disabled, s.seen, s.lastDecision));
        }
        return out;
    }

    /** Why each probe does not run on this node, by name (absent: it runs). */
    public synchronized Map<String, String> disabledProbes() {
        Map<String, String> out = new TreeMap<>();
        probes.forEach((n, p) -> {
            if (p.disabled != null) {
                out.put(n, p.disabled);
            }
        });
        return out;
    }

    // ------------------------------------------------------------------ runs

    private static final class Remote {
        Map<String, Double> values = Map.of();
        long at;
        long started = Long.MIN_VALUE / 2;
        boolean inFlight;
    }

    private final class ProbeRun implements ProbeOutput {
        final ProbeSpec spec;
        final ProbeFactory factory;
        Probe probe;
        String disabled;
        int errorsInARow;
        long due = Long.MIN_VALUE;
        private Set<String> sink;

        ProbeRun(ProbeSpec spec) {
            this.spec = spec;
            this.factory = components.probe(spec.type());
            if (factory == null) {
                disabled = "no probe type '" + spec.type() + "' on node " + host.self();
                return;
            }
            try {
                probe = factory.create(spec.params());
            } catch (Throwable e) {
                disabled = "probe type " + spec.type() + " failed to start: " + e;
            }
        }

        void sample(NodeSample node, Set<String> published) {
            sink = published;
            try {
                probe.sample(node, this);
                errorsInARow = 0;
            } catch (Throwable e) {
                if (++errorsInARow >= MAX_ERRORS_IN_A_ROW) {
                    disabled = "disabled after " + errorsInARow + " failures in a row: " + e;
                    probe = null;
                    log.warn("node {}: probe {} {}", host.self(), spec.name(), disabled);
                } else {
                    log.warn("node {}: probe {} failed", host.self(), spec.name(), e);
                }
            } finally {
                sink = null;
            }
        }

        @Override
        public void publish(String source, double value) {
            String key = check(source);
            Double before = values.put(key, value);
            if (!spec.onChange() || before == null || Double.compare(before, value) != 0) {
                sink.add(key);
            }
        }

        @Override
        public void publishPerProcess(String source, Map<Integer, Double> v) {
            perProcess.put(check(source), Map.copyOf(v));
        }

        private String check(String source) {
            if (sink == null) {
                throw new IllegalStateException("probe " + spec.name() + " published outside its sample call");
            }
            return spec.name() + "/" + source;
        }
    }

    private final class SchedRun implements PolicyContext {
        final SchedulerSpec spec;
        final PolicyFactory factory;
        Policy policy;
        Set<String> triggers = Set.of();
        String disabled;
        int errorsInARow;
        long decisions;
        long placements;
        long migrations;
        long failed;
        long errors;
        long lastExpel = Long.MIN_VALUE / 2;
        Map<String, Double> seen = Map.of();
        String lastDecision = "";
        final Map<String, Long> lastPass = new HashMap<>();

        SchedRun(SchedulerSpec spec) {
            this.spec = spec;
            this.factory = components.policy(spec.policy());
            if (factory == null) {
                disabled = "no policy type '" + spec.policy() + "' on node " + host.self();
                return;
            }
            try {
                policy = factory.create();
                Set<String> ports = policy.ports();
                triggers = Set.copyOf(policy.triggers());
                for (String port : spec.links().keySet()) {
                    if (!ports.contains(port)) {
                        throw new IllegalArgumentException("policy " + spec.policy() + " has no port " + port);
                    }
                }
            } catch (Throwable e) {
                policy = null;
                disabled = "policy type " + spec.policy() + " failed to start: " + e;
            }
        }

        /** True when a number just published on {@code port} passes its filters (the gate of a decision). */
        boolean passes(String port, PortLink link, long now) {
            double v = values.getOrDefault(link.key(), Double.NaN);
            if (Double.isNaN(v)) {
                return false;
            }
            for (FilterSpec f : link.filters()) {
                switch (f.type()) {
                    case "threshold" -> {
                        if (v < threshold(f.params().get("threshold"))) {
                            return false;
                        }
                    }
                    case "freq_limit" -> {
                        long min = Long.parseLong(f.params().getOrDefault("min_interval", "2000")) * 1_000_000;
                        Long passed = lastPass.get(port);
                        if (passed != null && now - passed < min) {
                            return false;
                        }
                        String event = f.params().get("last_event");
                        double at = event == null ? Double.NaN : values.getOrDefault(event, Double.NaN);
                        if (!Double.isNaN(at) && now - (long) (at * 1e9) < min) {
                            return false;
                        }
                    }
                    default -> {
                        // remote_cache does not gate
                    }
                }
            }
            lastPass.put(port, now);
            return true;
        }

        private double threshold(String expr) {
            int star = expr.indexOf('*');
            double factor = Double.parseDouble(star < 0 ? expr : expr.substring(0, star));
            return star < 0 ? factor : factor * values.getOrDefault(expr.substring(star + 1), 0.0);
        }

        void decide(String port) {
            decisions++;
            List<Move> moves;
            try {
                List<Move> answer = policy.decide(port, this);
                moves = answer == null ? List.of() : new ArrayList<>(answer);    // a faulty list fails here
                errorsInARow = 0;
            } catch (Throwable e) {
                failedCall("decide", e);
                return;
            }
            seen = snapshot();
            if (moves == null || moves.isEmpty()) {
                lastDecision = "no move";
                log.debug("node {}: scheduler {} decided no move (saw {})", host.self(), spec.name(), seen);
                return;
            }
            Set<Integer> ok = new HashSet<>();
            movable().forEach(p -> ok.add(p.pid()));
            List<String> done = new ArrayList<>();
            for (Move m : moves) {
                if (m == null || !ok.remove(m.pid()) || m.node() == host.self()
                        || Arrays.binarySearch(nodes(), m.node()) < 0) {
                    errors++;
                    log.warn("node {}: scheduler {} asked for an invalid move {} (not a movable process here, or not"
                            + " another node of its set): dropped", host.self(), spec.name(), m);
                    continue;
                }
                done.add(m.pid() + "->" + m.node());
                move(m);
            }
            lastDecision = done.isEmpty() ? "no valid move" : "move " + String.join(", ", done);
            log.debug("node {}: scheduler {} decided {} (saw {})", host.self(), spec.name(), lastDecision, seen);
        }

        private void move(Move m) {
            sent(m.node());
            moving.add(m.pid());
            host.migrate(m.pid(), m.node()).whenComplete((r, err) -> moved(m, err));
        }

        private void moved(Move m, Throwable err) {
            synchronized (SchedulerEngine.this) {
                moving.remove(m.pid());
                if (err == null) {
                    migrations++;
                    departed.add(m.pid());
                } else {
                    failed++;
                    refused.put(m.pid(), host.nanoTime() + REFUSED_NANOS);
                    log.debug("node {}: scheduler {}'s move of {} to node {} failed: {}", host.self(), spec.name(),
                            m.pid(), m.node(), err.toString());
                }
            }
        }

        /** This node is not in the node set: its processes of the set go to the set's nodes, in turn. */
        void expel(long now) {
            if (now - lastExpel < EXPEL_EVERY_NANOS) {
                return;
            }
            lastExpel = now;
            int[] to = nodes();
            if (to.length == 0) {
                return;
            }
            int i = 0;
            for (ProcessSample p : movable()) {
                move(new Move(p.pid(), to[i++ % to.length]));
            }
            if (i > 0) {
                lastDecision = "expelled " + i + " process(es): node " + host.self() + " is not in the node set";
            }
        }

        int place(NewProcess p) {
            int n;
            try {
                n = policy.place(p, this);
                errorsInARow = 0;
            } catch (Throwable e) {
                failedCall("place", e);
                return Policy.NO_CHOICE;
            }
            if (n == Policy.NO_CHOICE) {
                return n;
            }
            if (Arrays.binarySearch(nodes(), n) < 0) {
                errors++;
                log.warn("node {}: scheduler {} placed {} on node {}, not a live node of its set: ignored",
                        host.self(), spec.name(), p.command(), n);
                return Policy.NO_CHOICE;
            }
            placements++;
            if (n != host.self()) {
                sent(n);
            }
            log.debug("node {}: scheduler {} placed {} on node {}", host.self(), spec.name(), p.command(), n);
            return n;
        }

        private void failedCall(String call, Throwable e) {
            errors++;
            if (++errorsInARow >= MAX_ERRORS_IN_A_ROW) {
                disabled = "disabled after " + errorsInARow + " failures in a row of " + call + ": " + e;
                policy = null;
                log.warn("node {}: scheduler {} {}", host.self(), spec.name(), disabled);
            } else {
                log.warn("node {}: scheduler {}'s policy failed in {}", host.self(), spec.name(), call, e);
            }
        }

        private Map<String, Double> snapshot() {
            Map<String, Double> m = new TreeMap<>();
            spec.links().forEach((port, link) -> {
                Double v = values.get(link.key());
                if (v != null) {
                    m.put(port, v);
                }
                if (link.filter("remote_cache") != null) {
                    for (int n : nodes()) {
                        double r = remote(port, n);
                        if (n != host.self() && !Double.isNaN(r)) {
                            m.put(port + "@" + n, r);
                        }
                    }
                }
            });
            return m;
        }

        // ---------------------------------------------------------- PolicyContext

        @Override
        public int node() {
            return host.self();
        }

        @Override
        public int[] nodes() {
            return spec.nodes().of(host.liveNodes()).clone();
        }

        @Override
        public long nanoTime() {
            return host.nanoTime();
        }

        @Override
        public double value(String port) {
            PortLink l = spec.links().get(port);
            return l == null ? Double.NaN : values.getOrDefault(l.key(), Double.NaN);
        }

        @Override
        public double remote(String port, int node) {
            if (node == host.self()) {
                return value(port);
            }
            PortLink l = spec.links().get(port);
            Remote r = remotes.get(node);
            return l == null || r == null ? Double.NaN : r.values.getOrDefault(l.key(), Double.NaN);
        }

        @Override
        public long remoteAge(String port, int node) {
            if (node == host.self()) {
                return 0;
            }
            Remote r = remotes.get(node);
            PortLink l = spec.links().get(port);
            return l == null || r == null || !r.values.containsKey(l.key()) ? Long.MAX_VALUE : host.nanoTime() - r.at;
        }

        @Override
        public int sentSince(int node, long sinceNanos) {
            int count = 0;
            for (long[] s : sent) {
                if (s[1] == node && s[0] > sinceNanos) {
                    count++;
                }
            }
            return count;
        }

        @Override
        public Map<Integer, Double> perProcess(String port) {
            PortLink l = spec.links().get(port);
            return l == null ? Map.of() : perProcess.getOrDefault(l.key(), Map.of());
        }

        @Override
        public List<ProcessSample> movable() {
            if (last == null) {
                resample();
            }
            List<ProcessSample> out = new ArrayList<>();
            for (ProcessSample p : last.processes()) {
                if (p.runnable() && p.mayMigrate() && spec.processes().contains(p) && !moving.contains(p.pid())
                        && !departed.contains(p.pid()) && !refused.containsKey(p.pid())) {
                    out.add(p);
                }
            }
            return out;
        }

        @Override
        public String param(String name, String otherwise) {
            return spec.params().getOrDefault(name, otherwise);
        }

        @Override
        public double param(String name, double otherwise) {
            String v = spec.params().get(name);
            if (v == null) {
                return otherwise;
            }
            try {
                return Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("parameter " + name + " of scheduler " + spec.name()
                        + " is not a number: '" + v + "'");
            }
        }
    }
}
