package org.kerrighed.node;

import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.rpc.membership.Member;
import org.kerrighed.rpc.membership.Membership;
import org.kerrighed.rpc.membership.View;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The services tools use to look at and steer a node (service ids 900-909, types 2000-2019): the cluster's
 * nodes as this node sees them, one node's own figures, a graceful stop, and a link probe (the node calls every
 * other member and multicasts to all of them, and reports the latencies). The demo's workloads
 * ({@link DemoWorkload}, {@link StencilWorkload}, {@link PiWorkload}, {@link SchedWorkload}, {@link FsWorkload}:
 * services 905-909) share the service range; they are registered only on nodes that install them. KDDM's
 * counters are read with {@link org.kerrighed.kddm.Kddm#STATS}; the process tools' services are
 * {@link ProcessAdmin}'s (910-919, types 2020-2049), {@code krg run}'s is {@link AppLauncher}'s (920, types
 * 2050-2059), {@code krg sched}'s are {@link SchedAdmin}'s (921-924, types 2060-2069) and {@code krg fs}'s are
 * {@link FsAdmin}'s (925-929, types 2080-2089), all installed and registered with these.
 */
public final class NodeAdmin {
    /** The view as this node sees it, with its own and its peers' figures. */
    public record ClusterStatus(long epoch, int master, boolean writable, List<NodeStatus> nodes) {
        public ClusterStatus {
            nodes = new ArrayList<>(nodes);
        }
    }

    /** Ask a node for its own figures. */
    public record SelfRequest(long sentNanos) {
    }

    /** Ask a node to leave the cluster gracefully and exit. */
    public record StopRequest(String reason) {
    }

    /** Ask a node to call every other member {@code callsPerLink} times, then multicast to all of them. */
    public record ProbeRequest(int callsPerLink, int payloadBytes) {
        public ProbeRequest {
            if (callsPerLink < 1 || callsPerLink > 100_000) {
                throw new IllegalArgumentException("callsPerLink: must be in 1-100000, got " + callsPerLink);
            }
            if (payloadBytes < 0 || payloadBytes > 1 << 20) {
                throw new IllegalArgumentException("payloadBytes: must be in 0-1048576, got " + payloadBytes);
            }
        }
    }

    /** Round trips on one link, one call in flight, in microseconds; {@code errors} calls failed. */
    public record LinkStats(int from, int to, int calls, int errors, long p50Micros, long p99Micros, long maxMicros) {
    }

    /** What a probe measured: each link from the node, then one multicast to every other member. */
    public record ProbeResult(int from, List<LinkStats> links, long multicastMicros, int multicastTargets,
                              int multicastReplies) {
        public ProbeResult {
            links = new ArrayList<>(links);
        }
    }

    public static final ServiceKey<String, ClusterStatus> STATUS = ServiceKey.of(900, "node.status", String.class, ClusterStatus.class);
    public static final ServiceKey<SelfRequest, NodeStatus> SELF = ServiceKey.of(901, "node.self", SelfRequest.class, NodeStatus.class);
    public static final ServiceKey<StopRequest, Boolean> STOP = ServiceKey.of(902, "node.stop", StopRequest.class, Boolean.class);
    public static final ServiceKey<ProbeRequest, ProbeResult> PROBE = ServiceKey.of(903, "node.probe", ProbeRequest.class, ProbeResult.class);
    /** Replies with what it receives. */
    public static final ServiceKey<byte[], byte[]> ECHO = ServiceKey.of(904, "node.echo", byte[].class, byte[].class);

    /** The types of these services, in kerrighed-node's id range. */
    public static void registerTypes(TypeRegistry.Builder b) {
        var range = b.range("kerrighed-node", 2000, 2019)
                .register(2000, NodeStatus.class)
                .register(2001, ClusterStatus.class)
                .register(2002, SelfRequest.class)
                .register(2003, StopRequest.class)
                .register(2004, ProbeRequest.class)
                .register(2005, LinkStats.class)
                .register(2006, ProbeResult.class);
        DemoWorkload.registerTypes(range);             // 2007-2010, registered whether or not the demo runs
        StencilWorkload.registerTypes(range);          // 2011-2013, likewise
        SchedWorkload.registerTypes(range);            // 2014-2019, likewise
        ProcessAdmin.registerTypes(b);                 // 2020-2049
        AppLauncher.registerTypes(b);                  // 2050-2059
        SchedAdmin.registerTypes(b);                   // 2060-2069
        PiWorkload.registerTypes(b);                   // 2070-2079
        FsAdmin.registerTypes(b);                      // 2080-2089
        FsWorkload.registerTypes(b);                   // 2090-2099
    }

    private NodeAdmin() {
    }

    /**
     * Connects a tool endpoint (not a member) to the node at {@code node} with {@code config}'s cluster name,
     * secret and limits, registering the types of these services, of {@link ProcessAdmin}'s, KDDM's and the
     * process layer's. Blocks until the handshake is done.
     *
     * @throws org.kerrighed.rpc.HandshakeException when the node refuses the tool (secret, cluster, types)
     */
    public static RpcClient connect(NodeConfig config, org.kerrighed.rpc.HostAndPort node) {
        return RpcClient.connect(config.toRpcConfig(-1, NodeAdmin::registerTypes, org.kerrighed.kddm.Kddm.types(),
                org.kerrighed.epm.Epm.types(), org.kerrighed.scheduler.ClusterScheduler.types()), node);
    }

    /**
     * The view of the node {@code tool} is connected to, with every member's figures. Waits at most
     * {@code timeout} plus 5 s.
     */
    public static ClusterStatus status(RpcClient tool, java.time.Duration timeout)
            throws InterruptedException, java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
        return tool.call(STATUS, "", timeout).get(timeout.toMillis() + 5000, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Asks the node {@code tool} is connected to to leave the cluster gracefully and exit. */
    public static void stop(RpcClient tool, String reason, java.time.Duration timeout)
            throws InterruptedException, java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
        tool.call(STOP, new StopRequest(reason), timeout).get(timeout.toMillis() + 5000,
                java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * Polls the node {@code tool} is connected to every 100 ms until node {@code id} is no longer a live
     * member of its view; returns that view, or null when {@code id} is still listed after {@code max}.
     */
    public static ClusterStatus awaitGone(RpcClient tool, int id, java.time.Duration max)
            throws InterruptedException, java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            ClusterStatus s = status(tool, java.time.Duration.ofSeconds(5));
            if (s.nodes().stream().noneMatch(n -> n.nodeId() == id && n.live())) {
                return s;
            }
            Thread.sleep(100);
        }
        return null;
    }

    static void install(Node node, Membership m) {
        RpcNode rpc = m.rpc();
        rpc.register(SELF, HandlerKind.BLOCKING, (ctx, r) -> self(node, -1));   // reads /proc
        rpc.register(STATUS, HandlerKind.BLOCKING, (ctx, r) -> status(node));
        rpc.register(STOP, HandlerKind.BLOCKING, (ctx, r) -> {
            node.requestStop(r.reason());
            return true;
        });
        rpc.register(ECHO, HandlerKind.NON_BLOCKING, (ctx, bytes) -> bytes);
        rpc.register(PROBE, HandlerKind.BLOCKING, (ctx, r) -> probe(node, r));
        ProcessAdmin.install(node, rpc);
        AppLauncher.install(node, rpc);
        SchedAdmin.install(node, rpc);
        FsAdmin.install(node, rpc);
    }

    /** Calls every other member in turn, one call in flight, then multicasts once to all of them. */
    static ProbeResult probe(Node node, ProbeRequest r) throws InterruptedException {
        byte[] payload = new byte[r.payloadBytes()];
        java.time.Duration timeout = java.time.Duration.ofSeconds(2);
        List<Integer> others = new ArrayList<>();
        for (Member m : node.membership().view().members()) {
            if (m.nodeId() != node.id()) {
                others.add(m.nodeId());
            }
        }
        List<LinkStats> links = new ArrayList<>();
        for (int to : others) {
            long[] micros = new long[r.callsPerLink()];
            int ok = 0;
            int errors = 0;
            for (int i = 0; i < r.callsPerLink(); i++) {
                long t0 = System.nanoTime();
                try {
                    node.rpc().call(to, ECHO, payload, timeout).get();
                    micros[ok++] = (System.nanoTime() - t0) / 1000;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (++errors >= 3) {
                        break;                                   // the link is down; do not wait on it further
                    }
                }
            }
            long[] done = java.util.Arrays.copyOf(micros, ok);
            java.util.Arrays.sort(done);
            links.add(new LinkStats(node.id(), to, ok + errors, errors, percentile(done, 0.50), percentile(done, 0.99),
                    ok == 0 ? -1 : done[ok - 1]));
        }
        long t0 = System.nanoTime();
        var result = node.rpc().multicast(others, ECHO, payload, timeout).join();
        long multicast = (System.nanoTime() - t0) / 1000;
        return new ProbeResult(node.id(), links, multicast, others.size(), result.replies().size());
    }

    private static long percentile(long[] sorted, double p) {
        return sorted.length == 0 ? -1 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    static NodeStatus self(Node node, long rtt) {
        Member me = node.membership().view().member(node.id()).orElse(null);
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return new NodeStatus(node.id(), node.rpc().address().toString(),
                me == null ? "" : String.valueOf(me.discoveryAddress()),
                me == null ? "FENCED" : me.state().name(), me == null ? -1 : me.sinceEpoch(),
                me == null ? -1 : System.currentTimeMillis() - me.startedAtMillis(),
                os.getProcessCpuLoad(), heap.getUsed(), rtt);
    }

    /** Asks every member for its own figures (in parallel, 2 s each) and assembles the table. */
    static ClusterStatus status(Node node) {
        Membership m = node.membership();
        View v = m.view();
        Map<Integer, Long> rtts = node.rpc().lastRttMicros();
        List<java.util.concurrent.CompletableFuture<NodeStatus>> asks = new ArrayList<>();
        for (Member member : v.members()) {
            if (member.nodeId() == node.id()) {
                asks.add(java.util.concurrent.CompletableFuture.completedFuture(self(node, -1)));
            } else {
                long rtt = rtts.getOrDefault(member.nodeId(), -1L);
                asks.add(node.rpc().call(member.nodeId(), SELF, new SelfRequest(System.nanoTime()),
                                java.time.Duration.ofSeconds(2))
                        .thenApply(s -> new NodeStatus(s.nodeId(), s.rpcAddress(), s.discovery(), s.state(),
                                s.epoch(), s.uptimeMillis(), s.load(), s.heapUsedBytes(), rtt))
                        .exceptionally(t -> new NodeStatus(member.nodeId(), member.rpcAddress().toString(),
                                String.valueOf(member.discoveryAddress()), member.state().name() + "?",
                                member.sinceEpoch(), -1, -1, -1, rtt)));
            }
        }
        List<NodeStatus> nodes = new ArrayList<>();
        for (var a : asks) {
            nodes.add(a.join());
        }
        for (Member d : v.departed()) {
            nodes.add(new NodeStatus(d.nodeId(), d.rpcAddress().toString(), String.valueOf(d.discoveryAddress()),
                    d.state().name(), d.sinceEpoch(), -1, -1, -1, -1));
        }
        return new ClusterStatus(v.epoch(), v.master(), m.writable(), nodes);
    }
}
