package org.kerrighed.examples.sched;

import org.kerrighed.scheduler.Policy;
import org.kerrighed.scheduler.PolicyFactory;

/** Policy type {@code pack}: every node gets its own {@link PackPolicy}. */
public final class PackPolicyFactory implements PolicyFactory {
    @Override
    public String type() {
        return "pack";
    }

    @Override
    public String description() {
        return "packs processes onto the lowest nodes that have room, so that the others empty";
    }

    @Override
    public Policy create() {
        return new PackPolicy();
    }
}
