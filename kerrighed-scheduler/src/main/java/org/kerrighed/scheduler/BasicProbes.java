package org.kerrighed.scheduler;

import java.util.Map;
import java.util.Set;

/** The small built-in probes: {@code load}, {@code cpu}, {@code mem} and {@code migration}. */
final class BasicProbes {
    private BasicProbes() {
    }

    /** {@code runnable} and {@code processes}: counts of the node's processes. */
    static Probe load() {
        return probe(Set.of("runnable", "processes"), (n, out) -> {
            out.publish("runnable", n.runnable());
            out.publish("processes", n.processes().size());
        });
    }

    /** {@code jvm_cpu} (0-1 of the machine, -1 unknown) and {@code cpus}. */
    static Probe cpu() {
        return probe(Set.of("jvm_cpu", "cpus"), (n, out) -> {
            out.publish("jvm_cpu", n.jvmCpu());
            out.publish("cpus", n.cpus());
        });
    }

    /** {@code heap_free}, {@code heap_used}, {@code heap_max}, in bytes. */
    static Probe mem() {
        return probe(Set.of("heap_free", "heap_used", "heap_max"), (n, out) -> {
            out.publish("heap_free", n.heapMax() - n.heapUsed());
            out.publish("heap_used", n.heapUsed());
            out.publish("heap_max", n.heapMax());
        });
    }

    /**
     * {@code last_migration}: when a process last moved to or from the node, in seconds on the node's clock (NaN if
     * none did), for the {@code freq_limit} filter's {@code last_event}.
     */
    static Probe migration() {
        return probe(Set.of("last_migration"), (n, out) -> out.publish("last_migration",
                n.lastMigration() == Long.MIN_VALUE ? Double.NaN : n.lastMigration() / 1e9));
    }

    private static Probe probe(Set<String> sources, java.util.function.BiConsumer<NodeSample, ProbeOutput> body) {
        return new Probe() {
            @Override
            public Set<String> sources() {
                return sources;
            }

            @Override
            public void sample(NodeSample node, ProbeOutput out) {
                body.accept(node, out);
            }
        };
    }

    /** A factory of probes without parameters. */
    record Factory(String type, String description, java.util.function.Supplier<Probe> make) implements ProbeFactory {
        @Override
        public Probe create(Map<String, String> params) {
            if (!params.isEmpty()) {
                throw new IllegalArgumentException("probe type " + type + " has no parameters, not "
                        + String.join(", ", params.keySet()));
            }
            return make.get();
        }
    }
}
