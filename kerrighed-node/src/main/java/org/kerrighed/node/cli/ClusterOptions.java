package org.kerrighed.node.cli;

import org.kerrighed.node.NodeConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The options every command that talks to a cluster shares: a configuration file, and the cluster name and
 * secret that override it. Errors name the option.
 */
final class ClusterOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "a node configuration file (cluster name, secret, seeds); options override it")
    Path config;

    @Option(names = "--cluster", paramLabel = "NAME", description = "cluster name (overrides --config)")
    String cluster;

    @Option(names = "--secret-file", paramLabel = "FILE", description = "file holding the cluster secret")
    Path secretFile;

    @Option(names = "--secret-env", paramLabel = "VAR", description = "environment variable holding the cluster secret")
    String secretEnv;

    /** A builder from the file of --config (or empty), with the cluster name and secret options applied. */
    NodeConfig.Builder builder() {
        NodeConfig.Builder b = config == null ? NodeConfig.builder()
                : NodeConfig.parse(readConfig(config), config.toString(), config.toAbsolutePath().getParent());
        if (cluster != null) {
            b.clusterName(cluster);
        }
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
        return b;
    }

    private static String readConfig(Path p) {
        try {
            return java.nio.file.Files.readString(p);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--config: cannot read " + p + ": " + e.getMessage());
        }
    }
}
