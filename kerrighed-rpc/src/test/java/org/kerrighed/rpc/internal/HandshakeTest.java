package org.kerrighed.rpc.internal;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.HandshakeException;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TestTypes;
import org.kerrighed.rpc.TlsConfig;
import org.kerrighed.rpc.testing.Await;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Who may talk to a node: protocol version, cluster, type registry and the cluster secret, then TLS. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HandshakeTest {
    private static InProcessCluster cluster;
    private static final AtomicInteger served = new AtomicInteger();

    @BeforeAll
    static void start() {
        cluster = InProcessCluster.start(1, b -> b.types(new TestTypes()).handshakeTimeout(Duration.ofSeconds(2)));
        cluster.node(0).register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> {
            served.incrementAndGet();
            return s;
        });
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    private static RpcNode target() {
        return cluster.node(0);
    }

    /** Starts a lone node from the cluster's template as modified, and makes it call the target. */
    private static Throwable callFrom(RpcConfig.Builder config) {
        try (RpcNode stranger = RpcNode.start(config.nodeId(5).faults(null).build())) {
            stranger.addPeer(0, target().address());
            var e = assertThrows(ExecutionException.class,
                    () -> stranger.call(0, TestTypes.ECHO, "let me in").get(10, TimeUnit.SECONDS));
            return e.getCause();
        }
    }

    @Test
    void wrongSecretIsRefusedAndNothingIsServed() {
        int before = served.get();
        long refusedBefore = target().refusedHandshakes();
        Throwable t = callFrom(cluster.template().toBuilder().secret("another secret of 32 bytes......".getBytes()));
        assertInstanceOf(HandshakeException.class, t);
        assertTrue(t.getMessage().contains("does not know the cluster secret"), t.getMessage());
        assertEquals(before, served.get());
        Await.until(() -> target().refusedHandshakes() > refusedBefore, Duration.ofSeconds(5), "refusal counted");
    }

    @Test
    void typeRegistryMismatchIsRefusedNamingBothFingerprints() {
        Throwable t = callFrom(cluster.template().toBuilder()
                .types(b -> b.range("extra", 10_500, 10_599).register(10_500, java.util.UUID[].class)));
        assertInstanceOf(HandshakeException.class, t);
        String fp = target().config().types().shortFingerprint();
        assertTrue(t.getMessage().contains("type registry mismatch"), t.getMessage());
        assertTrue(t.getMessage().contains(fp), "names this node's fingerprint: " + t.getMessage());
        assertTrue(t.getMessage().contains("node 5"), "names the other side: " + t.getMessage());
    }

    @Test
    void otherClusterIsRefusedNamingBothClusters() {
        Throwable t = callFrom(cluster.template().toBuilder().clusterName("elsewhere"));
        assertInstanceOf(HandshakeException.class, t);
        assertTrue(t.getMessage().contains("'elsewhere'") && t.getMessage().contains(cluster.template().clusterName()),
                t.getMessage());
    }

    @Test
    void protocolVersionMismatchIsRefusedNamingBothVersions() throws Exception {
        try (RawPeer raw = new RawPeer(target().address())) {
            RpcConfig c = target().config();
            raw.writeFrame(RawPeer.hello(99, c.clusterName(), c.types().fingerprint(), 7, Handshake.nonce()));
            raw.flush();
            String reply = RawPeer.describe(raw.readFrame());
            assertTrue(reply.contains("protocol version mismatch"), reply);
            assertTrue(reply.contains("version 99") && reply.contains("version " + RpcConfig.PROTOCOL_VERSION), reply);
            assertTrue(raw.closedByPeer(5000));
        }
    }

    @Test
    void requestBeforeAuthenticationClosesTheConnection() throws Exception {
        int before = served.get();
        try (RawPeer raw = new RawPeer(target().address())) {
            byte[] request = {FrameKind.REQUEST, 0, 0, 3, (byte) 232, 0, 0, 0, 0, 0, 0, 0, 1};
            raw.writeFrame(request);
            raw.flush();
            assertTrue(raw.closedByPeer(5000));
        }
        assertEquals(before, served.get());
    }

    @Test
    void silentConnectionIsClosedAfterTheHandshakeTimeout() throws Exception {
        try (RawPeer raw = new RawPeer(target().address())) {
            assertTrue(raw.closedByPeer(8000), "closed after the 2 s handshake timeout");
        }
    }

    @Test
    void largeFrameBeforeAuthenticationIsRefused() throws Exception {
        try (RawPeer raw = new RawPeer(target().address())) {
            byte[] big = new byte[10_000];
            big[0] = FrameKind.HELLO;
            raw.writeFrame(big);
            raw.flush();
            assertTrue(raw.closedByPeer(5000));
        }
    }

    /** A tool's configuration with only the built-in types, plus {@code extra}. */
    private static RpcConfig tool(org.kerrighed.rpc.TypeRegistrar extra) {
        RpcConfig t = cluster.template();
        return RpcConfig.builder().clusterName(t.clusterName()).secret(t.secret()).nodeId(-1).jmx(false)
                .types(extra).build();
    }

    @Test
    void toolWithASubsetOfTheNodesTypesIsAdmitted() throws Exception {
        try (RpcClient c = RpcClient.connect(tool(b -> {
        }), target().address())) {
            assertEquals("hi", c.call(TestTypes.ECHO, "hi").get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void toolWhoseTypesDifferInABlockItUsesIsRefused() {
        var e = assertThrows(HandshakeException.class, () -> RpcClient.connect(
                tool(b -> b.range("extra", 10_500, 10_599).register(10_500, java.util.UUID[].class)), target().address()));
        assertTrue(e.getMessage().contains("type registry mismatch"), e.getMessage());
        assertTrue(e.getMessage().contains("blocks:"), "names the blocks: " + e.getMessage());
    }

    @Test
    void clientWithTheWrongSecretCannotConnect() {
        RpcConfig bad = cluster.template().toBuilder().nodeId(-1).secret("0123456789abcdef0123456789abcdef".getBytes())
                .build();
        var e = assertThrows(HandshakeException.class, () -> RpcClient.connect(bad, target().address()));
        assertTrue(e.getMessage().contains("does not know the cluster secret"), e.getMessage());
    }

    @Test
    void impostorServerIsDetectedByTheDialer() {
        // A node with another secret listens; a node of the cluster dials it and must refuse to use it.
        RpcConfig impostorConfig = cluster.template().toBuilder().nodeId(3)
                .secret("impostor impostor impostor 12345".getBytes()).build();
        try (RpcNode impostor = RpcNode.start(impostorConfig)) {
            target().addPeer(3, impostor.address());
            var e = assertThrows(ExecutionException.class,
                    () -> target().call(3, TestTypes.ECHO, "secret stuff").get(10, TimeUnit.SECONDS));
            assertInstanceOf(LinkClosedException.class, e.getCause());
        } finally {
            target().removePeer(3, new LinkClosedException(3, "test over"));
        }
    }

    @Test
    void linksCanRunOverMutualTls(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("node.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname",
                "secp256r1", "-dname", "CN=kerrighed-test", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "keytool: " + out);
        TlsConfig tls = new TlsConfig(store, "changeit".toCharArray(), store, "changeit".toCharArray());
        try (InProcessCluster secure = InProcessCluster.start(2, b -> b.types(new TestTypes()).tls(tls))) {
            for (RpcNode n : secure.nodes()) {
                n.register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> s + "!");
            }
            assertEquals("tls!", secure.node(0).call(1, TestTypes.ECHO, "tls").get(20, TimeUnit.SECONDS));
            // A plaintext dialer gets nowhere.
            try (RpcNode plain = RpcNode.start(secure.template().toBuilder().nodeId(9).tls(null).faults(null).build())) {
                plain.addPeer(0, secure.node(0).address());
                assertThrows(ExecutionException.class,
                        () -> plain.call(0, TestTypes.ECHO, "x", Duration.ofSeconds(5)).get(20, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void dialByAddressLearnsTheNodeId() throws Exception {
        try (RpcNode other = RpcNode.start(cluster.template().toBuilder().nodeId(8).faults(null).build())) {
            other.register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> s + "@8");
            int id = target().dial(other.address()).get(10, TimeUnit.SECONDS);
            assertEquals(8, id);
            assertTrue(target().peers().contains(8));
            assertEquals("hi@8", target().call(8, TestTypes.ECHO, "hi").get(10, TimeUnit.SECONDS));
            assertEquals(List.of(8), List.of(id));
        } finally {
            target().removePeer(8, new LinkClosedException(8, "test over"));
        }
    }

    @Test
    void addressesParseAndPrint() {
        assertEquals(new HostAndPort("::1", 80), HostAndPort.parse("[::1]:80"));
        assertEquals("[::1]:80", new HostAndPort("::1", 80).toString());
        assertThrows(IllegalArgumentException.class, () -> HostAndPort.parse("nohost"));
        assertThrows(IllegalArgumentException.class, () -> HostAndPort.parse("h:99999"));
    }
}
