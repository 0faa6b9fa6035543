package org.kerrighed.node;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The scheduler part of {@code krg demo}: CPU-bound {@link Spin} processes that a tool starts on a node it names
 * (so that the cluster's balancer has something to move) or where the placement puts them, and waits for. A tool
 * drives it through {@link #SERVICE}; every node started with {@code --demo-workload} serves it. Types: ids
 * 2014-2019 (the node's own range, with the demo's other types).
 */
public final class SchedWorkload {
    /** Start processes on this node's behalf, or wait for some it started. */
    public enum Op {
        START, WAIT
    }

    /**
     * START: {@code count} (1-64) {@link Spin}s of {@code steps} steps of {@code stepMillis} each, on {@code node}
     * ({@link SpawnOptions#ANY_NODE}: the placement picks), named {@code name i}. WAIT: wait at most
     * {@code waitMillis} for processes {@code pids}, which this node started.
     */
    public record Request(Op op, int count, int steps, int stepMillis, int node, String name, List<Integer> pids,
                          long waitMillis) {
        public Request {
            if (op == null) {
                throw new IllegalArgumentException("op: required");
            }
            if (op == Op.START && (count < 1 || count > 64 || steps < 1 || stepMillis < 1 || stepMillis > 1000)) {
                throw new IllegalArgumentException("START needs 1-64 processes of at least one step of 1-1000 ms, got "
                        + count + " of " + steps + " steps of " + stepMillis + " ms");
            }
            if (node < SpawnOptions.ANY_NODE || node > 255) {
                throw new IllegalArgumentException("node must be 0-255 or ANY_NODE, got " + node);
            }
            if (op == Op.START && (name == null || name.isBlank())) {
                throw new IllegalArgumentException("name: required to start");
            }
            pids = new ArrayList<>(pids);
            if (waitMillis < 0 || waitMillis > 600_000) {
                throw new IllegalArgumentException("waitMillis: must be in 0-600000, got " + waitMillis);
            }
        }
    }

    /** What a {@link Spin} returns: the node it ended on, how many times it changed node, the steps it ran. */
    public record Result(int node, int moves, int steps) {
    }

    /**
     * A process as the tool sees it: where it started; once ended ({@code status} not null), how, and its result
     * (null unless it exited 0).
     */
    public record Proc(int pid, int startNode, String status, Result result) {
    }

    /** The processes started (START) or waited for (WAIT), in the request's order. */
    public record Report(int node, List<Proc> processes) {
        public Report {
            processes = new ArrayList<>(processes);
        }
    }

    public static final ServiceKey<Request, Report> SERVICE = ServiceKey.of(908, "node.sched-demo", Request.class,
            Report.class);

    /** The capabilities a {@link Spin} runs with: the defaults and {@code CAN_MIGRATE} (the balancer may move it). */
    static final Capabilities CAPABILITIES = Capabilities.DEFAULT.plus(Capability.CAN_MIGRATE);

    private SchedWorkload() {
    }

    /**
     * A CPU-bound program: {@code steps} steps, each spinning for {@code stepMillis} (so it lasts about as long
     * wherever it runs, and a move waits at most one step for its safe point). Its state is its fields; it counts
     * the steps it ran and the times it found itself on another node, and returns them as a {@link Result}.
     */
    public static final class Spin implements StepProgram {
        private int steps;
        private long stepNanos;
        private int done;
        private int lastNode = -1;
        private int moves;
        private long sink;

        private Spin() {
        }

        public Spin(int steps, int stepMillis) {
            this.steps = steps;
            this.stepNanos = stepMillis * 1_000_000L;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            if (lastNode >= 0 && ctx.node() != lastNode) {
                moves++;
            }
            lastNode = ctx.node();
            long end = System.nanoTime() + stepNanos;
            long x = sink;
            while (System.nanoTime() < end) {
                for (int i = 0; i < 1000; i++) {
                    x = x * 6364136223846793005L + 1442695040888963407L;
                }
            }
            sink = x;
            if (++done < steps) {
                return false;
            }
            ctx.setResult(new Result(ctx.node(), moves, done));
            return true;
        }
    }

    /** A process this node started for a tool, and the node it started on. */
    private record Started(ClusterProcess process, int node) {
    }

    /** Registered with the node admin types, in the node's range (ids 2014-2019). */
    static void registerTypes(TypeRegistry.Range r) {
        r.register(2014, Op.class)
                .register(2015, Request.class)
                .register(2016, Result.class)
                .register(2017, Proc.class)
                .register(2018, Report.class)
                .register(2019, Spin.class);
    }

    /** Registers the service on {@code node} (as {@link DemoWorkload#install} does, and with it). */
    public static void install(Node node) {
        Map<Integer, Started> started = new ConcurrentHashMap<>();
        node.rpc().register(SERVICE, HandlerKind.BLOCKING, (ctx, r) -> serve(node, started, r));
    }

    static Report serve(Node node, Map<Integer, Started> started, Request r) throws InterruptedException {
        List<Proc> out = new ArrayList<>();
        if (r.op() == Op.START) {
            for (int i = 0; i < r.count(); i++) {
                SpawnOptions o = SpawnOptions.defaults().name(r.name() + " " + i).capabilities(CAPABILITIES);
                ClusterProcess p = node.epm().spawn(new Spin(r.steps(), r.stepMillis()),
                        r.node() == SpawnOptions.ANY_NODE ? o : o.onNode(r.node()));
                started.put(p.pid(), new Started(p, p.node()));
                out.add(new Proc(p.pid(), p.node(), null, null));
            }
            return new Report(node.id(), out);
        }
        long end = System.nanoTime() + Duration.ofMillis(r.waitMillis()).toNanos();
        for (int pid : r.pids()) {
            Started st = started.get(pid);
            if (st == null) {
                throw new IllegalArgumentException("node " + node.id() + " started no demo process " + pid);
            }
            ClusterProcess p = st.process();
            Optional<ExitStatus> s = p.waitFor(Duration.ofNanos(Math.max(0, end - System.nanoTime())));
            if (s.isPresent()) {
                started.remove(pid);
            }
            Result result = s.isPresent() && s.get().code() == 0 ? (Result) p.result().orElse(null) : null;
            out.add(new Proc(pid, st.node(), s.map(ExitStatus::toString).orElse(null), result));
        }
        return new Report(node.id(), out);
    }
}
