package org.kerrighed.node;

import org.kerrighed.epm.ProcessErrors;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.CapabilityException;
import org.kerrighed.epm.CapabilityInUseException;
import org.kerrighed.epm.Epm;
import org.kerrighed.epm.MigrationException;
import org.kerrighed.epm.MigrationReport;
import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.NodeLoad;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.Signal;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The services process tools use ({@code krg ps}, {@code top}, {@code kill}, {@code capset}, {@code migrate};
 * service ids 910-915, types 2020-2049): the cluster's processes, one process's status, signals to a process or a
 * process group, capability changes, the nodes' loads, and moving a process to another node. The node that serves a tool acts for itself: the node's credentials
 * ({@code node.uid}, {@code node.gid}) and every capability, as any caller that is not a process
 * ({@link Epm}). Installed on every node with {@link NodeAdmin}'s services.
 *
 * <p>The client methods here wait at most the given timeout plus 5 s and turn a node's refusal back into the
 * exception its process layer threw: {@link NoSuchProcessException}, {@link PermissionDeniedException} (and its
 * {@link CapabilityException}), {@link CapabilityInUseException}, {@link MigrationException},
 * {@link IllegalArgumentException} (a bad request); anything else is a {@link KerrighedException}.
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
                .register(2027, MigrateRequest.class);
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

    /** The exception a node's process layer threw, from the error that crossed the wire. */
    static RuntimeException local(Throwable t) {
        return ProcessErrors.fromRemote(t, "reach the node's process layer");
    }
}
