package org.kerrighed.scheduler.sim;

/**
 * How a {@link Simulator} models its virtual cluster. Immutable; {@link #of} gives the defaults and the
 * {@code with} methods change one field.
 *
 * @param nodes                 virtual nodes, ids 0 to {@code nodes - 1}: 1 to 256 (node ids are 0-255, as on a real
 *                              cluster)
 * @param cpus                  processors of each node, shared by its runnable processes (default 1)
 * @param tickMillis            the step of the virtual clock (default 100, as a real node's scheduler thread): CPU is
 *                              shared, migrations land and poll answers arrive on tick boundaries
 * @param engineTickMillis      how often each node's engine is ticked: a multiple of {@code tickMillis}, or 0
 *                              (default) for the longest interval that changes nothing ({@link Simulator} says which)
 * @param migrationMillis       the least time a migration takes (default 50), during which the process runs nowhere
 * @param migrationJitterMillis the most time added to each migration, drawn uniformly (default 50)
 * @param pollLatencyTicks      ticks between a poll of another node's values and its answer (default 0: answered in
 *                              the tick it is asked in); the answer holds the values the polled node had when asked
 * @param startSpreadMillis     each node starts its scheduler at a tick drawn uniformly below this (default 1000), so
 *                              that the nodes' probes, polls and decisions are not in lock step; 0 starts all at once
 * @param heapMaxBytes          each node's heap limit, for {@link org.kerrighed.scheduler.NodeSample#heapMax()}
 *                              (default 1 GiB)
 * @param seed                  seeds every random draw: the same settings, configuration and processes give the same
 *                              run (default 1)
 */
public record SimSettings(int nodes, int cpus, long tickMillis, long engineTickMillis, long migrationMillis,
                          long migrationJitterMillis, int pollLatencyTicks, long startSpreadMillis,
                          long heapMaxBytes, long seed) {
    public SimSettings {
        check(nodes >= 1 && nodes <= 256, "nodes must be 1-256, not " + nodes);
        check(cpus >= 1, "cpus must be at least 1, not " + cpus);
        check(tickMillis >= 1 && 1000 % tickMillis == 0, "tickMillis must divide 1000, not " + tickMillis);
        check(engineTickMillis >= 0 && engineTickMillis % tickMillis == 0,
                "engineTickMillis must be 0 (auto) or a multiple of tickMillis, not " + engineTickMillis);
        check(migrationMillis >= 0 && migrationJitterMillis >= 0, "migration times cannot be negative");
        check(pollLatencyTicks >= 0, "pollLatencyTicks cannot be negative");
        check(startSpreadMillis >= 0, "startSpreadMillis cannot be negative");
        check(heapMaxBytes > 0, "heapMaxBytes must be positive");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The defaults for {@code nodes} nodes. */
    public static SimSettings of(int nodes) {
        return new SimSettings(nodes, 1, 100, 0, 50, 50, 0, 1000, 1L << 30, 1);
    }

    public SimSettings withCpus(int c) {
        return new SimSettings(nodes, c, tickMillis, engineTickMillis, migrationMillis,
                migrationJitterMillis, pollLatencyTicks, startSpreadMillis, heapMaxBytes, seed);
    }

    public SimSettings withTickMillis(long t) {
        return new SimSettings(nodes, cpus, t, engineTickMillis, migrationMillis,
                migrationJitterMillis, pollLatencyTicks, startSpreadMillis, heapMaxBytes, seed);
    }

    public SimSettings withEngineTickMillis(long t) {
        return new SimSettings(nodes, cpus, tickMillis, t, migrationMillis,
                migrationJitterMillis, pollLatencyTicks, startSpreadMillis, heapMaxBytes, seed);
    }

    public SimSettings withMigrationMillis(long least, long jitter) {
        return new SimSettings(nodes, cpus, tickMillis, engineTickMillis, least,
                jitter, pollLatencyTicks, startSpreadMillis, heapMaxBytes, seed);
    }

    public SimSettings withPollLatencyTicks(int ticks) {
        return new SimSettings(nodes, cpus, tickMillis, engineTickMillis, migrationMillis,
                migrationJitterMillis, ticks, startSpreadMillis, heapMaxBytes, seed);
    }

    public SimSettings withStartSpreadMillis(long spread) {
        return new SimSettings(nodes, cpus, tickMillis, engineTickMillis, migrationMillis,
                migrationJitterMillis, pollLatencyTicks, spread, heapMaxBytes, seed);
    }

    public SimSettings withHeapMaxBytes(long bytes) {
        return new SimSettings(nodes, cpus, tickMillis, engineTickMillis, migrationMillis,
                migrationJitterMillis, pollLatencyTicks, startSpreadMillis, bytes, seed);
    }

    public SimSettings withSeed(long s) {
        return new SimSettings(nodes, cpus, tickMillis, engineTickMillis, migrationMillis,
                migrationJitterMillis, pollLatencyTicks, startSpreadMillis, heapMaxBytes, s);
    }
}
