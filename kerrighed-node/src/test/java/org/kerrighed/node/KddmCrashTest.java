package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.node.KddmNodeMain.DumpReq;
import org.kerrighed.node.KddmNodeMain.HoldReq;
import org.kerrighed.node.KddmNodeMain.ReadReq;
import org.kerrighed.node.KddmNodeMain.WatchReq;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LongSummaryStatistics;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * KDDM across node JVMs killed with SIGKILL and frozen with SIGSTOP under a write load, with replication
 * factor 2 ({@link KddmNodeMain}'s sets). The load comes from this JVM through the nodes' test services;
 * every write whose reply arrived is acknowledged (its handle's {@code close()} returned on the node) and
 * must be in the final values, read identically from every live node. One cluster for the class: each test
 * starts by bringing it back to three live nodes. A failing test lists every problem it found, its events
 * and each live node's record of every object; the node logs are under {@code target/jvm-logs}.
 *
 * <p>These tests found, and now guard against: recovery trusting a stale ownership hint (an object whose owner
 * died re-created empty or waiting forever), a home first-touching an object it knows exists, a write handle
 * closed on a fenced node returning normally, and a rejoining node's KDDM serving before it joined.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KddmCrashTest {
    private JvmCluster c;
    private final Map<Integer, RpcClient> tools = new ConcurrentHashMap<>();
    private final List<String> events = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();

    @BeforeAll
    void startCluster() throws Exception {
        c = new JvmCluster("kddm-crash", KddmNodeMain.class);
        for (int id = 0; id < 3; id++) {
            c.start(id);
        }
    }

    @AfterAll
    void stopCluster() {
        tools.values().forEach(RpcClient::close);
        if (c != null) {
            c.close();
        }
    }

    private RpcClient tool(int id) {
        return tools.computeIfAbsent(id, i -> connect(c.addresses.get(i)));
    }

    private RpcClient connect(HostAndPort at) {
        return RpcClient.connect(c.toolConfig().toRpcConfig(-1, NodeAdmin::registerTypes, Kddm.types(),
                KddmNodeMain.TYPES), at);
    }

    private void dropTool(int id) {
        RpcClient t = tools.remove(id);
        if (t != null) {
            t.close();
        }
    }

    /** Restarts dead node JVMs and waits until node 0 sees three ONLINE members. */
    private void ensureThreeNodes() throws Exception {
        for (int id = 0; id < 3; id++) {
            if (!c.jvm(id).isAlive()) {
                dropTool(id);
                c.start(id);
            }
        }
        until(s -> s.nodes().stream().filter(n -> n.state().equals("ONLINE")).count() == 3, Duration.ofSeconds(30),
                "three ONLINE nodes");
    }

    private NodeAdmin.ClusterStatus status() throws Exception {
        return NodeAdmin.status(tool(0), Duration.ofSeconds(5));
    }

    private long until(Predicate<NodeAdmin.ClusterStatus> done, Duration max, String what) throws Exception {
        long t0 = System.nanoTime();
        while (true) {
            NodeAdmin.ClusterStatus s = status();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            if (done.test(s)) {
                return ms;
            }
            if (ms > max.toMillis()) {
                fail("timed out after " + ms + " ms waiting for " + what + "; last status " + s);
            }
            Thread.sleep(20);
        }
    }

    private void event(KddmLoad load, String what) {
        String e = load.ms(System.nanoTime()) + " ms: " + what;
        events.add(e);
        System.out.println("KDDM-CRASH " + e);
    }

    private static long[] range(long from, long to) {
        return LongStream.range(from, to).toArray();
    }

    private static long[] concat(long[]... parts) {
        return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
    }

    private long[] read(int node, long set, long obj) throws Exception {
        return tool(node).call(KddmNodeMain.READ, new ReadReq(set, obj), KddmLoad.CALL)
                .get(KddmLoad.CALL.toMillis() + 5000, TimeUnit.MILLISECONDS);
    }

    private String dump(int node, long set, long[] objs) {
        try {
            return tool(node).call(KddmNodeMain.DUMP, new DumpReq(set, objs), Duration.ofSeconds(5))
                    .get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return "node " + node + ": no dump (" + e + ")";
        }
    }

    private String dumpAll(long set, long[] objs, int... nodes) {
        StringBuilder b = new StringBuilder();
        for (int n : nodes) {
            b.append(dump(n, set, objs)).append('\n');
        }
        return b.append("logs in ").append(c.logs.toAbsolutePath()).toString();
    }

    /**
     * Reads every object from every node in {@code nodes} until they agree (writes given up on by this JVM may
     * still be finishing), then checks the values against the acknowledged writes; what is wrong goes to
     * {@link #problems}. Returns the number of acknowledged writes checked.
     */
    private int verify(KddmLoad load, long[] objs, int... nodes) throws Exception {
        Map<Integer, Map<Long, long[]>> seen = new TreeMap<>();
        List<String> unreadable = new ArrayList<>();
        List<String> disagreements = new ArrayList<>();
        for (int attempt = 0; attempt < 20; attempt++) {
            seen.clear();
            unreadable.clear();
            for (int n : nodes) {
                Map<Long, long[]> m = new TreeMap<>();
                for (long obj : objs) {
                    try {
                        m.put(obj, read(n, load.set, obj));
                    } catch (ExecutionException | TimeoutException e) {
                        unreadable.add("object " + obj + " cannot be read through node " + n + ": "
                                + (e.getCause() == null ? e : e.getCause()));
                    }
                }
                seen.put(n, m);
            }
            disagreements.clear();
            for (long obj : objs) {
                long[] first = seen.get(nodes[0]).get(obj);
                for (int n : nodes) {
                    long[] v = seen.get(n).get(obj);
                    if (first != null && v != null && !Arrays.equals(first, v)) {
                        disagreements.add("object " + obj + ": node " + nodes[0] + " reads " + first.length
                                + " tokens, node " + n + " reads " + v.length);
                    }
                }
            }
            if (disagreements.isEmpty() || !unreadable.isEmpty()) {
                break;
            }
            Thread.sleep(500);
        }
        problems.addAll(unreadable);
        if (!disagreements.isEmpty()) {
            problems.add("nodes disagree on " + disagreements.size() + " final values: "
                    + disagreements.subList(0, Math.min(6, disagreements.size())));
        }
        Map<Long, long[]> values = new TreeMap<>();
        for (int n : nodes) {                            // node by node: the first that could read the object
            seen.get(n).forEach(values::putIfAbsent);
        }
        long[] readable = Arrays.stream(objs).filter(values::containsKey).toArray();
        return load.check(readable, values, problems);
    }

    /** Fails with every problem found, the events and every live node's view of the objects. */
    private void assertNoProblems(long set, long[] objs, int... nodes) {
        if (problems.isEmpty()) {
            return;
        }
        StringBuilder b = new StringBuilder(problems.size() + " problems:\n");
        problems.stream().limit(40).forEach(p -> b.append("  ").append(p).append('\n'));
        b.append("events:\n");
        events.forEach(e -> b.append("  ").append(e).append('\n'));
        fail(b.append(dumpAll(set, objs, nodes)).toString());
    }

    private static String summary(KddmLoad load) {
        StringBuilder b = new StringBuilder();
        for (KddmLoad.Writer w : load.writers()) {
            b.append(String.format("  writer %d via %s: %d acked, %d failed, slowest ack %d ms%s%n", w.id, w.via,
                    w.acks, w.failures, TimeUnit.NANOSECONDS.toMillis(w.maxAckNanos),
                    w.lastError == null ? "" : ", last error " + w.lastError));
        }
        return b.toString();
    }

    /** Probes {@code objs} in parallel through {@code via} until each takes a write; the ms since {@code t0}. */
    private Map<Long, Long> probe(KddmLoad load, long t0, long[] objs, int[] via) throws Exception {
        Map<Long, Long> ms = new ConcurrentHashMap<>();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < objs.length; i++) {
            long obj = objs[i];
            int node = via[i % via.length];
            RpcClient t = tool(node);
            KddmLoad.Writer w = load.writer("probe node " + node);
            ts.add(Thread.ofVirtual().start(() -> {
                try {
                    if (w.writeUntilAcked(t, obj, Duration.ofSeconds(30)) >= 0) {
                        ms.put(obj, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread t : ts) {
            t.join(Duration.ofSeconds(40));
        }
        return new TreeMap<>(ms);
    }

    /** The first write through each of {@code via} after {@code t0}, for each object; a problem for those that never got one. */
    private Map<Long, Long> firstWrites(KddmLoad load, long t0, long[] objs, int[] via, String when) throws Exception {
        Map<Long, Long> ms = probe(load, t0, objs, via);
        for (long obj : objs) {
            if (!ms.containsKey(obj)) {
                problems.add("object " + obj + " took no write within 30 s " + when);
            }
        }
        return ms;
    }

    /** Writes every object once through each node of {@code via}; a problem for each object that refuses. */
    private void sweep(KddmLoad load, long[] objs, int... via) throws InterruptedException {
        KddmLoad.Writer w = load.writer("final sweep");
        for (long obj : objs) {
            for (int n : via) {
                if (w.write(tool(n), obj) < 0) {
                    problems.add("the final write of object " + obj + " through node " + n + " failed: " + w.lastError);
                    break;
                }
            }
        }
    }

    private static String spread(Map<Long, Long> ms) {
        LongSummaryStatistics st = ms.values().stream().mapToLong(Long::longValue).summaryStatistics();
        return st.getCount() == 0 ? "none" : st.getMin() + "-" + st.getMax() + " ms";
    }

    /**
     * The harness itself, with nothing failing: two writers per node on shared objects, some objects owned by
     * one node and read by the others; every acknowledged write must be in the values, read identically from
     * the three nodes, in real-time order.
     */
    @Test
    @Order(0)
    void writeLoadWithoutFailuresLosesNothing() throws Exception {
        ensureThreeNodes();
        long set = KddmNodeMain.SET_BASELINE;
        long[] shared = range(0, 12);
        long[] owned = range(100, 103);
        long[] all = concat(shared, owned);
        KddmLoad load = new KddmLoad(set);
        events.clear();
        problems.clear();
        for (int n = 0; n < 3; n++) {
            for (int k = 0; k < 2; k++) {
                load.start("node " + n, tool(n), shared, 3);
            }
        }
        KddmLoad.Writer owner = load.writer("owner node 1");
        long start = System.nanoTime();
        while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2)
                || (load.ackCount() < 400 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20))) {
            for (long obj : owned) {
                assertTrue(owner.write(tool(1), obj) >= 0, "write of " + obj + ": " + owner.lastError);
                read(0, set, obj);
                read(2, set, obj);
            }
        }
        load.stop();
        int checked = verify(load, all, 0, 1, 2);
        if (load.failureCount() > 0) {
            problems.add(load.failureCount() + " writes failed:\n" + summary(load));
        }
        if (checked < 100) {
            problems.add("only " + checked + " acknowledged writes were checked");
        }
        System.out.printf("KDDM-CRASH baseline: %d acknowledged writes checked, %d problems%n%s", checked,
                problems.size(), summary(load));
        assertNoProblems(set, all, 0, 1, 2);
    }

    /**
     * Three nodes; every node writes the shared objects all along (two writers each); the node that dies owns
     * six objects it wrote last, and holds a seventh grabbed (a write in progress) when it gets SIGKILL. The
     * survivors must take writes on every object again, and at the end every acknowledged write must be in the
     * values, which both survivors read identically.
     */
    @Test
    @Order(1)
    void sigkillUnderWriteLoadLosesNoAcknowledgedWrite() throws Exception {
        ensureThreeNodes();
        long set = KddmNodeMain.SET_KILL;
        long[] shared = range(0, 16);           // written by every node all along
        long[] victims = range(100, 106);       // owned by the node that dies
        long held = 200;                         // grabbed by the node that dies when it dies
        long[] all = concat(shared, victims, new long[]{held});
        int dead = 1;
        int[] survivors = {0, 2};
        KddmLoad load = new KddmLoad(set);
        events.clear();
        problems.clear();

        KddmLoad.Writer seeder = load.writer("seed");
        for (long obj : shared) {
            assertTrue(seeder.write(tool((int) (obj % 3)), obj) >= 0, "seed write of " + obj + ": " + seeder.lastError);
        }
        assertTrue(seeder.write(tool(0), held) >= 0, "seed write of " + held + ": " + seeder.lastError);
        assertTrue(seeder.write(tool(2), held) >= 0, "seed write of " + held + ": " + seeder.lastError);
        KddmLoad.Writer owner = load.writer("node " + dead + " (victims)");
        for (int round = 0; round < 2; round++) {
            for (long obj : victims) {
                assertTrue(owner.write(tool(dead), obj) >= 0, "victim write of " + obj + ": " + owner.lastError);
            }
        }
        for (int n = 0; n < 3; n++) {
            for (int k = 0; k < 2; k++) {
                load.start("node " + n, tool(n), shared, 3);
            }
        }
        load.awaitAcks(200, Duration.ofMillis(1500), Duration.ofSeconds(15));
        long holdToken = load.writer("hold node " + dead).nextToken();
        tool(dead).call(KddmNodeMain.HOLD, new HoldReq(set, held, holdToken, 60_000), Duration.ofSeconds(90));
        c.jvm(dead).awaitLine(l -> l.equals("HOLDING " + set + " " + held + " " + holdToken), Duration.ofSeconds(30));
        event(load, "before the kill, " + dump(dead, set, concat(victims, new long[]{held})));
        int ackedBefore = load.ackCount();

        long t0 = System.nanoTime();
        c.crash(dead);
        event(load, "SIGKILL node " + dead + " (" + ackedBefore + " writes acknowledged so far)");
        Map<Long, Long> recovered = firstWrites(load, t0, concat(victims, new long[]{held}), survivors,
                "after the kill");
        event(load, "first write after the kill per object (ms after SIGKILL): " + recovered);
        assertTrue(c.jvm(dead).waitFor(Duration.ofSeconds(10)) >= 0, "node " + dead + " is dead");
        load.awaitAcks(100, Duration.ofSeconds(2), Duration.ofSeconds(15));   // the load goes on after the recovery
        load.stop();
        event(load, "load stopped");
        sweep(load, all, survivors);             // the cluster goes on serving: every object, every survivor
        dropTool(dead);
        int checked = verify(load, all, survivors);

        long survivorFailures = load.writers().stream().filter(w -> w.via.startsWith("node ")
                && !w.via.startsWith("node " + dead)).mapToLong(w -> w.failures).sum();
        long slowest = load.writers().stream().filter(w -> w.via.startsWith("node ") && !w.via.startsWith("node " + dead))
                .mapToLong(w -> w.maxAckNanos).max().orElse(0);
        if (survivorFailures > 0) {
            problems.add(survivorFailures + " writes through the survivors failed:\n" + summary(load));
        }
        if (checked < 100) {
            problems.add("only " + checked + " acknowledged writes were checked");
        }
        System.out.printf("KDDM-CRASH SIGKILL: %d acknowledged writes checked (%d before the kill), %d failed writes"
                        + " through survivors, slowest acknowledged survivor write %d ms, first write on the dead node's"
                        + " objects %s after SIGKILL, %d problems%n%s",
                checked, ackedBefore, survivorFailures, TimeUnit.NANOSECONDS.toMillis(slowest), spread(recovered),
                problems.size(), summary(load));
        assertNoProblems(set, all, survivors);
    }

    /**
     * Three nodes; nodes 0 and 1 (two writers each) and 2 (one) write the hot objects; node 2 owns four objects,
     * holds read copies of the cold ones, and holds one grabbed (a write in progress) when it gets SIGSTOP.
     * Once it is declared failed, every object takes a write through nodes 0 and 1, so every copy node 2 kept is
     * stale; those writes are handed to node 2 in a file it can only read after SIGCONT. From then on a checker
     * in node 2 reads every object through the set it held before the pause (cached copies: {@code find} and
     * {@code get}) and through the node's current KDDM (a new incarnation's once it rejoined): no read may lack
     * an acknowledged write. It must end with a whole pass of current values through the new incarnation. The
     * rejoined node writes too; at the end every acknowledged write (including the held one, if its
     * {@code close()} returned) must be in the values, which all three nodes read identically.
     */
    @Test
    @Order(2)
    void sigstoppedNodeNeverServesAStaleReadAndLosesNoAcknowledgedWrite() throws Exception {
        ensureThreeNodes();
        long set = KddmNodeMain.SET_STOP;
        long[] hot = range(0, 8);               // written all along
        long[] cold = range(10, 18);            // read (cached) by the paused node just before its pause
        long[] owned = range(100, 104);         // owned by the paused node
        long held = 200;                         // grabbed by the paused node when it is paused
        long[] all = concat(hot, cold, owned, new long[]{held});
        int paused = 2;
        KddmLoad load = new KddmLoad(set);
        events.clear();
        problems.clear();

        KddmLoad.Writer seeder = load.writer("seed");
        for (long obj : concat(hot, cold)) {
            assertTrue(seeder.write(tool((int) (obj % 3)), obj) >= 0, "seed write of " + obj + ": " + seeder.lastError);
        }
        assertTrue(seeder.write(tool(0), held) >= 0, "seed write of " + held + ": " + seeder.lastError);
        KddmLoad.Writer owner = load.writer("node " + paused + " (owned)");
        for (int round = 0; round < 2; round++) {
            for (long obj : owned) {
                assertTrue(owner.write(tool(paused), obj) >= 0, "owned write of " + obj + ": " + owner.lastError);
            }
        }
        for (int n = 0; n < 3; n++) {
            for (int k = 0; k < (n == paused ? 1 : 2); k++) {
                load.start("node " + n, tool(n), hot, 3);
            }
        }
        load.awaitAcks(150, Duration.ofSeconds(1), Duration.ofSeconds(15));
        for (long obj : cold) {
            read(paused, set, obj);              // read copies on the node about to be paused
        }
        long holdToken = load.writer("hold node " + paused).nextToken();
        long holdSent = System.nanoTime();
        tool(paused).call(KddmNodeMain.HOLD, new HoldReq(set, held, holdToken, 2000), Duration.ofSeconds(90));
        c.jvm(paused).awaitLine(l -> l.equals("HOLDING " + set + " " + held + " " + holdToken), Duration.ofSeconds(30));
        event(load, "before the pause, " + dump(paused, set, all));
        Path trigger = c.logs.resolve("resume-trigger-" + System.nanoTime()).toAbsolutePath();
        long[] watched = concat(cold, owned, new long[]{held}, hot);    // what it holds first
        assertTrue(tool(paused).call(KddmNodeMain.WATCH, new WatchReq(set, trigger.toString(), watched, 60_000),
                Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS));   // its checker spins until SIGSTOP

        long t0 = System.nanoTime();
        c.jvm(paused).stop();
        event(load, "SIGSTOP node " + paused);
        assertFalse(c.jvm(paused).tail(50).contains("HOLD-ACK " + holdToken), "the held write was still open at the pause");
        long detectedMs = until(s -> s.nodes().stream().anyMatch(n -> n.nodeId() == paused && n.state().equals("FAILED")),
                Duration.ofSeconds(15), "node " + paused + " declared failed");
        event(load, "node " + paused + " declared failed (" + detectedMs + " ms after SIGSTOP)");
        // every object takes a write acknowledged during the pause: every copy the paused node has is stale
        Map<Long, Long> writable = firstWrites(load, t0, all, new int[]{0, 1}, "during the pause");
        event(load, "first write during the pause per object (ms after SIGSTOP): " + writable);
        Thread.sleep(500);
        StringBuilder required = new StringBuilder();
        Map<Long, List<Long>> ackedNow = load.ackedTokens();
        for (long obj : all) {
            required.append(obj);
            ackedNow.getOrDefault(obj, List.of()).forEach(t -> required.append(' ').append(t));
            required.append('\n');
        }
        Path tmp = Files.writeString(trigger.resolveSibling(trigger.getFileName() + ".tmp"), required);
        Files.move(tmp, trigger, StandardCopyOption.ATOMIC_MOVE);
        long pausedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        c.jvm(paused).cont();
        long resumed = System.nanoTime();
        event(load, "SIGCONT node " + paused + " after " + pausedMs + " ms");

        String rejoined = c.jvm(paused).awaitLine(l -> l.startsWith("REJOINED "), Duration.ofSeconds(30));
        long rejoinMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - resumed);
        event(load, rejoined);
        String reader = c.jvm(paused).awaitLine(l -> l.startsWith("READER "), Duration.ofSeconds(60));
        event(load, reader);
        if (!reader.contains(" stale=0 ")) {
            problems.add("node " + paused + " served stale reads after SIGCONT: " + reader);
        }
        if (!reader.contains("done=true")) {
            problems.add("node " + paused + " did not read current values through its new incarnation: " + reader);
        }
        String holdEnd = c.jvm(paused).awaitLine(l -> l.startsWith("HOLD-ACK " + holdToken)
                || l.startsWith("HOLD-FAIL " + holdToken), Duration.ofSeconds(30));
        event(load, "the write held across the pause ended: " + holdEnd);
        if (holdEnd.startsWith("HOLD-ACK")) {    // close() returned: the write is acknowledged
            load.acknowledged(held, holdToken, holdSent, Long.MAX_VALUE);
        }
        dropTool(paused);
        c.addresses.put(paused, HostAndPort.parse(rejoined.split(" ")[2]));
        load.start("node " + paused + " (rejoined)", tool(paused), hot, 3);
        load.awaitAcks(100, Duration.ofMillis(1500), Duration.ofSeconds(15));
        load.stop();
        event(load, "load stopped");
        sweep(load, all, 0, 1, paused);
        int checked = verify(load, all, 0, 1, paused);
        if (checked < 100) {
            problems.add("only " + checked + " acknowledged writes were checked");
        }
        System.out.printf("KDDM-CRASH SIGSTOP: declared failed %d ms after SIGSTOP, every object written again %s after"
                        + " SIGSTOP, paused %d ms, REJOINED %d ms after SIGCONT, %d acknowledged writes checked,"
                        + " %d problems, stale-read checker: %s%n%s",
                detectedMs, spread(writable), pausedMs, rejoinMs, checked, problems.size(), reader, summary(load));
        assertNoProblems(set, all, 0, 1, paused);
    }
}
