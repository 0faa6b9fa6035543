package org.kerrighed.scheduler;

import java.util.HashMap;
import java.util.Map;

/**
 * A configured scheduler: a policy of type {@code policy}, its parameters, what feeds each of its ports, and the
 * processes and nodes it applies to. {@code seq} orders schedulers by creation: placement asks the newest first.
 */
public record SchedulerSpec(String name, String policy, long seq, Map<String, String> params,
                            Map<String, PortLink> links, ProcessSet processes, NodeSet nodes) {
    public SchedulerSpec {
        Config.checkName(name, "scheduler");
        Config.checkName(policy, "policy type");
        params = Map.copyOf(params);
        links = Map.copyOf(links);
        if (processes == null || nodes == null) {
            throw new IllegalArgumentException("scheduler " + name + " needs a process set and a node set");
        }
    }

    /** This scheduler with port {@code port} fed by {@code link} (unlinked when null). */
    public SchedulerSpec withLink(String port, PortLink link) {
        Map<String, PortLink> l = new HashMap<>(links);
        if (link == null) {
            l.remove(port);
        } else {
            l.put(port, link);
        }
        return new SchedulerSpec(name, policy, seq, params, l, processes, nodes);
    }

    /** This scheduler with parameters {@code p}. */
    public SchedulerSpec withParams(Map<String, String> p) {
        return new SchedulerSpec(name, policy, seq, p, links, processes, nodes);
    }

    /** This scheduler for processes {@code ps} on nodes {@code ns}. */
    public SchedulerSpec withSets(ProcessSet ps, NodeSet ns) {
        return new SchedulerSpec(name, policy, seq, params, links, ps, ns);
    }
}
