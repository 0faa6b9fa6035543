package org.kerrighed.node.cli;

import org.kerrighed.node.SchedAdmin;
import org.kerrighed.node.SchedChange;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.scheduler.NodeReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.jar.JarFile;

/**
 * {@code krg sched}: the cluster-wide scheduler's configuration (probes, schedulers, the links between them,
 * plugins) and counters, through any node ({@link SchedAdmin}'s services). A change is checked here first (the
 * words, as {@link SchedChange} parses them), then by the node's scheduler; a refusal (an unknown type, port or
 * name, a name in use, a broken plugin) is a usage error (exit code 2) with the scheduler's message. After a change
 * the command prints the new configuration version and waits (10 s by default) until every node applied it; exit
 * code 1 when some node had not.
 */
@Command(name = "sched", mixinStandardHelpOptions = true,
        description = {"Configures the cluster-wide scheduler and shows what it does.",
                "Until a scheduler is configured nothing moves automatically and new processes are placed round"
                        + " robin; 'krg sched defaults' installs Kerrighed's (round-robin placement and the MOSIX-style"
                        + " balancer). Changes apply to every node, including nodes that join later."},
        subcommands = {SchedCommand.ListCmd.class, SchedCommand.Show.class, SchedCommand.Stats.class,
                SchedCommand.Create.class, SchedCommand.LinkCmd.class, SchedCommand.Unlink.class,
                SchedCommand.SetCmd.class, SchedCommand.Remove.class, SchedCommand.Load.class,
                SchedCommand.Unload.class, SchedCommand.Defaults.class, SchedCommand.Clear.class})
final class SchedCommand {
    private SchedCommand() {
    }

    static Duration callTimeout(ToolOptions tool) {
        return tool.nodeConfig().toRpcConfig(-1).defaultCallTimeout();
    }

    // ------------------------------------------------------------------ reading

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"Lists the schedulers, probes, plugins and component types.",
                    "The schedulers (policy, process and node sets, linked ports, parameters), the probes (type,"
                            + " period), the plugins (SHA-256, types, the nodes that hold the JAR) and the probe and"
                            + " policy types the node knows."})
    static final class ListCmd implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = "--json", description = "print the configuration and the types as JSON")
        boolean json;

        @Override
        public Integer call() {
            SchedAdmin.Info info;
            try (RpcClient c = tool.connect()) {
                info = SchedAdmin.info(c, false, callTimeout(tool));
            }
            if (json) {
                Map<String, Object> m = SchedText.configMap(info.config());
                m.put("types", info.types());
                System.out.println(Output.json(m));
            } else {
                System.out.print(SchedText.list(info.config(), info.node(), info.types()));
            }
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = {"Shows the whole graph of schedulers, ports, filters and probes.",
                    "Each scheduler with its policy, sets and parameters, and what feeds each of its ports"
                            + " (PROBE/SOURCE | filters); then the probes and plugins."})
    static final class Show implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = "--json", description = "print the configuration as JSON")
        boolean json;

        @Override
        public Integer call() {
            SchedAdmin.Info info;
            try (RpcClient c = tool.connect()) {
                info = SchedAdmin.info(c, false, callTimeout(tool));
            }
            System.out.print(json ? Output.json(SchedText.configMap(info.config())) + "\n" : info.config().describe());
            return 0;
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = {"Shows what the schedulers did on every node.",
                    "For every node and scheduler: the configuration version the node applied, the decisions,"
                            + " placements, migrations, failed moves and policy errors since the scheduler was made"
                            + " there, why it is disabled if it is, its last decision and the values its policy saw;"
                            + " then probes that do not run and plugins that did not load, with the reason."})
    static final class Stats implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = "--json", description = "print every node's report as JSON")
        boolean json;

        @Override
        public Integer call() {
            SchedAdmin.Info info;
            try (RpcClient c = tool.connect()) {
                info = SchedAdmin.info(c, true, callTimeout(tool));
            }
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("version", info.config().version());
                m.put("nodes", info.reports());
                System.out.println(Output.json(m));
            } else {
                System.out.println("configuration version " + info.config().version());
                System.out.print(SchedText.stats(info.reports()));
            }
            return 0;
        }
    }

    // ------------------------------------------------------------------ changes

    /** A change: checked here, applied by the node, then waited for on every node. */
    abstract static class Change implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "10",
                description = "wait at most SECONDS (0-600) for every node to apply the change; 0: do not wait"
                        + " (default 10)")
        int waitSeconds;

        @Option(names = "--json", description = "print the version and what each node applied as JSON")
        boolean json;

        /** The change's words, as {@link SchedChange#parse} takes them. */
        abstract List<String> words();

        @Override
        public Integer call() throws Exception {
            List<String> words = words();
            SchedChange.parse(words);                                 // bad words: exit 2 before connecting
            checkWait();
            try (RpcClient c = tool.connect()) {
                return report(c, SchedAdmin.change(c, words, callTimeout(tool)), null);
            }
        }

        void checkWait() {
            if (waitSeconds < 0 || waitSeconds > 600) {
                throw new IllegalArgumentException("--wait: must be in 0-600, got " + waitSeconds);
            }
        }

        /**
         * Prints the version, waits until every node applied it and says so; exit 1 (an exception) when some node
         * had not. {@code extra} goes into the JSON.
         */
        int report(RpcClient c, long version, Map<String, Object> extra) {
            Map<String, Object> m = new LinkedHashMap<>();
            if (extra != null) {
                m.putAll(extra);
            }
            m.put("version", version);
            if (!json) {
                System.out.println("configuration version " + version);
            }
            SchedAdmin.Applied a = null;
            if (waitSeconds > 0) {
                a = SchedAdmin.awaitApplied(c, version, Duration.ofSeconds(waitSeconds), callTimeout(tool));
                m.put("applied", a.all());
                m.put("nodes", a.versions());
                if (!json && a.all()) {
                    System.out.println("applied by every node (" + join(a.members()) + ")");
                }
            }
            if (json) {
                System.out.println(Output.json(m));
            }
            System.out.flush();
            if (a != null && !a.all()) {
                throw new KerrighedException("configuration version " + version + " written, but node"
                        + (a.behind().size() == 1 ? " " : "s ") + join(a.behind()) + " had not applied it after "
                        + waitSeconds + " s");
            }
            return 0;
        }
    }

    static String join(List<Integer> nodes) {
        return String.join(", ", nodes.stream().map(String::valueOf).toList());
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates a probe or a scheduler.",
            subcommands = {Create.Probe.class, Create.Scheduler.class})
    static final class Create {
        @Command(name = "probe", mixinStandardHelpOptions = true,
                description = {"Creates a probe on every node.",
                        "Probe NAME of type TYPE, sampled every period=MS (default 1000), with the type's parameters"
                                + " KEY=VALUE; with on_change=true its sources trigger decisions only when they change."
                                + " 'krg sched list' shows the types."})
        static final class Probe extends Change {
            @Parameters(index = "0", paramLabel = "NAME", description = "the probe's name")
            String name;

            @Parameters(index = "1", paramLabel = "TYPE", description = "a probe type (built in or a plugin's)")
            String type;

            @Parameters(index = "2..*", paramLabel = "KEY=VALUE",
                    description = "period=MS, on_change=true and the type's parameters")
            List<String> params = new ArrayList<>();

            @Override
            List<String> words() {
                List<String> w = new ArrayList<>(List.of("create", "probe", name, type));
                w.addAll(params);
                return w;
            }
        }

        @Command(name = "scheduler", mixinStandardHelpOptions = true,
                description = {"Creates a scheduler on every node.",
                        "Scheduler NAME runs a policy of type POLICY for the processes of processes=SET (all,"
                                + " pids:P,..., groups:G,..., sessions:S,...; default all) on the nodes of nodes=SET"
                                + " (all or N,N,...; default all), with the policy's parameters KEY=VALUE. Link its"
                                + " ports afterwards ('krg sched link')."})
        static final class Scheduler extends Change {
            @Parameters(index = "0", paramLabel = "NAME", description = "the scheduler's name")
            String name;

            @Parameters(index = "1", paramLabel = "POLICY", description = "a policy type (built in or a plugin's)")
            String policy;

            @Parameters(index = "2..*", paramLabel = "KEY=VALUE",
                    description = "processes=SET, nodes=SET and the policy's parameters")
            List<String> params = new ArrayList<>();

            @Override
            List<String> words() {
                List<String> w = new ArrayList<>(List.of("create", "scheduler", name, policy));
                w.addAll(params);
                return w;
            }
        }
    }

    @Command(name = "link", mixinStandardHelpOptions = true,
            description = {"Feeds a scheduler's port from a probe's source, through filters.",
                    "Feeds port PORT of scheduler SCHEDULER from source SOURCE of probe PROBE, through the filters in"
                            + " order (replacing what fed the port). Filters: threshold:threshold=N or N*PROBE/SOURCE;"
                            + " freq_limit[:min_interval=MS,last_event=PROBE/SOURCE]; remote_cache[:polling=MS]."})
    static final class LinkCmd extends Change {
        @Parameters(index = "0", paramLabel = "SCHEDULER.PORT", description = "the port to feed")
        String port;

        @Parameters(index = "1", paramLabel = "PROBE/SOURCE", description = "the probe source that feeds it")
        String source;

        @Parameters(index = "2..*", paramLabel = "FILTER[:KEY=VALUE,...]", description = "filters, in order")
        List<String> filters = new ArrayList<>();

        @Override
        List<String> words() {
            List<String> w = new ArrayList<>(List.of("link", port, source));
            w.addAll(filters);
            return w;
        }
    }

    @Command(name = "unlink", mixinStandardHelpOptions = true,
            description = "Removes what feeds port PORT of scheduler SCHEDULER.")
    static final class Unlink extends Change {
        @Parameters(index = "0", paramLabel = "SCHEDULER.PORT", description = "the port")
        String port;

        @Override
        List<String> words() {
            return List.of("unlink", port);
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = {"Sets parameters of a probe or a scheduler.",
                    "A probe: period=MS and its type's parameters (the probe is made again). A scheduler:"
                            + " processes=SET, nodes=SET and its policy's parameters (read at the policy's next"
                            + " call). An empty VALUE (KEY=) removes a parameter."})
    static final class SetCmd extends Change {
        @Parameters(index = "0", paramLabel = "NAME", description = "a probe or a scheduler")
        String name;

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "KEY=VALUE", description = "the parameters to set")
        List<String> params = new ArrayList<>();

        @Override
        List<String> words() {
            List<String> w = new ArrayList<>(List.of("set", name));
            w.addAll(params);
            return w;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = {"Removes a scheduler or a probe.",
                    "A probe that feeds a port is refused: unlink it first."})
    static final class Remove extends Change {
        @Parameters(index = "0", paramLabel = "NAME", description = "a scheduler or a probe")
        String name;

        @Override
        List<String> words() {
            return List.of("remove", name);
        }
    }

    @Command(name = "defaults", mixinStandardHelpOptions = true,
            description = {"Installs Kerrighed's default schedulers (round robin, MOSIX balancer).",
                    "Replaces probes and schedulers of the same names: rr (round_robin placement) and mosix"
                            + " (mosix_balancer, fed by probe mosix through a threshold and a frequency limit, and by"
                            + " the other nodes' loads), with probes mosix and migration."})
    static final class Defaults extends Change {
        @Override
        List<String> words() {
            return List.of("defaults");
        }
    }

    @Command(name = "clear", mixinStandardHelpOptions = true,
            description = {"Removes every scheduler and probe: nothing moves automatically.",
                    "Plugins stay loaded."})
    static final class Clear extends Change {
        @Override
        List<String> words() {
            return List.of("clear");
        }
    }

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = {"Loads a plugin JAR's probe and policy types on every node.",
                    "Sends JAR (a file on this machine) to the node, which checks it (its META-INF/services lists"
                            + " org.kerrighed.scheduler.PolicyFactory or ProbeFactory classes that load), stores it"
                            + " and records it; every node fetches it, checks its SHA-256 and loads it. A plugin of"
                            + " the same name is replaced: its probes and schedulers are made again from the new"
                            + " classes.",
                    "Exit code 1 when some node could not load it (the reason is printed)."})
    static final class Load extends Change {
        @Parameters(index = "0", paramLabel = "JAR", description = "the plugin JAR")
        Path jar;

        @Option(names = "--name", paramLabel = "NAME",
                description = "the plugin's name (default: the JAR's file name without .jar and a version suffix)")
        String name;

        @Override
        List<String> words() {
            return name == null ? List.of("load", jar.toString()) : List.of("load", jar.toString(), name);
        }

        @Override
        public Integer call() throws Exception {
            SchedChange.Load l = (SchedChange.Load) SchedChange.parse(words());
            checkWait();
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException("JAR: no such file: " + jar);
            }
            try (JarFile j = new JarFile(jar.toFile())) {
                j.entries().hasMoreElements();
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("JAR: " + jar + " is not a readable JAR file (" + e.getMessage()
                        + ")");
            }
            try (RpcClient c = tool.connect()) {
                SchedAdmin.Loaded loaded = SchedAdmin.load(c, jar, l.name(), callTimeout(tool));
                List<String> types = new ArrayList<>(loaded.plugin().probeTypes());
                types.addAll(loaded.plugin().policyTypes());
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("plugin", loaded.plugin().name());
                extra.put("sha256", loaded.plugin().sha256());
                extra.put("probeTypes", loaded.plugin().probeTypes());
                extra.put("policyTypes", loaded.plugin().policyTypes());
                if (!json) {
                    System.out.println("plugin " + loaded.plugin().name() + " (sha256 "
                            + loaded.plugin().sha256().substring(0, 12) + "): " + String.join(", ", types));
                }
                int code = report(c, loaded.version(), extra);
                if (waitSeconds > 0) {
                    checkLoaded(c, loaded.plugin().name());
                }
                return code;
            }
        }

        /** Fails (exit 1) naming each node that could not load plugin {@code plugin}, with its reason. */
        private void checkLoaded(RpcClient c, String plugin) {
            List<String> errors = new ArrayList<>();
            for (NodeReport r : SchedAdmin.info(c, true, callTimeout(tool)).reports()) {
                String why = r.pluginErrors().get(plugin);
                if (why != null) {
                    errors.add("node " + r.node() + " could not load plugin " + plugin + ": " + why);
                }
            }
            if (!errors.isEmpty()) {
                throw new KerrighedException(String.join("; ", errors));
            }
        }
    }

    @Command(name = "unload", mixinStandardHelpOptions = true,
            description = {"Unloads a plugin from every node.",
                    "Refused while a probe or scheduler uses one of its types."})
    static final class Unload extends Change {
        @Parameters(index = "0", paramLabel = "NAME", description = "the plugin")
        String name;

        @Override
        List<String> words() {
            return List.of("unload", name);
        }
    }
}
