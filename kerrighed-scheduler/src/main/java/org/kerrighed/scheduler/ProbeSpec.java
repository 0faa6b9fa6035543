package org.kerrighed.scheduler;

import java.util.Map;

/** A configured probe: every node runs one of type {@code type}, sampled every {@code periodMillis}. */
public record ProbeSpec(String name, String type, long periodMillis, Map<String, String> params) {
    public static final long DEFAULT_PERIOD_MILLIS = 1000;

    public ProbeSpec {
        Config.checkName(name, "probe");
        Config.checkName(type, "probe type");
        Config.positiveMillis(Long.toString(periodMillis), "probe " + name + "'s period");
        params = Map.copyOf(params);
    }

    @Override
    public String toString() {
        return name + " (" + type + ", every " + periodMillis + " ms" + (params.isEmpty() ? "" : ", "
                + Config.join(params, " ")) + ")";
    }
}
