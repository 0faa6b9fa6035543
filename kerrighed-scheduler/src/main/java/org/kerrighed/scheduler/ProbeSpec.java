package org.kerrighed.scheduler;

import java.util.Map;

/**
 * A configured probe: every node runs one of type {@code type}, sampled every {@code periodMillis}. With
 * {@code onChange}, a source's number triggers the ports linked to it only when it differs from the one before
 * (Kerrighed's probes that publish on change); otherwise every sample does.
 */
public record ProbeSpec(String name, String type, long periodMillis, boolean onChange, Map<String, String> params) {
    public static final long DEFAULT_PERIOD_MILLIS = 1000;

    /** A probe that publishes every sample. */
    public ProbeSpec(String name, String type, long periodMillis, Map<String, String> params) {
        this(name, type, periodMillis, false, params);
    }

    public ProbeSpec {
        Config.checkName(name, "probe");
        Config.checkName(type, "probe type");
        Config.positiveMillis(Long.toString(periodMillis), "probe " + name + "'s period");
        params = Map.copyOf(params);
    }

    @Override
    public String toString() {
        return name + " (" + type + ", every " + periodMillis + " ms" + (onChange ? ", on change" : "")
                + (params.isEmpty() ? "" : ", "
                + Config.join(params, " ")) + ")";
    }
}
