package org.kerrighed.node;

import org.kerrighed.rpc.TypeRegistrar;

/**
 * The entry point for applications that embed Kerrighed:
 *
 * <pre>{@code
 * NodeConfig config = NodeConfig.load(Path.of("node.conf"));
 * try (Node node = Kerrighed.join(config, MyApp.TYPES)) {
 *     node.rpc().register(...);          // services reach the cluster through the node
 * }                                      // leaves the cluster gracefully
 * }</pre>
 */
public final class Kerrighed {
    private Kerrighed() {
    }

    /**
     * Starts a node and joins the cluster its configuration names (or starts a new cluster when it has no
     * seeds). Returns once the node is ONLINE in a view every member installed, and, when the configuration names
     * a scheduler file ({@code scheduler.config}), once the node applied it (or skipped it: the cluster has a
     * scheduler configuration already).
     *
     * @param types the application's message types; every node and tool of the cluster must pass the same
     * @throws org.kerrighed.rpc.KerrighedException when no seed answers or the node id is taken
     * @throws IllegalArgumentException             when the scheduler file cannot be read or has a bad line
     */
    public static Node join(NodeConfig config, TypeRegistrar... types) {
        return Node.start(config, types);
    }
}
