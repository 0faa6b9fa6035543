package org.kerrighed.scheduler;

import java.util.Map;
import java.util.Set;

/**
 * One filter between a probe source and a policy port (Kerrighed's filters), with its parameters:
 * <ul>
 *   <li>{@code threshold} ({@code threshold=N} or {@code threshold=N*PROBE/SOURCE}): a published number goes on
 *       only when it is at least the threshold (a multiple of another source's last value: Kerrighed's 1.5 times
 *       one process's load);</li>
 *   <li>{@code freq_limit} ({@code min_interval=MS}, default 2000; {@code last_event=PROBE/SOURCE}, a time in
 *       seconds such as {@code migration/last_migration}): a number goes on at most once per interval, and not
 *       within an interval of the last event;</li>
 *   <li>{@code remote_cache} ({@code polling=MS}, default 1000): the port also reads the source's value on the
 *       other nodes of the node set, polled in the background every period ({@link PolicyContext#remote}).</li>
 * </ul>
 * Filters gate what triggers a decision; reading a port ({@link PolicyContext#value}) always gives the last
 * published number.
 */
public record FilterSpec(String type, Map<String, String> params) {
    /** The filter types there are. */
    public static final Set<String> TYPES = Set.of("threshold", "freq_limit", "remote_cache");

    public FilterSpec {
        if (!TYPES.contains(type)) {
            throw new IllegalArgumentException("no filter type '" + type + "': threshold, freq_limit or remote_cache");
        }
        params = Map.copyOf(params);
        Set<String> allowed = switch (type) {
            case "threshold" -> Set.of("threshold");
            case "freq_limit" -> Set.of("min_interval", "last_event");
            default -> Set.of("polling");
        };
        for (String k : params.keySet()) {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("filter " + type + " has no parameter '" + k + "' (it has "
                        + String.join(", ", allowed) + ")");
            }
        }
        if (type.equals("threshold") && !params.containsKey("threshold")) {
            throw new IllegalArgumentException("filter threshold needs threshold=N or threshold=N*PROBE/SOURCE");
        }
        for (String k : Set.of("min_interval", "polling")) {
            if (params.containsKey(k)) {
                Config.positiveMillis(params.get(k), type + "." + k);
            }
        }
    }

    /**
     * Parses {@code TYPE} or {@code TYPE:k=v,k=v}.
     *
     * @throws IllegalArgumentException on a bad type or parameter
     */
    public static FilterSpec parse(String s) {
        int colon = s.indexOf(':');
        if (colon < 0) {
            return new FilterSpec(s, Map.of());
        }
        return new FilterSpec(s.substring(0, colon), Config.params(s.substring(colon + 1).split(","), "filter " + s));
    }

    @Override
    public String toString() {
        return params.isEmpty() ? type : type + ":" + Config.join(params, ",");
    }
}
