package org.kerrighed.rpc.membership;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.kerrighed.rpc.HostAndPort;

import java.util.List;
import java.util.function.BiConsumer;

/**
 * The embedded Hazelcast member: discovery (TCP-IP member list, no multicast), join, leave and a second,
 * slower failure signal. Nothing else of Hazelcast is used: no data structures, no CP subsystem. Its
 * member attributes carry the node id, incarnation and RPC address, so a removal maps to a node.
 */
final class Discovery implements AutoCloseable {
    static final String ATTR_ID = "krg.id";
    static final String ATTR_INCARNATION = "krg.inc";

    private final HazelcastInstance hz;

    Discovery(String clusterName, HostAndPort bind, List<HostAndPort> members, int nodeId, long incarnation,
              HostAndPort rpcAddress, BiConsumer<Integer, Long> onRemoved) {
        Config c = new Config();
        c.setClusterName("krg-" + clusterName);
        c.setInstanceName("krg-" + clusterName + "-" + nodeId + "-" + Long.toHexString(incarnation));
        c.setProperty("hazelcast.logging.type", "slf4j");
        c.setProperty("hazelcast.phone.home.enabled", "false");
        c.setProperty("hazelcast.shutdownhook.enabled", "false");
        c.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        c.setProperty("hazelcast.max.no.heartbeat.seconds", "4");
        c.setProperty("hazelcast.wait.seconds.before.join", "0");
        c.setProperty("hazelcast.max.wait.seconds.before.join", "0");
        c.setProperty("hazelcast.merge.first.run.delay.seconds", "5");
        c.setProperty("hazelcast.merge.next.run.delay.seconds", "5");
        c.setProperty("hazelcast.partition.count", "1");                 // no data is stored
        c.getJetConfig().setEnabled(false);
        c.getMemberAttributeConfig().setAttribute(ATTR_ID, Integer.toString(nodeId));
        c.getMemberAttributeConfig().setAttribute(ATTR_INCARNATION, Long.toString(incarnation));
        c.getMemberAttributeConfig().setAttribute("krg.rpc", rpcAddress.toString());
        NetworkConfig n = c.getNetworkConfig();
        n.setPort(bind.port()).setPortAutoIncrement(false);
        n.getInterfaces().setEnabled(true).addInterface(bind.host());
        JoinConfig j = n.getJoin();
        j.getMulticastConfig().setEnabled(false);
        j.getAutoDetectionConfig().setEnabled(false);
        j.getTcpIpConfig().setEnabled(true);
        for (HostAndPort m : members) {
            j.getTcpIpConfig().addMember(m.toString());
        }
        c.addListenerConfig(new com.hazelcast.config.ListenerConfig(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent e) {
            }

            @Override
            public void memberRemoved(MembershipEvent e) {
                String id = e.getMember().getAttribute(ATTR_ID);
                String inc = e.getMember().getAttribute(ATTR_INCARNATION);
                if (id != null && inc != null) {
                    onRemoved.accept(Integer.parseInt(id), Long.parseLong(inc));
                }
            }
        }));
        this.hz = Hazelcast.newHazelcastInstance(c);
    }

    HostAndPort address() {
        var a = hz.getCluster().getLocalMember().getAddress();
        return new HostAndPort(a.getHost(), a.getPort());
    }

    int size() {
        return hz.getCluster().getMembers().size();
    }

    /** Leaves the Hazelcast cluster gracefully. */
    @Override
    public void close() {
        try {
            hz.shutdown();
        } catch (RuntimeException e) {
            hz.getLifecycleService().terminate();
        }
    }
}
