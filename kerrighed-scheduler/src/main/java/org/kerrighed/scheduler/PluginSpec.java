package org.kerrighed.scheduler;

import java.util.List;

/**
 * A plugin JAR the cluster has loaded: its name, the SHA-256 of its bytes (how every node checks its copy), the
 * nodes that hold a copy to fetch from, and the probe and policy types it provides.
 */
public record PluginSpec(String name, String sha256, List<Integer> holders, List<String> probeTypes,
                         List<String> policyTypes, long loadedAtMillis) {
    public PluginSpec {
        Config.checkName(name, "plugin");
        holders = List.copyOf(holders);
        probeTypes = List.copyOf(probeTypes);
        policyTypes = List.copyOf(policyTypes);
    }

    /** True when it provides type {@code type}, probe or policy. */
    public boolean provides(String type) {
        return probeTypes.contains(type) || policyTypes.contains(type);
    }
}
