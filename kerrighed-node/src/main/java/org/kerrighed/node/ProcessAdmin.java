package org.kerrighed.node;

import org.kerrighed.epm.ProcessErrors;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.CapabilityException;
import org.kerrighed.epm.CapabilityInUseException;
import org.kerrighed.epm.CheckpointOptions;
import org.kerrighed.epm.CheckpointReport;
import org.kerrighed.epm.Epm;
import org.kerrighed.epm.GhostException;
import org.kerrighed.epm.MigrationException;
import org.kerrighed.epm.MigrationReport;
import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.NodeLoad;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.RestartOptions;
import org.kerrighed.epm.Restarted;
import org.kerrighed.epm.Signal;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The services process tools use ({@code krg ps}, {@code top}, {@code kill}, {@code capset}, {@code migrate},
 * {@code checkpoint}, {@code restart}; service ids 910-917, types 2020-2049): the cluster's processes, one process's
 * status, signals to a process or a process group, capability changes, the nodes' loads, moving a process to another
 * node, and checkpointing an application to the node's file system and restarting it from there. The node that
 * serves a tool acts for itself: the node's credentials
 * ({@code node.uid}, {@code node.gid}) and every capability, as any caller that is not a process
 * ({@link Epm}). Installed on every node with {@link NodeAdmin}'s services.
 *
 * <p>The client methods here wait at most the given timeout plus 5 s and turn a node's refusal back into the
 * exception its process layer threw: {@link NoSuchProcessException}, {@link PermissionDeniedException} (and its
 * {@link CapabilityException}), {@link CapabilityInUseException}, {@link MigrationException},
 * {@link GhostException}, {@link IllegalArgumentException} (a bad request); anything else is a
 * {@link KerrighedException} (with the node's message).
 */
public final class ProcessAdmin {
    /** List the processes (and zombies) running on {@code node}, or on every node when it is -1. */
    public record PsRequest(int node) {
    }

    /** Processes sorted by pid. */
    public record ProcessList(List<ProcessInfo> processes) {
        public ProcessList {
            processes = new ArrayList<>(processes);
        }
    }

    /** One process's status; {@code process} is null when no live process or zombie has the pid. */
    public record StatusReply(ProcessInfo process) {
    }

    /** Send {@code signal} to process {@code target}, or to process group {@code target} when {@code group}. */
    public record KillRequest(int target, boolean group, Signal signal) {
        public KillRequest {
            if (target <= 0) {
                throw new IllegalArgumentException("target: a pid or a process group id is > 0, got " + target);
            }
            if (signal == null) {
                throw new IllegalArgumentException("signal: required");
            }
        }
    }

    /**
     * Edit process {@code pid}'s capability sets: each spec (null: unchanged) is applied to the set's current mask
     * with {@link Capabilities#edit}. Dropping {@code CHANGE_KERRIGHED_CAP} from the effective set needs
     * {@code force} (the process could not change its own capabilities again).
     */
    public record CapsetRequest(int pid, String effective, String permitted, String inheritableEffective,
                                String inheritablePermitted, boolean force) {
    }

    /** The sets before and after a change (after: what the process layer put in force). */
    public record CapsetReply(int pid, Capabilities before, Capabilities after) {
    }

    /** Every live node's load by node id, and the cluster's aggregate of those same figures (node -1). */
    public record Loads(List<NodeLoad> nodes, NodeLoad cluster) {
        public Loads {
            nodes = new ArrayList<>(nodes);
        }
    }

    /** Move process {@code pid} to node {@code node}. */
    public record MigrateRequest(int pid, int node) {
        public MigrateRequest {
            if (pid <= 1) {
                throw new IllegalArgumentException("pid: a process id is greater than 1, got " + pid);
            }
            if (node < 0 || node > 255) {
                throw new IllegalArgumentException("node: must be 0-255, got " + node);
            }
        }
    }

    /**
     * Checkpoint the application rooted at process {@code pid} ({@link Epm#checkpoint}) under {@code directory}, an
     * absolute path on the serving node's file system (null: the node's {@link Epm#checkpointDirectory()}).
     */
    public record CheckpointRequest(int pid, String directory, boolean kill, boolean refuseShared,
                                    String description) {
        public CheckpointRequest {
            if (pid <= 1) {
                throw new IllegalArgumentException("pid: a process id is greater than 1, got " + pid);
            }
            if (directory != null && !Path.of(directory).isAbsolute()) {
                throw new IllegalArgumentException("directory: an absolute path on the node, got " + directory);
            }
        }
    }

    /** A {@link CheckpointReport} as it crosses the wire: the directory as a string (a path on the serving node). */
    public record CheckpointDone(int app, int version, String directory, List<Integer> pids, List<Integer> nodes,
                                 long bytes, double freeze, double write, double total, List<String> leftOut) {
        public CheckpointDone {
            pids = new ArrayList<>(pids);
            nodes = new ArrayList<>(nodes);
            leftOut = new ArrayList<>(leftOut);
        }

        static CheckpointDone of(CheckpointReport r) {
            return new CheckpointDone(r.app(), r.version(), r.directory().toString(), r.pids(), r.nodes(), r.bytes(),
                    r.freeze(), r.write(), r.total(), r.leftOut());
        }

        CheckpointReport report() {
            return new CheckpointReport(app, version, Path.of(directory), pids, nodes, bytes, freeze, write, total,
                    leftOut);
        }
    }

    /**
     * Restart from {@code directory}, an absolute path on the serving node's file system: a checkpoint version
     * directory ({@code .../APP/vN}), or an application's directory ({@code .../APP}) for its newest version. The
     * processes run on {@code nodes} (empty: any live node); {@code newPids} as {@link RestartOptions#newPids()}.
     */
    public record RestartRequest(String directory, List<Integer> nodes, boolean newPids) {
        public RestartRequest {
            if (directory == null || !Path.of(directory).isAbsolute()) {
                throw new IllegalArgumentException("directory: an absolute path on the node, got " + directory);
            }
            nodes = new ArrayList<>(nodes);
            for (int n : nodes) {
                if (n < 0 || n > 255) {
                    throw new IllegalArgumentException("nodes: a node id is 0-255, got " + n);
                }
            }
        }
    }

    /**
     * An application restarted by node {@code node} from its version directory {@code directory}: its root process
     * {@code root}, a child of INIT on {@code node}, runs on {@code rootNode}; {@code pids} maps each saved process's
     * old pid to its pid now, {@code nodes} each pid now to the node it runs on.
     */
    public record RestartDone(int app, String directory, int node, int root, int rootNode, Map<Integer, Integer> pids,
                              Map<Integer, Integer> nodes) {
        public RestartDone {
            pids = new TreeMap<>(pids);
            nodes = new TreeMap<>(nodes);
        }
    }

    public static final ServiceKey<PsRequest, ProcessList> PS = ServiceKey.of(910, "process.ps", PsRequest.class,
            ProcessList.class);
    public static final ServiceKey<Integer, StatusReply> STATUS = ServiceKey.of(911, "process.status", Integer.class,
            StatusReply.class);
    /** Replies with how many processes the signal reached. */
    public static final ServiceKey<KillRequest, Integer> KILL = ServiceKey.of(912, "process.kill", KillRequest.class,
            Integer.class);
    public static final ServiceKey<CapsetRequest, CapsetReply> CAPSET = ServiceKey.of(913, "process.capset",
            CapsetRequest.class, CapsetReply.class);
    public static final ServiceKey<Integer, Loads> LOADS = ServiceKey.of(914, "process.loads", Integer.class,
            Loads.class);
    /** Replies once the process runs on the target node; see {@link #migrate(RpcClient, int, int, Duration)}. */
    public static final ServiceKey<MigrateRequest, MigrationReport> MIGRATE = ServiceKey.of(915, "process.migrate",
            MigrateRequest.class, MigrationReport.class);
    /** Replies once the checkpoint is written; see {@link #checkpoint(RpcClient, CheckpointRequest, Duration)}. */
    public static final ServiceKey<CheckpointRequest, CheckpointDone> CHECKPOINT = ServiceKey.of(916,
            "process.checkpoint", CheckpointRequest.class, CheckpointDone.class);
    /** Replies once every process is restarted; see {@link #restart(RpcClient, RestartRequest, Duration)}. */
    public static final ServiceKey<RestartRequest, RestartDone> RESTART = ServiceKey.of(917, "process.restart",
            RestartRequest.class, RestartDone.class);

    private ProcessAdmin() {
    }

    /** The types of these services (2020-2049; the process layer's own types are {@link Epm#types()}). */
    static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node.processes", 2020, 2049)
                .register(2020, PsRequest.class)
                .register(2021, ProcessList.class)
                .register(2022, StatusReply.class)
                .register(2023, KillRequest.class)
                .register(2024, CapsetRequest.class)
                .register(2025, CapsetReply.class)
                .register(2026, Loads.class)
                .register(2027, MigrateRequest.class)
                .register(2028, CheckpointRequest.class)
                .register(2029, CheckpointDone.class)
                .register(2030, RestartRequest.class)
                .register(2031, RestartDone.class);
    }

    static void install(Node node, RpcNode rpc) {
        rpc.register(PS, HandlerKind.BLOCKING, (ctx, r) -> ps(node.epm(), node, r.node()));
        rpc.register(STATUS, HandlerKind.BLOCKING, (ctx, pid) -> new StatusReply(node.epm().status(pid).orElse(null)));
        rpc.register(KILL, HandlerKind.BLOCKING, (ctx, k) -> {
            if (k.group()) {
                return node.epm().killGroup(k.target(), k.signal());
            }
            node.epm().kill(k.target(), k.signal());
            return 1;
        });
        rpc.register(CAPSET, HandlerKind.BLOCKING, (ctx, c) -> capset(node.epm(), c));
        rpc.register(LOADS, HandlerKind.BLOCKING, (ctx, ignored) -> {
            List<NodeLoad> all = new ArrayList<>(node.epm().loads());
            all.sort(java.util.Comparator.comparingInt(NodeLoad::node));
            return new Loads(all, NodeLoad.aggregate(all));
        });
        rpc.register(MIGRATE, HandlerKind.BLOCKING, (ctx, m) -> {
            if (!node.kddm().isMember(m.node())) {
                throw new IllegalArgumentException("no live node " + m.node() + " in the cluster");
            }
            return node.epm().migrate(m.pid(), m.node());
        });
        rpc.register(CHECKPOINT, HandlerKind.BLOCKING, (ctx, c) -> checkpoint(node, c));
        rpc.register(RESTART, HandlerKind.BLOCKING, (ctx, r) -> restart(node, r));
    }

    private static ProcessList ps(Epm epm, Node node, int only) {
        if (only >= 0 && !node.kddm().isMember(only)) {
            throw new IllegalArgumentException("no live node " + only + " in the cluster");
        }
        List<ProcessInfo> out = new ArrayList<>();
        for (ProcessInfo p : epm.ps()) {
            if (only < 0 || p.node() == only) {
                out.add(p);
            }
        }
        return new ProcessList(out);
    }

    /**
     * Reads the process's sets, applies the edits, and asks the process layer for the result. Not atomic: a change
     * made by someone else between the read and the write is overwritten.
     */
    static CapsetReply capset(Epm epm, CapsetRequest c) {
        ProcessInfo p = epm.status(c.pid()).orElseThrow(() -> new NoSuchProcessException("no live process " + c.pid()));
        if (p.exit() != null) {
            throw new NoSuchProcessException("process " + c.pid() + " has exited (" + p.exit() + ")");
        }
        Capabilities before = p.capabilities();
        Capabilities requested = before;
        String[] specs = {c.effective(), c.permitted(), c.inheritableEffective(), c.inheritablePermitted()};
        Capabilities.Kind[] kinds = Capabilities.Kind.values();
        boolean any = false;
        for (int i = 0; i < specs.length; i++) {
            if (specs[i] != null) {
                requested = requested.with(kinds[i], Capabilities.edit(before.mask(kinds[i]), specs[i]));
                any = true;
            }
        }
        if (!any) {
            throw new IllegalArgumentException("no capability set to change");
        }
        boolean dropsChange = before.has(Capability.CHANGE_KERRIGHED_CAP)
                && !requested.has(Capability.CHANGE_KERRIGHED_CAP);
        if (dropsChange && !c.force()) {
            throw new IllegalArgumentException("dropping CHANGE_KERRIGHED_CAP from the effective set of process "
                    + c.pid() + " leaves it unable to change its capabilities again: refused without force"
                    + " (krg capset --force)");
        }
        return new CapsetReply(c.pid(), before, epm.setCapabilities(c.pid(), requested));
    }

    /** Checkpoints as the request asks (with {@code kill}, it returns once the application's processes are gone). */
    static CheckpointDone checkpoint(Node node, CheckpointRequest c) {
        CheckpointOptions o = CheckpointOptions.defaults().describedAs(c.description());
        if (c.directory() != null) {
            o = o.inDirectory(Path.of(c.directory()));
        }
        if (c.kill()) {
            o = o.thenKill();
        }
        if (c.refuseShared()) {
            o = o.refusingShared();
        }
        return CheckpointDone.of(node.epm().checkpoint(c.pid(), o));
    }

    /**
     * Restarts from the request's directory on this node; the root becomes a child of INIT here (the handler is
     * not a process), reaped when it ends.
     */
    static RestartDone restart(Node node, RestartRequest r) {
        for (int n : r.nodes()) {
            if (!node.kddm().isMember(n)) {
                throw new IllegalArgumentException("no live node " + n + " in the cluster");
            }
        }
        Path version = versionDirectory(node, Path.of(r.directory()));
        RestartOptions o = RestartOptions.defaults().onNodes(r.nodes());
        if (r.newPids()) {
            o = o.takingNewPids();
        }
        Restarted again = node.epm().restart(version, o);
        int app = again.pids().entrySet().stream().filter(e -> e.getValue() == again.root().pid())
                .mapToInt(Map.Entry::getKey).findFirst().orElseThrow();
        return new RestartDone(app, version.toString(), node.id(), again.root().pid(), again.root().node(), again.pids(),
                again.nodes());
    }

    /**
     * The newest complete version under {@code dir} when it is an application's directory (its name is the
     * application's id: {@link Epm#latestCheckpoint}), else {@code dir} itself: whether that is a complete
     * checkpoint is for the restart to check.
     *
     * @throws IllegalArgumentException when {@code dir} is not a directory on this node
     */
    static Path versionDirectory(Node node, Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("no directory " + dir + " on node " + node.id());
        }
        String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
        if (!name.matches("[1-9]\\d{0,9}") || Long.parseLong(name) > Integer.MAX_VALUE || dir.getParent() == null) {
            return dir;
        }
        return node.epm().latestCheckpoint(dir.getParent(), Integer.parseInt(name)).orElse(dir);
    }

    // ------------------------------------------------------------------ client side

    /** The processes of node {@code node} (-1: of the cluster), sorted by pid. */
    public static List<ProcessInfo> ps(RpcClient tool, int node, Duration timeout) {
        return await(tool, PS, new PsRequest(node), timeout).processes();
    }

    /** Process {@code pid}'s status, or null when no live process or zombie has this pid. */
    public static ProcessInfo status(RpcClient tool, int pid, Duration timeout) {
        return await(tool, STATUS, pid, timeout).process();
    }

    /** Signals process {@code pid} (or group {@code pid} when {@code group}); returns how many processes it reached. */
    public static int kill(RpcClient tool, int pid, boolean group, Signal signal, Duration timeout) {
        return await(tool, KILL, new KillRequest(pid, group, signal), timeout);
    }

    /** Applies {@code request}; see {@link CapsetRequest}. */
    public static CapsetReply capset(RpcClient tool, CapsetRequest request, Duration timeout) {
        return await(tool, CAPSET, request, timeout);
    }

    /**
     * Moves process {@code pid} to node {@code node} ({@link Epm#migrate}) and returns how the move went. The node
     * bounds the move itself (the process's safe point, then each phase, by its call timeout); {@code timeout}
     * should cover that: a tool that stops waiting does not stop the move.
     *
     * @throws IllegalArgumentException when {@code node} is not a live member of the cluster
     * @throws MigrationException       when the process was not moved (it goes on where it was)
     * @throws CapabilityException      when the process lacks {@code CAN_MIGRATE}
     */
    public static MigrationReport migrate(RpcClient tool, int pid, int node, Duration timeout) {
        return await(tool, MIGRATE, new MigrateRequest(pid, node), timeout);
    }

    /**
     * Checkpoints an application as {@link Epm#checkpoint} does, acting for the node the tool talks to, which
     * writes the files; returns the report (its directory is a path on that node). With {@code kill}, returns once
     * its processes have ended (or after the node's call timeout). The node bounds the freeze (by its call timeout
     * per process); {@code timeout} should cover it and the writing.
     *
     * @throws NoSuchProcessException    when no live process has the pid
     * @throws CapabilityException       when a process of the application lacks {@code CHECKPOINTABLE}
     * @throws PermissionDeniedException when the node's credentials may not checkpoint it
     * @throws KerrighedException        when it was not checkpointed (a process could not be frozen, a file not
     *                                   written, a shared object refused): the application goes on
     */
    public static CheckpointReport checkpoint(RpcClient tool, CheckpointRequest request, Duration timeout) {
        return await(tool, CHECKPOINT, request, timeout).report();
    }

    /**
     * Restarts an application from a checkpoint on the file system of the node the tool talks to
     * ({@link Epm#restart}); its root becomes a child of INIT on that node.
     *
     * @throws IllegalArgumentException when the directory is not one on the node, or a node asked for is not live
     * @throws GhostException           when the checkpoint is not one, or is corrupted, truncated or incompatible
     *                                  (nothing started)
     * @throws KerrighedException       when a pid is in use and new pids were not asked for, or a node failed
     *                                  (nothing started)
     */
    public static RestartDone restart(RpcClient tool, RestartRequest request, Duration timeout) {
        return await(tool, RESTART, request, timeout);
    }

    public static Loads loads(RpcClient tool, Duration timeout) {
        return await(tool, LOADS, 0, timeout);
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
            throw local(e.getCause());
        }
    }

    /**
     * The exception a node's process layer threw, from the error that crossed the wire; a plain
     * {@link KerrighedException} keeps the node's message without its class name.
     */
    static RuntimeException local(Throwable t) {
        RuntimeException e = ProcessErrors.fromRemote(t, "reach the node's process layer");
        if (e instanceof RemoteException re && re.remoteType().equals(KerrighedException.class.getName())) {
            String prefix = "node " + re.peer() + ": " + re.remoteType() + ": ";
            String m = re.getMessage().startsWith(prefix) ? re.getMessage().substring(prefix.length())
                    : re.getMessage();
            return new KerrighedException("node " + re.peer() + ": " + m);
        }
        return e;
    }
}
