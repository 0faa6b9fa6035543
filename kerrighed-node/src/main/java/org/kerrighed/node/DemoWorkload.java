package org.kerrighed.node;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The workload of {@code krg demo}: shared counters in a static KDDM set, and a service through which a tool
 * makes one node write them (grab, add one, close), read them, or only report what it holds. It shows objects
 * moving between nodes: a write takes the counter's ownership to the writing node and invalidates the other
 * copies; a read leaves a read copy on the reader.
 *
 * <p>Only nodes started with {@code krg node start --demo-workload} (or that call {@link #install}) have it; every
 * node of a cluster that uses it must install it. The set holds {@code Long} values (first touch: 0) under ids
 * 0 to 63, has the round-robin default owner and a replication factor of {@value #REPLICATION}, so the counters
 * survive the death of any one node with their last values.
 */
public final class DemoWorkload {
    /** The demo's static set id. */
    public static final long SET_ID = 905;
    /** Copies kept of every write. */
    public static final int REPLICATION = 2;
    /** Counter ids are 0 to MAX_COUNTERS-1. */
    public static final int MAX_COUNTERS = 64;

    /** What a node does: write each counter {@code rounds} times, read each once, or only report. */
    public enum Op {
        INCREMENT, READ, REPORT
    }

    /** Ask a node to apply {@code op} to counters 0 to {@code counters}-1. */
    public record Request(Op op, int counters, int rounds) {
        public Request {
            if (op == null) {
                throw new IllegalArgumentException("op: required");
            }
            if (counters < 1 || counters > MAX_COUNTERS) {
                throw new IllegalArgumentException("counters: must be in 1-" + MAX_COUNTERS + ", got " + counters);
            }
            if (rounds < 1 || rounds > 100_000) {
                throw new IllegalArgumentException("rounds: must be in 1-100000, got " + rounds);
            }
        }
    }

    /**
     * One counter as one node holds it after the operation.
     *
     * @param state the object's coherence state on that node ({@code ObjState} name)
     * @param value the local copy's value, or -1 when the node holds no copy
     */
    public record Counter(long id, String state, long value) {
    }

    /**
     * What a node did and holds.
     *
     * @param accesses get or grab calls made
     * @param micros   time they took together
     * @param stats    the demo set's counters on this node after the operation
     */
    public record Report(int node, long epoch, int accesses, long micros, List<Counter> counters, SetStats stats) {
        public Report {
            counters = new ArrayList<>(counters);
        }
    }

    public static final ServiceKey<Request, Report> SERVICE = ServiceKey.of(905, "node.demo", Request.class,
            Report.class);

    private DemoWorkload() {
    }

    /** Registered with the node admin types (ids 2007-2010), so every node and tool has them. */
    static void registerTypes(org.kerrighed.rpc.TypeRegistry.Range b) {
        b.register(2007, Op.class)
                .register(2008, Request.class)
                .register(2009, Counter.class)
                .register(2010, Report.class);
    }

    /**
     * Creates the demo set on {@code node} (unless this incarnation adopted it from a fenced one) and registers
     * the service. Call it on every node, and again in {@link Node#onRejoin} (the new endpoint has no services).
     */
    public static void install(Node node) {
        Kddm kddm = node.kddm();
        if (!kddm.staticSets().containsKey(SET_ID)) {
            kddm.createStaticSet(SET_ID, kddm.objectSpec(Long.class).withReplication(REPLICATION),
                    new ObjectLinker<>(Long.class, id -> 0L));
        }
        node.rpc().register(SERVICE, HandlerKind.BLOCKING, (ctx, r) -> serve(node, r));
        StencilWorkload.install(node);                  // the demo's shared-memory part
        PiWorkload.install(node);                       // the demo's process part
        SchedWorkload.install(node);                    // the demo's scheduler part
        FsWorkload.install(node);                       // the demo's file-system part
    }

    static Report serve(Node node, Request r) {
        KddmSet<Long> set = node.kddm().set(SET_ID, Long.class);
        int accesses = 0;
        long t0 = System.nanoTime();
        switch (r.op()) {
            case INCREMENT -> {
                for (int round = 0; round < r.rounds(); round++) {
                    for (long id = 0; id < r.counters(); id++) {
                        try (Handle<Long> h = set.grab(id)) {       // the only copy in the cluster while open
                            h.set(h.value() + 1);
                        }
                        accesses++;
                    }
                }
            }
            case READ -> {
                for (long id = 0; id < r.counters(); id++) {
                    try (Handle<Long> h = set.get(id)) {            // a read copy stays here until a writer takes it
                        h.value();
                    }
                    accesses++;
                }
            }
            case REPORT -> {
                // look only
            }
        }
        long micros = (System.nanoTime() - t0) / 1000;
        Map<Long, Long> local = new HashMap<>();
        set.forEachLocal(local::put);                             // no message, no counter touched
        List<Counter> counters = new ArrayList<>();
        for (long id = 0; id < r.counters(); id++) {
            Long v = local.get(id);
            counters.add(new Counter(id, set.stateOf(id).name(), v == null ? -1 : v));
        }
        return new Report(node.id(), node.view().epoch(), accesses, micros, counters, set.stats());
    }
}
