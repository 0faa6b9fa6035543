package org.kerrighed.bench;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.kerrighed.node.launch.ChildJvm;

/**
 * The peer of the membership benchmark: a bare Hazelcast member, configured either with Hazelcast's
 * defaults or tuned for fast failure detection with the same tolerance of a 1 s pause that Kerrighed
 * has: heartbeats every second and a member declared dead after 2 s without one (a 1 s pause delays a
 * heartbeat by at most 1 s past its period). Runs in the benchmark's JVM (the observer, and joins) or as
 * a JVM of its own ({@link #main}: {@code CLUSTER OBSERVER-HOST:PORT tuned|default}, prints
 * {@code READY host:port}).
 */
final class HazelcastPeer {
    private HazelcastPeer() {
    }

    static Config config(String cluster, boolean tuned, String seed) {
        Config c = new Config();
        c.setClusterName(cluster);
        c.setProperty("hazelcast.logging.type", "slf4j");
        c.setProperty("hazelcast.phone.home.enabled", "false");
        c.setProperty("hazelcast.shutdownhook.enabled", "false");
        if (tuned) {
            c.setProperty("hazelcast.heartbeat.interval.seconds", "1");
            c.setProperty("hazelcast.max.no.heartbeat.seconds", "2");
            c.setProperty("hazelcast.wait.seconds.before.join", "0");
            c.setProperty("hazelcast.max.wait.seconds.before.join", "0");
        }
        c.getJetConfig().setEnabled(false);
        NetworkConfig n = c.getNetworkConfig();
        n.setPort(0).setPortAutoIncrement(false);
        n.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
        JoinConfig j = n.getJoin();
        j.getMulticastConfig().setEnabled(false);
        j.getAutoDetectionConfig().setEnabled(false);
        j.getTcpIpConfig().setEnabled(true);
        if (seed != null) {
            j.getTcpIpConfig().addMember(seed);
        }
        return c;
    }

    static String address(HazelcastInstance hz) {
        var a = hz.getCluster().getLocalMember().getAddress();
        return a.getHost() + ":" + a.getPort();
    }

    public static void main(String[] args) {
        ChildJvm.exitWhenParentDies();
        HazelcastInstance hz = Hazelcast.newHazelcastInstance(config(args[0], args[2].equals("tuned"), args[1]));
        System.out.println("READY " + address(hz) + " " + hz.getCluster().getLocalMember().getUuid());
        System.out.flush();
    }
}
