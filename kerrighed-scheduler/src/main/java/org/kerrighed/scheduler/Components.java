package org.kerrighed.scheduler;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;

/**
 * The probe and policy types a node knows: the built-in ones, and those of the plugins it loaded, each plugin on
 * its own class loader (closed when the plugin is replaced or unloaded). Thread-safe.
 *
 * <p>Built-in probes: {@code mosix} (see the docs' scheduler page), {@code load}, {@code cpu}, {@code mem},
 * {@code migration}. Built-in policies: {@code round_robin}, {@code mosix_balancer}.
 */
public final class Components implements AutoCloseable {
    private final Map<String, ProbeFactory> builtinProbes = new HashMap<>();
    private final Map<String, PolicyFactory> builtinPolicies = new HashMap<>();
    private final Map<String, Plugin> plugins = new HashMap<>();

    /** A plugin JAR opened on this node: its loader and the factories it provides. */
    public record Plugin(String name, String sha256, URLClassLoader loader, Map<String, ProbeFactory> probes,
                         Map<String, PolicyFactory> policies) implements AutoCloseable {
        @Override
        public void close() {
            try {
                loader.close();
            } catch (IOException e) {
                // the JAR stays open until the loader is collected: harmless
            }
        }
    }

    public Components() {
        builtinProbes.put("mosix", new BasicProbes.Factory("mosix",
                "MOSIX-style loads: mean_load, upper_load, current_load, single_process_load, process_load",
                MosixProbe::new));
        builtinProbes.put("load", new BasicProbes.Factory("load", "runnable and processes (counts)",
                BasicProbes::load));
        builtinProbes.put("cpu", new BasicProbes.Factory("cpu", "jvm_cpu (0-1 of the machine) and cpus",
                BasicProbes::cpu));
        builtinProbes.put("mem", new BasicProbes.Factory("mem", "heap_free, heap_used, heap_max (bytes)",
                BasicProbes::mem));
        builtinProbes.put("migration", new BasicProbes.Factory("migration",
                "last_migration (seconds on the node's clock)", BasicProbes::migration));
        builtinPolicies.put("round_robin", factory("round_robin", "places new processes on each node in turn",
                RoundRobinPolicy::new));
        PolicyFactory mosix = factory("mosix_balancer",
                "MOSIX-style load balancing by migration (Kerrighed's constants)", MosixBalancer::new);
        builtinPolicies.put("mosix_balancer", new PolicyFactory() {
            @Override
            public String type() {
                return mosix.type();
            }

            @Override
            public String description() {
                return mosix.description();
            }

            @Override
            public void checkParams(Map<String, String> params) {
                MosixBalancer.checkParams(params);
            }

            @Override
            public Policy create() {
                return mosix.create();
            }
        });
    }

    private static PolicyFactory factory(String type, String description, java.util.function.Supplier<Policy> make) {
        return new PolicyFactory() {
            @Override
            public String type() {
                return type;
            }

            @Override
            public String description() {
                return description;
            }

            @Override
            public Policy create() {
                return make.get();
            }
        };
    }

    /** The factory of probe type {@code type}, or null. */
    public synchronized ProbeFactory probe(String type) {
        ProbeFactory f = builtinProbes.get(type);
        if (f == null) {
            for (Plugin p : plugins.values()) {
                f = f != null ? f : p.probes().get(type);
            }
        }
        return f;
    }

    /** The factory of policy type {@code type}, or null. */
    public synchronized PolicyFactory policy(String type) {
        PolicyFactory f = builtinPolicies.get(type);
        if (f == null) {
            for (Plugin p : plugins.values()) {
                f = f != null ? f : p.policies().get(type);
            }
        }
        return f;
    }

    /** Where type {@code type} (probe or policy) comes from: {@link #BUILT_IN}, a plugin's name, or null if unknown. */
    public synchronized String owner(String type) {
        if (builtinProbes.containsKey(type) || builtinPolicies.containsKey(type)) {
            return BUILT_IN;
        }
        for (Plugin p : plugins.values()) {
            if (p.probes().containsKey(type) || p.policies().containsKey(type)) {
                return p.name();
            }
        }
        return null;
    }

    /** {@link #owner}'s answer for a built-in type. */
    public static final String BUILT_IN = "(built in)";

    /** Every type and its description, probes then policies, with where it comes from: for listings. */
    public synchronized List<String> describe() {
        List<String> out = new ArrayList<>();
        builtinProbes.forEach((t, f) -> out.add("probe  " + t + " (built in): " + f.description()));
        plugins.values().forEach(p -> p.probes().forEach((t, f) -> out.add("probe  " + t + " (plugin "
                + p.name() + "): " + describe(f::description))));
        builtinPolicies.forEach((t, f) -> out.add("policy " + t + " (built in): " + f.description()));
        plugins.values().forEach(p -> p.policies().forEach((t, f) -> out.add("policy " + t + " (plugin "
                + p.name() + "): " + describe(f::description))));
        out.sort(null);
        return out;
    }

    /** A plugin's description, or why there is none: a listing must not fail because of one plugin. */
    private static String describe(java.util.function.Supplier<String> description) {
        try {
            return String.valueOf(description.get());
        } catch (Throwable e) {
            return "(its description failed: " + e + ")";
        }
    }

    /** The SHA-256 of each loaded plugin, by name. */
    public synchronized Map<String, String> loaded() {
        Map<String, String> m = new HashMap<>();
        plugins.forEach((n, p) -> m.put(n, p.sha256()));
        return m;
    }

    /**
     * Opens plugin JAR {@code jar} on a class loader of its own and makes one instance of each {@link ProbeFactory}
     * and {@link PolicyFactory} it lists in {@code META-INF/services}. Does not install it.
     *
     * @throws IllegalArgumentException when the JAR cannot be opened, lists a class that is missing or cannot be
     *                                  made, lists none, or names a type twice; the loader is closed then
     */
    public static Plugin open(String name, String sha256, Path jar) {
        URLClassLoader loader;
        try {
            loader = new URLClassLoader("krg-sched-plugin-" + name, new URL[] {jar.toUri().toURL()},
                    Components.class.getClassLoader());
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("plugin " + name + ": bad JAR path " + jar, e);
        }
        try {
            Map<String, ProbeFactory> probes = providers(ProbeFactory.class, loader, name, ProbeFactory::type);
            Map<String, PolicyFactory> policies = providers(PolicyFactory.class, loader, name, PolicyFactory::type);
            if (probes.isEmpty() && policies.isEmpty()) {
                throw new IllegalArgumentException("plugin " + name + " refused: its JAR lists no "
                        + ProbeFactory.class.getName() + " nor " + PolicyFactory.class.getName()
                        + " in META-INF/services");
            }
            for (String t : probes.keySet()) {
                if (policies.containsKey(t)) {
                    throw new IllegalArgumentException("plugin " + name + " refused: it names type " + t + " twice");
                }
            }
            return new Plugin(name, sha256, loader, Map.copyOf(probes), Map.copyOf(policies));
        } catch (Throwable e) {
            try {
                loader.close();
            } catch (IOException ignored) {
                // nothing more to release
            }
            if (e instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("plugin " + name + " refused: " + e, e);
        }
    }

    private static <F> Map<String, F> providers(Class<F> service, ClassLoader loader, String plugin,
                                                java.util.function.Function<F, String> typeOf) {
        Map<String, F> out = new HashMap<>();
        try {
            for (ServiceLoader.Provider<F> p : ServiceLoader.load(service, loader).stream().toList()) {
                if (p.type().getClassLoader() != loader) {
                    continue;                                   // a provider of Kerrighed's own class path
                }
                F f = p.get();
                String type = Config.checkName(typeOf.apply(f), "type of " + p.type().getName());
                if (out.put(type, f) != null) {
                    throw new IllegalArgumentException("plugin " + plugin + " refused: two " + service.getSimpleName()
                            + "s name type " + type);
                }
            }
        } catch (ServiceConfigurationError e) {
            throw new IllegalArgumentException("plugin " + plugin + " refused: " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause() + ")"), e);
        }
        return out;
    }

    /**
     * Installs {@code p} in place of the plugin of the same name, which it returns (or null): the caller closes it
     * once nothing runs its code any more (after the engine made new instances of its types).
     *
     * @throws IllegalArgumentException when one of its types is built in or another plugin's; nothing changes
     */
    public synchronized Plugin install(Plugin p) {
        TreeSet<String> clash = new TreeSet<>();
        for (String t : types(p)) {
            if (builtinProbes.containsKey(t) || builtinPolicies.containsKey(t)) {
                clash.add(t + " (built in)");
            }
            plugins.values().stream().filter(o -> !o.name().equals(p.name()) && types(o).contains(t))
                    .forEach(o -> clash.add(t + " (plugin " + o.name() + ")"));
        }
        if (!clash.isEmpty()) {
            throw new IllegalArgumentException("plugin " + p.name() + " refused: its types exist already: "
                    + String.join(", ", clash));
        }
        Plugin old = plugins.put(p.name(), p);
        return old == p ? null : old;
    }

    /** The types plugin {@code p} provides. */
    public static java.util.Set<String> types(Plugin p) {
        java.util.Set<String> s = new java.util.HashSet<>(p.probes().keySet());
        s.addAll(p.policies().keySet());
        return s;
    }

    /** Unloads plugin {@code name} (closes its loader); no-op when absent. */
    public synchronized void remove(String name) {
        Plugin p = plugins.remove(name);
        if (p != null) {
            p.close();
        }
    }

    @Override
    public synchronized void close() {
        plugins.values().forEach(Plugin::close);
        plugins.clear();
    }
}
