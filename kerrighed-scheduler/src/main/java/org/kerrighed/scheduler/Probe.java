package org.kerrighed.scheduler;

import java.util.Set;

/**
 * A source of values on one node: the first stage of a scheduler (Kerrighed's probes). Every node runs its own
 * instance of each configured probe; the node's scheduler thread calls {@link #sample} once per period (the
 * probe's {@code period}, 1 s by default) and hands what it publishes to the ports linked to its sources, and to
 * other nodes that poll them.
 *
 * <p>Called on one thread at a time; must not block (it delays every scheduler of the node). An exception is
 * logged and counted; the probe is disabled on that node after three in a row. Probes of a plugin are made by its
 * {@link ProbeFactory}.
 */
public interface Probe {
    /** The names of the values it publishes (for example {@code mean_load}); fixed for its life. */
    Set<String> sources();

    /**
     * Samples the node and publishes its sources' values through {@code out} (a source it does not publish keeps
     * its last value).
     */
    void sample(NodeSample node, ProbeOutput out);
}
