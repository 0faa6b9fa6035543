package org.kerrighed.examples.sched;

import org.kerrighed.scheduler.Probe;
import org.kerrighed.scheduler.ProbeFactory;

import java.util.Map;

/** Probe type {@code slots}: one parameter, {@code slots} (a whole number of processes, at least 1). */
public final class SlotsProbeFactory implements ProbeFactory {
    @Override
    public String type() {
        return "slots";
    }

    @Override
    public String description() {
        return "used (runnable processes) and capacity (parameter slots, or the node's processors)";
    }

    @Override
    public Probe create(Map<String, String> params) {
        for (String name : params.keySet()) {
            if (!name.equals("slots")) {
                throw new IllegalArgumentException("probe type slots has one parameter, slots, not '" + name + "'");
            }
        }
        String slots = params.get("slots");
        if (slots == null) {
            return new SlotsProbe(0);
        }
        try {
            int n = Integer.parseInt(slots);
            if (n >= 1) {
                return new SlotsProbe(n);
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new IllegalArgumentException("slots must be a whole number of processes, at least 1, not '" + slots + "'");
    }
}
