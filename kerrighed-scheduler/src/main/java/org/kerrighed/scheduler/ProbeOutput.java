package org.kerrighed.scheduler;

import java.util.Map;

/** Where a {@link Probe} publishes: valid only during the {@code sample} call it was given to. */
public interface ProbeOutput {
    /** Publishes a number for the node (a load, bytes, a time in seconds). */
    void publish(String source, double value);

    /** Publishes one number per local process (pid to value), for example each process's load. */
    void publishPerProcess(String source, Map<Integer, Double> values);
}
