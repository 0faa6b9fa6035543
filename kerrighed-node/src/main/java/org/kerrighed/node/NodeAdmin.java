package org.kerrighed.node;

import org.kerrighed.rpc.HandlerKind;
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
 * The services tools use to look at and steer a node (service ids 900-909, types 2000-2019): the
 * cluster's nodes as this node sees them, one node's own figures, and a graceful stop.
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

    public static final ServiceKey<String, ClusterStatus> STATUS = ServiceKey.of(900, "node.status", String.class, ClusterStatus.class);
    public static final ServiceKey<SelfRequest, NodeStatus> SELF = ServiceKey.of(901, "node.self", SelfRequest.class, NodeStatus.class);
    public static final ServiceKey<StopRequest, Boolean> STOP = ServiceKey.of(902, "node.stop", StopRequest.class, Boolean.class);

    /** The types of these services, in kerrighed-node's id range. */
    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node", 2000, 2019)
                .register(2000, NodeStatus.class)
                .register(2001, ClusterStatus.class)
                .register(2002, SelfRequest.class)
                .register(2003, StopRequest.class);
    }

    private NodeAdmin() {
    }

    static void install(Node node, Membership m) {
        RpcNode rpc = m.rpc();
        rpc.register(SELF, HandlerKind.NON_BLOCKING, (ctx, r) -> self(node, -1));
        rpc.register(STATUS, HandlerKind.BLOCKING, (ctx, r) -> status(node));
        rpc.register(STOP, HandlerKind.BLOCKING, (ctx, r) -> {
            node.requestStop(r.reason());
            return true;
        });
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
