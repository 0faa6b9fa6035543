package org.kerrighed.node;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A node in a JVM of its own for {@link KddmCrashTest}: {@code CLUSTER SECRET-FILE ID [JOIN-ADDRESS]}. Every
 * node creates the same static sets ({@link #SET_BASELINE}, {@link #SET_KILL}, {@link #SET_STOP}: replication factor 2,
 * {@link SetFlag#LOCAL_EXCLUSIVE}, values {@link Log}) and exposes test services: {@link #WRITE} appends a
 * token to an object (the reply means the write handle's {@code close()} returned: the write is
 * acknowledged), {@link #READ} reads one, {@link #HOLD} keeps an object grabbed, {@link #WATCH} arms the
 * stale-read checker run after a SIGCONT, {@link #DUMP} shows local states. Prints {@code ONLINE id address}
 * when joined and {@code REJOINED id address} after a fencing, like {@link TestNodeMain}.
 */
public final class KddmNodeMain {
    public static final long SET_KILL = 11;
    public static final long SET_STOP = 12;
    public static final long SET_BASELINE = 13;

    /** An object's value: the tokens appended to it, in write order. */
    public record Log(long[] tokens) {
    }

    public record WriteReq(long set, long obj, long token) {
    }

    public record ReadReq(long set, long obj) {
    }

    /** Grab {@code obj}, append {@code token}, keep the handle open for {@code millis}, then close it. */
    public record HoldReq(long set, long obj, long token, long millis) {
    }

    /**
     * Start a thread that waits (at most {@code maxMillis}) for the file {@code trigger}, then reads
     * {@code objs} and checks every successful read against the tokens the file requires.
     */
    public record WatchReq(long set, String trigger, long[] objs, long maxMillis) {
    }

    public record DumpReq(long set, long[] objs) {
    }

    public static final TypeRegistrar TYPES = b -> b.range("kddm-crash-test", 30_100, 30_119)
            .register(30_100, Log.class)
            .register(30_101, WriteReq.class)
            .register(30_102, ReadReq.class)
            .register(30_103, HoldReq.class)
            .register(30_104, WatchReq.class)
            .register(30_105, DumpReq.class);

    public static final ServiceKey<WriteReq, Integer> WRITE = ServiceKey.of(5000, "test.kddm.write", WriteReq.class, Integer.class);
    public static final ServiceKey<ReadReq, long[]> READ = ServiceKey.of(5001, "test.kddm.read", ReadReq.class, long[].class);
    public static final ServiceKey<HoldReq, Boolean> HOLD = ServiceKey.of(5002, "test.kddm.hold", HoldReq.class, Boolean.class);
    public static final ServiceKey<WatchReq, Boolean> WATCH = ServiceKey.of(5003, "test.kddm.watch", WatchReq.class, Boolean.class);
    public static final ServiceKey<DumpReq, String> DUMP = ServiceKey.of(5004, "test.kddm.dump", DumpReq.class, String.class);

    private KddmNodeMain() {
    }

    static SetSpec spec(Kddm k) {
        return k.objectSpec(Log.class).withReplication(2).withFlags(SetFlag.LOCAL_EXCLUSIVE);
    }

    static void createSets(Kddm k) {
        for (long id : new long[]{SET_KILL, SET_STOP, SET_BASELINE}) {
            k.createStaticSet(id, spec(k), new ObjectLinker<>(Log.class, x -> new Log(new long[0])));
        }
    }

    private static long[] tokens(Handle<Log> h) {
        Log v = h.value();
        return v == null || v.tokens() == null ? new long[0] : v.tokens();
    }

    private static long[] append(long[] t, long token) {
        long[] n = Arrays.copyOf(t, t.length + 1);
        n[t.length] = token;
        return n;
    }

    static void serve(Node node) {
        var rpc = node.rpc();
        rpc.register(WRITE, HandlerKind.BLOCKING, (ctx, r) -> {
            KddmSet<Log> s = node.kddm().set(r.set(), Log.class);
            int len;
            try (Handle<Log> h = s.grab(r.obj())) {
                long[] n = append(tokens(h), r.token());
                h.set(new Log(n));
                len = n.length;
            }
            return len;                                      // close() returned: acknowledged
        });
        rpc.register(READ, HandlerKind.BLOCKING, (ctx, r) -> {
            try (Handle<Log> h = node.kddm().set(r.set(), Log.class).get(r.obj())) {
                return tokens(h);
            }
        });
        rpc.register(HOLD, HandlerKind.BLOCKING, (ctx, r) -> {
            KddmSet<Log> s = node.kddm().set(r.set(), Log.class);
            Handle<Log> h = s.grab(r.obj());
            try {
                h.set(new Log(append(tokens(h), r.token())));
                System.out.println("HOLDING " + r.set() + " " + r.obj() + " " + r.token());
                Thread.sleep(r.millis());
            } finally {
                try {
                    h.close();
                    System.out.println("HOLD-ACK " + r.token());
                } catch (RuntimeException e) {
                    System.out.println("HOLD-FAIL " + r.token() + " " + e);
                }
            }
            return true;
        });
        rpc.register(WATCH, HandlerKind.BLOCKING, (ctx, r) -> {
            KddmSet<Log> held = node.kddm().set(r.set(), Log.class);
            Kddm before = node.kddm();
            Thread.ofPlatform().daemon().name("stale-reader").start(() -> new StaleReader(node, before, held, r).run());
            return true;
        });
        rpc.register(DUMP, HandlerKind.BLOCKING, (ctx, r) -> {
            KddmSet<Log> s = node.kddm().set(r.set(), Log.class);
            StringBuilder b = new StringBuilder("node " + node.id() + " epoch " + node.view().epoch() + ", "
                    + s.stats() + ":");
            for (long id : r.objs()) {
                b.append("\n    ").append(describe(s, id));
            }
            return b.toString();
        });
    }

    /**
     * One object's full local record (state, data version, probable owner, ownership sequence, copyset,
     * pins, deferred requests) and backup version, read through the set's internals for diagnostics; just
     * its state if they cannot be read.
     */
    static String describe(KddmSet<?> s, long id) {
        try {
            var d = s.getClass().getDeclaredMethod("describe", long.class);
            d.setAccessible(true);
            var f = s.getClass().getDeclaredField("backups");
            f.setAccessible(true);
            Object backup = ((Map<?, ?>) f.get(s)).get(id);
            return d.invoke(s, id) + (backup == null ? "" : " backup " + backup.toString().replaceAll("data=.*", ""));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "object " + id + " " + s.stateOf(id);
        }
    }

    /**
     * After a SIGCONT: reads every watched object over and over, from the set taken before the stop (its
     * cached copies: {@code find} and {@code get}) and from the node's current KDDM (a new incarnation's
     * once the node rejoined), until a whole pass through the new incarnation succeeded. A read that
     * succeeds but lacks a token the trigger file requires is stale. Prints one {@code READER} line.
     */
    static final class StaleReader {
        private final Node node;
        private final Kddm before;
        private final KddmSet<Log> held;
        private final WatchReq req;
        private final Map<String, Integer> ok = new TreeMap<>();
        private final Map<String, Integer> failures = new TreeMap<>();
        private final List<String> stale = new ArrayList<>();
        private long t0;
        private long firstFailMs = -1;
        private long firstNewOkMs = -1;
        private long lastHeldOkMs = -1;

        StaleReader(Node node, Kddm before, KddmSet<Log> held, WatchReq req) {
            this.node = node;
            this.before = before;
            this.held = held;
            this.req = req;
        }

        private long ms() {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        }

        void run() {
            try {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(req.maxMillis());
                Path trigger = Path.of(req.trigger());
                while (!Files.exists(trigger)) {              // written while this JVM is stopped
                    if (System.nanoTime() > deadline) {
                        System.out.println("READER done=false trigger-never-seen");
                        return;
                    }
                    Thread.onSpinWait();                      // running when stopped: first to run when resumed
                }
                t0 = System.nanoTime();
                Map<Long, Set<Long>> required = new HashMap<>();
                for (String line : Files.readAllLines(trigger)) {
                    String[] f = line.trim().split(" ");
                    if (f.length == 0 || f[0].isEmpty()) {
                        continue;
                    }
                    Set<Long> s = new HashSet<>();
                    for (int i = 1; i < f.length; i++) {
                        s.add(Long.parseLong(f[i]));
                    }
                    required.put(Long.parseLong(f[0]), s);
                }
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                boolean done = false;
                int passes = 0;
                while (!done && System.nanoTime() < end) {
                    passes++;
                    boolean newPassOk = true;
                    Kddm current = node.kddm();
                    boolean rejoined = current != before;
                    for (long obj : req.objs()) {                // cached copies first: they are the danger
                        read("find-held", obj, required.getOrDefault(obj, Set.of()), () -> held.find(obj));
                    }
                    for (long obj : req.objs()) {
                        read("get-held", obj, required.getOrDefault(obj, Set.of()), () -> Optional.of(held.get(obj)));
                    }
                    for (long obj : req.objs()) {
                        if (rejoined) {
                            newPassOk &= read("get-new", obj, required.getOrDefault(obj, Set.of()),
                                    () -> Optional.of(current.set(req.set(), Log.class).get(obj)));
                        }
                    }
                    done = rejoined && newPassOk;
                    Thread.sleep(2);
                }
                System.out.println("READER done=" + done + " passes=" + passes + " ok=" + ok + " stale="
                        + stale.size() + " firstFailMs=" + firstFailMs + " lastHeldOkMs=" + lastHeldOkMs
                        + " firstNewOkMs=" + firstNewOkMs + " failures=" + failures + " staleReads="
                        + stale.subList(0, Math.min(10, stale.size())));
            } catch (Throwable t) {
                System.out.println("READER done=false crashed: " + t);
                t.printStackTrace(System.out);
            }
        }

        interface Reader {
            Optional<Handle<Log>> read();
        }

        /** One read; true when it succeeded (a find that finds no local copy counts as a refusal). */
        private boolean read(String kind, long obj, Set<Long> need, Reader r) {
            long start = ms();
            Optional<Handle<Log>> h;
            try {
                h = r.read();
            } catch (RuntimeException e) {
                if (firstFailMs < 0) {
                    firstFailMs = start;
                }
                String m = e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage());
                failures.merge(kind + " " + m.substring(0, Math.min(90, m.length())), 1, Integer::sum);
                return false;
            }
            if (h.isEmpty()) {
                failures.merge(kind + " no local copy", 1, Integer::sum);
                return false;
            }
            long[] t;
            try (Handle<Log> handle = h.get()) {
                Log v = handle.value();
                t = v == null || v.tokens() == null ? new long[0] : v.tokens();
            }
            Set<Long> have = new HashSet<>();
            for (long x : t) {
                have.add(x);
            }
            int missing = 0;
            for (long x : need) {
                if (!have.contains(x)) {
                    missing++;
                }
            }
            if (missing > 0) {
                stale.add(kind + " obj " + obj + " at " + start + " ms: " + t.length + " tokens, " + missing
                        + " acknowledged before the resume missing");
                return false;
            }
            ok.merge(kind, 1, Integer::sum);
            if (kind.equals("get-new") && firstNewOkMs < 0) {
                firstNewOkMs = start;
            }
            if (!kind.equals("get-new")) {
                lastHeldOkMs = start;
            }
            return true;
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.log.org.kerrighed.kddm", "debug");
        Node node = ChildNodes.join(args, TYPES);
        createSets(node.kddm());
        serve(node);
        node.onRejoin(n -> {
            serve(n);                                        // static sets were re-created by the node
            System.out.println("REJOINED " + n.id() + " " + n.rpc().address());
        });
        ChildNodes.serveUntilStopped(node);
    }
}
