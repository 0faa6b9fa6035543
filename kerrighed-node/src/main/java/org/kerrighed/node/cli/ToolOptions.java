package org.kerrighed.node.cli;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** How a tool reaches the cluster: a node's RPC address and the cluster's name and secret. */
public final class ToolOptions {
    @Option(names = "--seed", paramLabel = "HOST:PORT",
            description = "RPC address of any node (default: the first seed of --config)")
    String seed;

    @Option(names = "--config", paramLabel = "FILE", description = "a node configuration file (cluster name, secret, seeds)")
    Path config;

    @Option(names = "--cluster", paramLabel = "NAME", description = "cluster name (overrides --config)")
    String cluster;

    @Option(names = "--secret-file", paramLabel = "FILE", description = "file holding the cluster secret")
    Path secretFile;

    @Option(names = "--secret-env", paramLabel = "VAR", description = "environment variable holding the cluster secret")
    String secretEnv;

    /** Builds the tool's configuration from the options; errors name the option. */
    NodeConfig nodeConfig() {
        NodeConfig.Builder b = config == null ? NodeConfig.builder()
                : NodeConfig.parse(readConfig(config), config.toString(), config.toAbsolutePath().getParent());
        applySecret(b, secretFile, secretEnv);
        if (cluster != null) {
            b.clusterName(cluster);
        }
        if (seed != null) {
            b.seeds(List.of(parseAddress("--seed", seed)));
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            if (m.equals("cluster.name: required")) {
                throw new IllegalArgumentException("--cluster: the cluster name is required (or give --config)");
            }
            if (m.startsWith("cluster.name")) {
                throw new IllegalArgumentException((cluster != null ? "--cluster: " : "--config: ") + m);
            }
            if (m.startsWith("secret")) {
                throw new IllegalArgumentException("--secret-file/--secret-env: " + m);
            }
            throw e;
        }
    }

    static String readConfig(Path p) {
        try {
            return java.nio.file.Files.readString(p);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--config: cannot read " + p + ": " + e.getMessage());
        }
    }

    static void applySecret(NodeConfig.Builder b, Path secretFile, String secretEnv) {
        if (secretFile != null) {
            b.secret(null);
            b.secretFile(secretFile);
        }
        if (secretEnv != null) {
            String v = System.getenv(secretEnv);
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException("--secret-env: the environment variable " + secretEnv + " is not set");
            }
            b.secretFile(null);
            b.secret(v.strip());
        }
    }

    static HostAndPort parseAddress(String option, String value) {
        try {
            return HostAndPort.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }

    /** Connects to the seed as an authenticated tool (not a member). */
    RpcClient connect() {
        NodeConfig c = nodeConfig();
        if (c.seeds().isEmpty()) {
            throw new IllegalArgumentException("--seed: which node? give --seed HOST:PORT or a --config with seeds");
        }
        return NodeAdmin.connect(c, c.seeds().getFirst());
    }

    /** Connects to another node with the same credentials. */
    RpcClient connect(HostAndPort node) {
        NodeConfig c = nodeConfig();
        return NodeAdmin.connect(c, node);
    }
}
