package org.kerrighed.node;

import org.kerrighed.epm.Applications;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.ConversationKey;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.scheduler.ClusterScheduler;
import org.kerrighed.scheduler.NodeReport;
import org.kerrighed.scheduler.PluginSpec;
import org.kerrighed.scheduler.SchedulerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The services behind {@code krg sched} (ids 921-924, types 2060-2069): a tool reads the cluster's scheduler
 * configuration and every node's report, changes the configuration (the words of a {@link SchedChange}, parsed
 * and applied by the node through its {@link ClusterScheduler}), waits until every node applied a version, and
 * ships a plugin JAR, which the node stores in its application cache and loads in the whole cluster.
 *
 * <p>A refusal by the scheduler (an unknown type, port or name, a name in use, a broken plugin) reaches the tool
 * as the {@link IllegalArgumentException} the node threw, with its message.
 */
public final class SchedAdmin {
    private static final Logger log = LoggerFactory.getLogger(SchedAdmin.class);

    /** Ask for the configuration and the component types, and with {@code reports} every node's report. */
    public record InfoRequest(boolean reports) {
    }

    /**
     * The cluster's scheduler configuration, the probe and policy types of the node asked (one line each, as
     * {@link ClusterScheduler#componentTypes()} gives them) and, when asked, every live node's report, by node.
     */
    public record Info(int node, SchedulerConfig config, List<String> types, List<NodeReport> reports) {
        public Info {
            types = new ArrayList<>(types);
            reports = new ArrayList<>(reports);
        }
    }

    /** Apply the change these words make ({@link SchedChange#parse}); {@code load} goes through {@link #LOAD}. */
    public record ChangeRequest(List<String> words) {
        public ChangeRequest {
            words = new ArrayList<>(words);
        }
    }

    /** Wait at most {@code waitMillis} (0-600000) until every live node applied configuration {@code version}. */
    public record AwaitRequest(long version, long waitMillis) {
        public AwaitRequest {
            if (waitMillis < 0 || waitMillis > 600_000) {
                throw new IllegalArgumentException("waitMillis: must be in 0-600000, got " + waitMillis);
            }
        }
    }

    /**
     * The version each node that answered had applied at the end of a wait for {@code version}, by node;
     * {@code members} are the live nodes then.
     */
    public record Applied(long version, Map<Integer, Long> versions, List<Integer> members) {
        public Applied {
            versions = new TreeMap<>(versions);
            members = new ArrayList<>(members);
        }

        /** The live nodes that had not applied {@code version} (or did not answer), sorted. */
        public List<Integer> behind() {
            return members.stream().filter(n -> versions.getOrDefault(n, -1L) < version).sorted().toList();
        }

        /** True when every live node applied {@code version} or a later one. */
        public boolean all() {
            return behind().isEmpty();
        }
    }

    /**
     * Load the plugin JAR of checksum {@code sha256} ({@code size} bytes) under {@code name}: the node asks for
     * the bytes ({@link AppLauncher.SendJar}) unless it holds them, then answers {@link Loaded}.
     */
    public record LoadRequest(String sha256, long size, String name) {
        public LoadRequest {
            Applications.checkId(sha256);
            if (size <= 0) {
                throw new IllegalArgumentException("size: a JAR has at least one byte, got " + size);
            }
        }
    }

    /** The plugin as the configuration records it, and the configuration version that holds it. */
    public record Loaded(PluginSpec plugin, long version) {
    }

    public static final ServiceKey<InfoRequest, Info> INFO = ServiceKey.of(921, "sched.info", InfoRequest.class,
            Info.class);
    /** Replies with the configuration version that holds the change. */
    public static final ServiceKey<ChangeRequest, Long> CHANGE = ServiceKey.of(922, "sched.change",
            ChangeRequest.class, Long.class);
    public static final ServiceKey<AwaitRequest, Applied> AWAIT = ServiceKey.of(923, "sched.await",
            AwaitRequest.class, Applied.class);
    public static final ConversationKey<LoadRequest> LOAD = ConversationKey.of(924, "sched.load", LoadRequest.class);

    private SchedAdmin() {
    }

    static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node.sched", 2060, 2069)
                .register(2060, InfoRequest.class)
                .register(2061, Info.class)
                .register(2062, ChangeRequest.class)
                .register(2063, AwaitRequest.class)
                .register(2064, Applied.class)
                .register(2065, LoadRequest.class)
                .register(2066, Loaded.class);
    }

    // ------------------------------------------------------------------ the node's side

    static void install(Node node, RpcNode rpc) {
        rpc.register(INFO, HandlerKind.BLOCKING, (ctx, r) -> {
            List<NodeReport> reports = new ArrayList<>(r.reports() ? node.scheduler().reports() : List.of());
            reports.sort(Comparator.comparingInt(NodeReport::node));
            return new Info(node.id(), node.scheduler().config(), node.scheduler().componentTypes(), reports);
        });
        rpc.register(CHANGE, HandlerKind.BLOCKING, (ctx, r) -> {
            SchedChange c = SchedChange.parse(r.words());
            if (c instanceof SchedChange.Load) {
                throw new IllegalArgumentException("load: a tool sends the JAR's bytes (" + LOAD.name() + ")");
            }
            long v = c.apply(node.scheduler());
            log.info("node {}: scheduler change by a tool: {} (configuration version {})", node.id(),
                    String.join(" ", r.words()), v);
            return v;
        });
        rpc.register(AWAIT, HandlerKind.BLOCKING, (ctx, r) -> awaitApplied(node, r));
        rpc.registerConversation(LOAD, (c, r) -> load(node, rpc, c, r));
    }

    private static Applied awaitApplied(Node node, AwaitRequest r) throws InterruptedException {
        ClusterScheduler s = node.scheduler();
        s.awaitApplied(r.version(), Duration.ofMillis(r.waitMillis()));
        Map<Integer, Long> versions = new TreeMap<>();
        for (NodeReport n : s.reports()) {
            versions.put(n.node(), n.version());
        }
        List<Integer> members = new ArrayList<>();
        for (int m : node.kddm().members()) {
            members.add(m);
        }
        return new Applied(r.version(), versions, members);
    }

    private static void load(Node node, RpcNode rpc, Conversation c, LoadRequest r) throws Exception {
        Applications apps = node.epm().applications();
        Duration timeout = rpc.config().defaultCallTimeout();
        if (!apps.has(r.sha256())) {
            c.send(new AppLauncher.SendJar(Math.min(AppLauncher.MAX_CHUNK, rpc.config().maxFrameBytes() / 4)), timeout);
            apps.install(new AppLauncher.Chunks(c, r.size(), timeout), r.sha256());
        }
        PluginSpec p = node.scheduler().loadPlugin(apps.jar(r.sha256()), r.name());
        long v = node.scheduler().config().version();
        log.info("node {}: scheduler plugin {} ({}) loaded by a tool (configuration version {})", node.id(), p.name(),
                p.sha256().substring(0, 12), v);
        c.send(new Loaded(p, v), timeout);
    }

    // ------------------------------------------------------------------ the tool's side

    /** The configuration, the node's component types and, with {@code reports}, every node's report. */
    public static Info info(RpcClient tool, boolean reports, Duration timeout) {
        return await(tool, INFO, new InfoRequest(reports), timeout);
    }

    /**
     * Has the node apply the change {@code words} make ({@link SchedChange}; not {@code load}, see {@link #load}).
     *
     * @return the configuration version that holds it
     * @throws IllegalArgumentException when the words are wrong or the scheduler refuses the change
     */
    public static long change(RpcClient tool, List<String> words, Duration timeout) {
        return await(tool, CHANGE, new ChangeRequest(words), timeout);
    }

    /** Waits at most {@code wait} until every live node applied {@code version}; says which did. */
    public static Applied awaitApplied(RpcClient tool, long version, Duration wait, Duration timeout) {
        return await(tool, AWAIT, new AwaitRequest(version, wait.toMillis()), timeout.plus(wait));
    }

    /**
     * Loads plugin JAR {@code jar} (a file of this tool's machine) in the whole cluster under {@code name}: sends its
     * bytes to the node unless the node holds them, and waits for the node to check and record it.
     *
     * @throws IllegalArgumentException when the file is not readable, or the scheduler refuses the plugin (the
     *                                  node's reason)
     * @throws KerrighedException       when the node did not answer in {@code timeout}
     */
    public static Loaded load(RpcClient tool, Path jar, String name, Duration timeout) throws InterruptedException {
        LoadRequest r;
        try {
            r = new LoadRequest(Applications.checksum(jar), Files.size(jar), name);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + jar + ": " + e.getMessage(), e);
        }
        try (Conversation c = tool.openConversation(LOAD, r)) {
            Object m = AppLauncher.next(c, timeout);
            if (m instanceof AppLauncher.SendJar s) {
                AppLauncher.send(c, jar, r.size(), s.maxChunkBytes(), timeout);
                m = AppLauncher.next(c, timeout);
            }
            if (!(m instanceof Loaded loaded)) {
                throw new KerrighedException("node " + tool.server() + " answered " + m + " instead of a loaded plugin");
            }
            return loaded;
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + tool.server() + " did not answer " + LOAD.name() + " in " + timeout);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot send " + jar + ": " + e.getMessage(), e);
        } catch (RemoteException e) {
            throw ProcessAdmin.local(e);
        }
    }

    private static <Q, R> R await(RpcClient tool, ServiceKey<Q, R> key, Q request, Duration timeout) {
        try {
            return tool.call(key, request, timeout).get(timeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while waiting for node " + tool.server() + " (" + key.name()
                    + ")");
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + tool.server() + " did not answer " + key.name() + " in " + timeout);
        } catch (ExecutionException e) {
            throw ProcessAdmin.local(e.getCause());
        }
    }
}
