package org.kerrighed.scheduler;

import java.util.List;

/**
 * What feeds one port of a policy: a probe's source (named {@code PROBE/SOURCE}), through filters in order.
 */
public record PortLink(String probe, String source, List<FilterSpec> filters) {
    public PortLink {
        Config.checkName(probe, "probe");
        Config.checkName(source, "source");
        filters = List.copyOf(filters);
    }

    /** {@code PROBE/SOURCE}. */
    public String key() {
        return probe + "/" + source;
    }

    /** The filter of type {@code type}, or null. */
    public FilterSpec filter(String type) {
        for (FilterSpec f : filters) {
            if (f.type().equals(type)) {
                return f;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(key());
        for (FilterSpec f : filters) {
            b.append(" | ").append(f);
        }
        return b.toString();
    }
}
