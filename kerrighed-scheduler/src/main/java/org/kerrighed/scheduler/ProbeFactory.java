package org.kerrighed.scheduler;

import java.util.Map;

/**
 * Makes probes of one type: the service a plugin JAR lists in
 * {@code META-INF/services/org.kerrighed.scheduler.ProbeFactory}. Needs a public no-argument constructor.
 */
public interface ProbeFactory {
    /** The type name configurations use ({@code krg sched create probe NAME TYPE}); unique in the cluster. */
    String type();

    /** One line for {@code krg sched list}. */
    default String description() {
        return type();
    }

    /**
     * A new probe for one node, with the parameters of its configuration (changing one makes a new probe).
     *
     * @throws IllegalArgumentException on a bad parameter (the configuration change is refused)
     */
    Probe create(Map<String, String> params);
}
