package org.kerrighed.scheduler;

import java.util.List;
import java.util.Map;

/**
 * One node's scheduler state: the configuration version it applied, each scheduler's counters, and what does not
 * run there and why.
 *
 * @param version        the configuration version the node applied
 * @param schedulers     each scheduler's counters on the node
 * @param probesDisabled probes that do not run on the node, with the reason
 * @param plugins        the plugins the node loaded (name to SHA-256)
 * @param pluginErrors   plugins of the configuration the node could not load, with the reason
 */
public record NodeReport(int node, long version, List<SchedulerStats> schedulers, Map<String, String> probesDisabled,
                         Map<String, String> plugins, Map<String, String> pluginErrors) {
    public NodeReport {
        schedulers = List.copyOf(schedulers);
        probesDisabled = Map.copyOf(probesDisabled);
        plugins = Map.copyOf(plugins);
        pluginErrors = Map.copyOf(pluginErrors);
    }
}
