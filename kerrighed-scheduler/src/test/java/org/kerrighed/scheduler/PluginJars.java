package org.kerrighed.scheduler;

import org.kerrighed.epm.testing.TestJars;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Scheduler plugin JARs built at test time from the sources below (compiled against the test class path, packed
 * in a JAR and nowhere else, so their classes are reachable only through a plugin's own loader).
 */
final class PluginJars {
    static final String POLICY_SERVICES = "META-INF/services/" + PolicyFactory.class.getName();
    static final String PROBE_SERVICES = "META-INF/services/" + ProbeFactory.class.getName();

    private PluginJars() {
    }

    /** A JAR of {@code sources} (class name to source) and {@code resources} (path to text). */
    static Path build(Path dir, String name, Map<String, String> sources, Map<String, String> resources)
            throws IOException {
        return TestJars.build(dir.resolve(name + ".jar"), sources, resources);
    }

    /** A plugin of one policy type {@code type} that never decides anything. */
    static Path idle(Path dir, String name, String type) throws IOException {
        String factory = "plugin." + name.replace('-', '_') + ".Factory";
        String src = """
                package plugin.PKG;

                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyFactory;

                public final class Factory implements PolicyFactory {
                    public String type() { return "TYPE"; }
                    public Policy create() { return () -> java.util.Set.of(); }
                }
                """.replace("PKG", name.replace('-', '_')).replace("TYPE", type);
        return build(dir, name, Map.of(factory, src), Map.of(POLICY_SERVICES, factory + "\n"));
    }

    /**
     * Plugin {@code flaky}: policy type {@code flaky}, which throws in the callback its parameter {@code fail} names
     * ({@code place} or {@code decide}) the kind of error its parameter {@code error} names ({@code runtime},
     * {@code stack}: a StackOverflowError, {@code checked}: an IOException thrown past the compiler); and probe type
     * {@code flaky_probe} (source {@code value}), whose {@code sample} throws.
     */
    static Path flaky(Path dir) throws IOException {
        Map<String, String> src = new HashMap<>();
        src.put("plugin.flaky.FlakyPolicy", """
                package plugin.flaky;

                import org.kerrighed.scheduler.Move;
                import org.kerrighed.scheduler.NewProcess;
                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyContext;
                import java.util.List;
                import java.util.Set;

                public final class FlakyPolicy implements Policy {
                    public Set<String> ports() { return Set.of("tick"); }

                    public int place(NewProcess p, PolicyContext ctx) {
                        fail("place", ctx);
                        return NO_CHOICE;
                    }

                    public List<Move> decide(String port, PolicyContext ctx) {
                        fail("decide", ctx);
                        return List.of();
                    }

                    private static void fail(String call, PolicyContext ctx) {
                        if (ctx.param("fail", "").equals(call)) {
                            switch (ctx.param("error", "runtime")) {
                                case "stack" -> throw new StackOverflowError("flaky " + call);
                                case "checked" -> FlakyPolicy.<RuntimeException>sneaky(
                                        new java.io.IOException("flaky " + call));
                                default -> throw new IllegalStateException("flaky " + call);
                            }
                        }
                    }

                    @SuppressWarnings("unchecked")
                    private static <E extends Throwable> void sneaky(Throwable e) throws E {
                        throw (E) e;
                    }
                }
                """);
        src.put("plugin.flaky.FlakyFactory", """
                package plugin.flaky;

                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyFactory;

                public final class FlakyFactory implements PolicyFactory {
                    public String type() { return "flaky"; }
                    public Policy create() { return new FlakyPolicy(); }
                }
                """);
        src.put("plugin.flaky.FlakyProbeFactory", """
                package plugin.flaky;

                import org.kerrighed.scheduler.NodeSample;
                import org.kerrighed.scheduler.Probe;
                import org.kerrighed.scheduler.ProbeFactory;
                import org.kerrighed.scheduler.ProbeOutput;
                import java.util.Map;
                import java.util.Set;

                public final class FlakyProbeFactory implements ProbeFactory {
                    public String type() { return "flaky_probe"; }

                    public Probe create(Map<String, String> params) {
                        return new Probe() {
                            public Set<String> sources() { return Set.of("value"); }
                            public void sample(NodeSample node, ProbeOutput out) {
                                throw new IllegalStateException("flaky sample");
                            }
                        };
                    }
                }
                """);
        return build(dir, "flaky", src, Map.of(POLICY_SERVICES, "plugin.flaky.FlakyFactory\n",
                PROBE_SERVICES, "plugin.flaky.FlakyProbeFactory\n"));
    }

    /**
     * Version {@code version} of plugin {@code versioned}: policy type {@code versioned}, which places every new
     * process on the node at index {@code version} of its node set (the last when there are fewer), and at each
     * decision moves its lowest movable process {@code version} nodes further along its node set. Its factory
     * records its class loader in {@link PluginTrace} under {@code versioned-v<version>}; the JAR holds resource
     * {@code versioned.txt}.
     */
    static Path versioned(Path dir, int version) throws IOException {
        String policy = """
                package plugin.versioned;

                import org.kerrighed.scheduler.Move;
                import org.kerrighed.scheduler.NewProcess;
                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyContext;
                import org.kerrighed.scheduler.ProcessSample;
                import java.util.Comparator;
                import java.util.List;
                import java.util.Set;

                public final class VersionedPolicy implements Policy {
                    static final int VERSION = NUMBER;

                    public Set<String> ports() { return Set.of("tick"); }

                    public int place(NewProcess p, PolicyContext ctx) {
                        int[] nodes = ctx.nodes();
                        return nodes[Math.min(VERSION, nodes.length - 1)];
                    }

                    public List<Move> decide(String port, PolicyContext ctx) {
                        int[] nodes = ctx.nodes();
                        int self = java.util.Arrays.binarySearch(nodes, ctx.node());
                        if (self < 0) {
                            return List.of();
                        }
                        return ctx.movable().stream().min(Comparator.comparingInt(ProcessSample::pid))
                                .map(p -> List.of(new Move(p.pid(), nodes[(self + VERSION) % nodes.length])))
                                .orElse(List.of());
                    }
                }
                """.replace("NUMBER", Integer.toString(version));
        String factory = """
                package plugin.versioned;

                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyFactory;

                public final class VersionedFactory implements PolicyFactory {
                    public VersionedFactory() {
                        org.kerrighed.scheduler.PluginTrace.made("versioned-v" + VersionedPolicy.VERSION,
                                getClass().getClassLoader());
                    }

                    public String type() { return "versioned"; }
                    public String description() { return "version " + VersionedPolicy.VERSION; }
                    public Policy create() { return new VersionedPolicy(); }
                }
                """;
        return build(dir, "versioned-v" + version, Map.of("plugin.versioned.VersionedPolicy", policy,
                "plugin.versioned.VersionedFactory", factory), Map.of(POLICY_SERVICES,
                "plugin.versioned.VersionedFactory\n", "versioned.txt", Integer.toString(version)));
    }
}
