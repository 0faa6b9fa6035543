package org.kerrighed.examples.sched;

import org.kerrighed.scheduler.NodeSample;
import org.kerrighed.scheduler.Probe;
import org.kerrighed.scheduler.ProbeOutput;

import java.util.Set;

/**
 * How many processes its node runs and how many it takes: source {@code used} is the node's runnable processes,
 * source {@code capacity} the probe's {@code slots} parameter, or the node's processors when it has none.
 */
public final class SlotsProbe implements Probe {
    private final int slots;                                   // 0: the node's processors

    SlotsProbe(int slots) {
        this.slots = slots;
    }

    @Override
    public Set<String> sources() {
        return Set.of("used", "capacity");
    }

    @Override
    public void sample(NodeSample node, ProbeOutput out) {
        out.publish("used", node.runnable());
        out.publish("capacity", slots > 0 ? slots : node.cpus());
    }
}
