package org.kerrighed.node.cli;

import org.kerrighed.node.NodeAdmin;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;

/** How a tool reaches the cluster: a node's RPC address and the cluster's name and secret. */
public final class ToolOptions {
    @Option(names = "--seed", paramLabel = "HOST:PORT",
            description = "RPC address of any node (default: the first seed of --config)")
    String seed;

    @Mixin
    ClusterOptions cluster;

    /** Builds the tool's configuration from the options; errors name the option. */
    NodeConfig nodeConfig() {
        NodeConfig.Builder b = cluster.builder();
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
                throw new IllegalArgumentException((cluster.cluster != null ? "--cluster: " : "--config: ") + m);
            }
            if (m.startsWith("secret")) {
                throw new IllegalArgumentException("--secret-file/--secret-env: " + m);
            }
            throw e;
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
