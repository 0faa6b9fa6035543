package org.kerrighed.rpc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.testing.Await;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

import static org.junit.jupiter.api.Assertions.*;

/** The counters are readable through JMX as open types, and the bean goes away with the node. */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class JmxExportTest {
    @Test
    void countersAreExportedAsAnMXBeanPerNode() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name;
        try (InProcessCluster c = InProcessCluster.start(2, b -> b.jmx(true).types(new TestTypes()))) {
            c.node(1).register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> s);
            c.node(0).call(1, TestTypes.ECHO, "jmx").get(5, TimeUnit.SECONDS);
            name = new ObjectName("org.kerrighed:type=Rpc,cluster=" + ObjectName.quote(c.template().clusterName())
                    + ",node=0");
            assertTrue(server.isRegistered(name), "registered as " + name);
            assertEquals(0, server.getAttribute(name, "NodeId"));
            CompositeData stats = (CompositeData) server.getAttribute(name, "Stats");
            CompositeData[] services = (CompositeData[]) stats.get("services");
            boolean sawEcho = false;
            for (CompositeData s : services) {
                if ((Integer) s.get("serviceId") == TestTypes.ECHO.id()) {
                    sawEcho = true;
                    assertEquals(1L, s.get("callsOut"));
                    CompositeData latency = (CompositeData) s.get("latency");
                    assertEquals(1L, latency.get("count"));
                }
            }
            assertTrue(sawEcho, "the echo service is listed");
            assertEquals(1, server.getAttribute(name, "ConnectedPeers"));
            RpcConfig t = c.template();
            try (RpcClient tool = RpcClient.connect(RpcConfig.builder().clusterName(t.clusterName()).secret(t.secret())
                    .nodeId(-1).jmx(false).build(), c.node(0).address())) {
                Await.until(() -> {
                    try {
                        return Integer.valueOf(1).equals(server.getAttribute(name, "ConnectedTools"));
                    } catch (Exception e) {
                        return false;
                    }
                }, java.time.Duration.ofSeconds(5), "the tool is counted");
                assertEquals(1, server.getAttribute(name, "ConnectedPeers"), "a tool is not a peer");
            }
        }
        assertFalse(server.isRegistered(name), "unregistered on close");
    }
}
