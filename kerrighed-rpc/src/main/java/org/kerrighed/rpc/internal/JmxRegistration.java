package org.kerrighed.rpc.internal;

import org.kerrighed.rpc.RpcStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;

/** Registers an endpoint's {@link RpcMXBean} with the platform MBean server and removes it on close. */
final class JmxRegistration implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JmxRegistration.class);
    static final JmxRegistration NONE = new JmxRegistration(null);
    private final ObjectName name;

    private JmxRegistration(ObjectName name) {
        this.name = name;
    }

    static JmxRegistration register(Endpoint e) {
        try {
            ObjectName name = new ObjectName("org.kerrighed:type=Rpc,cluster="
                    + ObjectName.quote(e.config().clusterName()) + ",node=" + e.nodeId());
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            server.registerMBean(new Bean(e), name);
            return new JmxRegistration(name);
        } catch (InstanceAlreadyExistsException ex) {
            log.debug("node {}: a JMX bean for this node id already exists in this JVM; not registering", e.nodeId());
            return NONE;
        } catch (Exception ex) {
            log.warn("node {}: cannot register the JMX bean: {}", e.nodeId(), ex.toString());
            return NONE;
        }
    }

    @Override
    public void close() {
        if (name != null) {
            try {
                ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
            } catch (Exception ex) {
                log.debug("cannot unregister {}: {}", name, ex.toString());
            }
        }
    }

    private record Bean(Endpoint endpoint) implements RpcMXBean {
        @Override
        public int getNodeId() {
            return endpoint.nodeId();
        }

        @Override
        public RpcStats getStats() {
            return endpoint.stats();
        }

        @Override
        public long getRefusedHandshakes() {
            return endpoint.refusedHandshakes();
        }

        @Override
        public int getConnectedPeers() {
            return (int) endpoint.stats().peers().stream().filter(p -> p.connected() && isNode(p.peer())
                    && p.peer() != endpoint.nodeId()).count();
        }

        @Override
        public int getConnectedTools() {
            return (int) endpoint.stats().peers().stream().filter(p -> p.connected() && !isNode(p.peer())).count();
        }

        private static boolean isNode(int id) {
            return id >= 0 && id < org.kerrighed.rpc.RpcConfig.MAX_NODES;    // tools get ids from MAX_NODES up
        }
    }
}
