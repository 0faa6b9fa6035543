package org.kerrighed.node.cli;

import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.Signal;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.TypeRegistrar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * Two in-process nodes for the process tools' CLI tests (node 1 with credentials 1000/1000, so that permission
 * refusals can be tested), the tool options to reach them, a captured {@code krg}, and the processes a test started
 * (killed after it). One per test class.
 */
final class CliNodes implements AutoCloseable {
    final String cluster;
    final List<Node> nodes = new ArrayList<>();
    final List<ClusterProcess> started = new ArrayList<>();
    final CapturedCli cli = new CapturedCli();
    final Path dir;
    final Path secret;

    /** Starts the nodes of cluster {@code prefix}-RANDOM with the shared secret {@code secretText}. */
    CliNodes(String prefix, String secretText, TypeRegistrar types) throws IOException {
        cluster = prefix + Long.toHexString(new SecureRandom().nextLong() >>> 8);
        dir = Files.createTempDirectory("krg-" + prefix);
        secret = dir.resolve("secret");
        Files.writeString(secret, secretText + "\n");
        NodeConfig c = NodeConfig.builder().clusterName(cluster).secretFile(secret)
                .bind(new HostAndPort("127.0.0.1", 0)).membershipBind(new HostAndPort("127.0.0.1", 0))
                .storageDir(dir.resolve("storage")).jmx(false).build();
        nodes.add(Kerrighed.join(c.toBuilder().nodeId(0).build(), types));
        nodes.add(Kerrighed.join(c.toBuilder().nodeId(1).credentials(1000, 1000)
                .seeds(List.of(nodes.get(0).rpc().address())).build(), types));
    }

    /** Runs krg with the tool options of node {@code via} appended. */
    int krgVia(int via, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--seed", nodes.get(via).rpc().address().toString(), "--cluster", cluster, "--secret-file",
                secret.toString()));
        return cli.run(all.toArray(String[]::new));
    }

    /** Before a test: krg's output is captured. */
    void beforeEach() {
        cli.install();
    }

    /** After a test: the streams are restored and the processes it started that still run are killed. */
    void afterEach() {
        cli.restore();
        for (ClusterProcess p : started) {
            if (p.isAlive()) {
                try {
                    nodes.get(0).epm().kill(p.pid(), Signal.KILL);
                } catch (NoSuchProcessException gone) {
                    // ended meanwhile
                }
            }
        }
        started.clear();
    }

    /** Stops the nodes and deletes their directory. */
    @Override
    public void close() throws IOException {
        for (Node n : nodes.reversed()) {
            n.close();
        }
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
