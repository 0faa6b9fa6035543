package org.kerrighed.epm.internal;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.NodeLoad;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.ProcessState;
import org.kerrighed.epm.Signal;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.rpc.ConversationKey;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.rpc.internal.codec.BoundedInput;
import org.kerrighed.rpc.internal.codec.RewritableOutput;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The process layer's messages and services (service ids 160-179, type ids 7000-7069, KDDM static sets 1200 and 1201).
 * Requests carry the caller's credentials and capabilities: the node that serves them checks them.
 */
public final class EpmWire {
    private EpmWire() {
    }

    /** The process table: one {@link Entry} per live process, keyed by pid, homed on its birth node, replicated. */
    public static final long TABLE_SET = 1200;
    /** The nodes' pid maps: one {@link PidMap} per node id, homed on that node, replicated. */
    public static final long PID_MAP_SET = 1201;

    /**
     * Kerrighed's pidmap: the local pids a node id has handed out, kept in KDDM so that a node that takes the id
     * over (it rejoined, or a new node got it) goes on after them.
     *
     * @param next    the first local pid not reserved yet
     * @param wrapped the local pids wrapped around once: a pid may then still be live, and is checked
     */
    public record PidMap(int next, boolean wrapped) {
    }

    /**
     * Who asks: a process ({@code pid > 0}, with its capabilities) or a node or tool acting for its user
     * ({@code pid} 0: passes every capability check; its credentials still count).
     */
    public record Requester(int pid, int node, Credentials credentials, Capabilities capabilities) {
        public boolean isProcess() {
            return pid > 0;
        }
    }

    /**
     * A process's row in the cluster's process table: where it runs and who it is. {@code moves} counts its
     * migrations: a node that takes the row over after a move writes it only over a row of fewer moves, so the old
     * node's late writes never win.
     */
    public record Entry(int pid, int node, int ppid, int pgid, int sid, int uid, int gid, ProcessState state,
                        String command, long startMillis, int moves) {
        public Entry withState(ProcessState s) {
            return new Entry(pid, node, ppid, pgid, sid, uid, gid, s, command, startMillis, moves);
        }

        public Entry withParent(int newPpid) {
            return new Entry(pid, node, newPpid, pgid, sid, uid, gid, state, command, startMillis, moves);
        }

        public Entry withCredentials(int newUid, int newGid) {
            return new Entry(pid, node, ppid, pgid, sid, newUid, newGid, state, command, startMillis, moves);
        }
    }

    /**
     * Start a process on the receiving node. {@code program} is a registered type, or null when {@code image}
     * holds an application program ({@code app} names the application JAR by checksum).
     */
    public record Spawn(Object program, String app, byte[] image, String command, List<String> args,
                        Map<String, String> env, int ppid, int parentNode, int pgid, int sid, Credentials credentials,
                        Capabilities capabilities) {
    }

    /**
     * A child ended; sent to the node of its parent (or of the node that started it, for {@code ppid} = 1), with
     * its last figures for ps.
     */
    public record Exit(int parentPid, int childPid, int childNode, ExitStatus status, Object result, ProcessInfo last) {
    }

    /**
     * Deliver {@code signal} to {@code pid} (or, with {@code interrupt}, interrupt its thread instead); {@code group},
     * when not 0, is the id of the group signal of group {@code pgid} it is the part of for {@code pid} (sent on from
     * a node it left: taken once per id, and only by a member of that group).
     */
    public record Kill(int pid, Signal signal, boolean interrupt, Requester from, int hops, long group, int pgid) {
        public Kill(int pid, Signal signal, boolean interrupt, Requester from, int hops) {
            this(pid, signal, interrupt, from, hops, 0, 0);
        }
    }

    /**
     * Deliver {@code signal} to the members of group {@code pgid} that run on the receiving node; {@code id} (not 0)
     * tells this group signal from others, so that a member that moves meanwhile takes it once.
     */
    public record KillGroup(int pgid, Signal signal, Requester from, long id) {
    }

    /** How many group members a node signalled, and how many it refused for credentials. */
    public record GroupResult(int delivered, int denied) {
    }

    /** The receiving node's process {@code pid} now has parent {@code ppid} (its old parent exited or died). */
    public record Reparent(int pid, int ppid, int parentNode) {
    }

    /** Change {@code pid}'s capabilities to {@code requested}. */
    public record Capset(int pid, Capabilities requested, Requester from) {
    }

    /** The receiving node's processes (and zombies of its processes' children), for ps. */
    public record ListRequest(int onlyPid) {
    }

    public record ListReply(List<ProcessInfo> processes) {
        public ListReply {
            processes = new ArrayList<>(processes);
        }
    }

    /**
     * A process result of an application class, as an image ({@code Applications}): {@code node} holds the
     * application's JAR.
     */
    public record AppValue(String app, int node, byte[] image) {
    }

    /** Move process {@code pid} to {@code node}; served by the node it runs on (forwarded there). */
    public record Migrate(int pid, int node, Requester from, int hops) {
    }

    /** Opens the transfer of a ghost of move {@code move} (an id the old node draws): {@code length} bytes follow. */
    public record MoveOpen(int pid, long length, long move) {
    }

    /**
     * A whole ghost in one message (a small one: one call instead of a conversation). Sent, its {@code writer} writes
     * the ghost straight into the message's frame; received, {@code bytes} is a view of the ghost in the
     * frame, valid only until the handler returns (a handler that keeps it longer copies it first).
     */
    public record Ghost(int pid, long move, java.nio.ByteBuffer bytes, GhostWriter writer) {
        /** The ghost to send, written by {@code writer} as the message is encoded. */
        public static Ghost toSend(int pid, long move, GhostWriter writer) {
            return new Ghost(pid, move, null, writer);
        }
    }

    /** Writes a ghost into a message being encoded (see {@link Ghost}). */
    public interface GhostWriter {
        /** Writes the sealed ghost into {@code out}, a {@link RewritableOutput}; returns its length. */
        int write(com.esotericsoftware.kryo.io.Output out);
    }

    /** Did move {@code move} of process {@code pid} install it on the receiving node? */
    public record Arrival(int pid, long move) {
    }

    /**
     * Writes a {@link Ghost} straight into the frame: its length is a placeholder filled in once the ghost is
     * written. Reads it as a view of the frame.
     */
    static final class GhostSerializer extends com.esotericsoftware.kryo.Serializer<Ghost> {
        @Override
        public void write(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Output out, Ghost g) {
            if (g.writer() == null || !(out instanceof RewritableOutput)) {
                throw new IllegalArgumentException("a ghost is sent through its writer, by the RPC codec");
            }
            out.writeInt(g.pid());
            out.writeLong(g.move());
            long at = out.total();
            out.writeInt(0);
            int length = g.writer().write(out);
            com.esotericsoftware.kryo.io.Output filled = new com.esotericsoftware.kryo.io.Output(4);
            filled.writeInt(length);                              // as readInt reads it
            ((RewritableOutput) out).rewrite(at, java.nio.ByteBuffer.wrap(filled.getBuffer(), 0, 4));
        }

        @Override
        public Ghost read(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Input in,
                          Class<? extends Ghost> type) {
            int pid = in.readInt();
            long move = in.readLong();
            int length = in.readInt();
            // The codec's input refuses a length the frame cannot hold (its buffer is a window on the frame:
            // limit() - position() is not what the frame has left).
            java.nio.ByteBuffer bytes = in instanceof BoundedInput b ? b.readView(length)
                    : java.nio.ByteBuffer.wrap(in.readBytes(length));
            return new Ghost(pid, move, bytes, null);
        }
    }

    /** The process of a migration runs on the node that answers this (it took {@code installMillis} to start it). */
    public record Arrived(double installMillis) {
    }

    /** A step of the restart protocol, in its conversation. */
    public record MoveStep(int step) {
        public static final int PREPARED = 1;
        public static final int COMMIT = 2;
        public static final int COMMITTED = 3;
        public static final int START = 4;
        public static final int STARTED = 5;
    }

    /**
     * Child {@code childPid} of {@code parentPid} (of INIT: {@code parentPid} 1) runs on {@code node} now, after its
     * {@code moves}-th move (a notice of an earlier move that comes late is ignored).
     */
    public record Moved(int parentPid, int childPid, int node, int moves) {
    }

    /** Freeze process {@code pid} of application {@code app} and send its checkpoint ghost; then a {@link Decision}. */
    public record Freeze(int pid, int app, Requester from) {
    }

    /**
     * A process frozen for a checkpoint: its ghost ({@code length} bytes) follows in chunks. {@code segments} are
     * the ids of the segments its state holds attached, the pipes lists the pipes whose open ends it holds.
     */
    public record Frozen(int pid, int ppid, int node, long length, List<Long> segments, List<Long> readPipes,
                         List<Long> writePipes) {
        public Frozen {
            segments = new ArrayList<>(segments);
            readPipes = new ArrayList<>(readPipes);
            writePipes = new ArrayList<>(writePipes);
        }
    }

    /** What a frozen process does once the checkpoint is written. */
    public record Decision(boolean kill) {
    }

    /**
     * How a restarted application's identities change: pids (old to new), nodes (by old pid), the root's new parent,
     * and segment and pipe ids (old to new). A {@code fork} makes a child of the root: it keeps the root's group and
     * session and gets the capabilities a child inherits.
     */
    public record Remap(Map<Integer, Integer> pids, Map<Integer, Integer> nodes, int rootPid, int rootParent,
                        int rootParentNode, Map<Long, Long> segments, Map<Long, Long> pipes, boolean fork) {
        public Remap {
            pids = new java.util.HashMap<>(pids);
            nodes = new java.util.HashMap<>(nodes);
            segments = new java.util.HashMap<>(segments);
            pipes = new java.util.HashMap<>(pipes);
        }
    }

    /** Restart the process of a checkpoint ghost ({@code length} bytes follow) here, with {@code remap}. */
    public record RestartOpen(int oldPid, long length, Remap remap) {
    }

    public static final ServiceKey<Spawn, Integer> SPAWN = ServiceKey.of(160, "epm.spawn", Spawn.class, Integer.class);
    public static final ServiceKey<Exit, Void> EXIT = ServiceKey.oneWay(161, "epm.exit", Exit.class);
    public static final ServiceKey<Kill, Integer> KILL = ServiceKey.of(162, "epm.kill", Kill.class, Integer.class);
    public static final ServiceKey<KillGroup, GroupResult> KILL_GROUP = ServiceKey.of(163, "epm.kill-group",
            KillGroup.class, GroupResult.class);
    public static final ServiceKey<Reparent, Void> REPARENT = ServiceKey.oneWay(164, "epm.reparent", Reparent.class);
    public static final ServiceKey<Capset, Capabilities> CAPSET = ServiceKey.of(165, "epm.capset", Capset.class,
            Capabilities.class);
    public static final ServiceKey<ListRequest, ListReply> LIST = ServiceKey.of(166, "epm.list", ListRequest.class,
            ListReply.class);
    public static final ServiceKey<Integer, NodeLoad> LOAD = ServiceKey.of(167, "epm.load", Integer.class,
            NodeLoad.class);
    /** Opened with an application id: the receiving node streams that JAR as {@code byte[]} chunks, then closes. */
    public static final ConversationKey<String> APP_FETCH = ConversationKey.of(168, "epm.app-fetch", String.class);

    public static final ServiceKey<Migrate, org.kerrighed.epm.MigrationReport> MIGRATE = ServiceKey.of(169,
            "epm.migrate", Migrate.class, org.kerrighed.epm.MigrationReport.class);
    /** A ghost moving here: chunks of {@code byte[]}; the receiving node answers {@link Arrived} once it runs it. */
    public static final ConversationKey<MoveOpen> GHOST_MOVE = ConversationKey.of(170, "epm.ghost-move",
            MoveOpen.class);
    /** A ghost small enough for one message, moving here; answered once the process runs here. */
    public static final ServiceKey<Ghost, Arrived> GHOST_MOVE_SMALL = ServiceKey.of(175, "epm.ghost-move-small",
            Ghost.class, Arrived.class);
    public static final ServiceKey<Moved, Integer> MOVED = ServiceKey.of(171, "epm.moved", Moved.class, Integer.class);
    /**
     * EXIT, REPARENT and MOVED as sent on by a node that found where the process went from its table row: the
     * receiving node applies them, or sends them on where it remembers the process went, never by the row again
     * (so that a notice cannot go round a ring of nodes whose records disagree).
     */
    public static final ServiceKey<Exit, Void> EXIT_BY_ROW = ServiceKey.oneWay(176, "epm.exit-by-row", Exit.class);
    public static final ServiceKey<Reparent, Void> REPARENT_BY_ROW = ServiceKey.oneWay(177, "epm.reparent-by-row",
            Reparent.class);
    public static final ServiceKey<Moved, Void> MOVED_BY_ROW = ServiceKey.oneWay(178, "epm.moved-by-row", Moved.class);
    /**
     * Whether a move installed its process on the receiving node (1) or not (0, and then it never will): settles a
     * move whose answer did not come in time.
     */
    public static final ServiceKey<Arrival, Integer> ARRIVED = ServiceKey.of(172, "epm.arrived", Arrival.class,
            Integer.class);

    /** Freeze a process for a checkpoint: its ghost comes back, then the checkpointing node's decision goes. */
    public static final ConversationKey<Freeze> FREEZE = ConversationKey.of(173, "epm.freeze", Freeze.class);
    /** Restart a process from its ghost: chunks, then {@link MoveStep}s (prepared, commit, committed, start). */
    public static final ConversationKey<RestartOpen> RESTART = ConversationKey.of(174, "epm.restart",
            RestartOpen.class);

    /** Results of {@link #KILL}. */
    public static final int DELIVERED = 0;
    public static final int NO_SUCH_PROCESS = 1;
    public static final int DENIED = 2;
    /** A group signal the process had taken already (it reached it on two nodes as it moved). */
    public static final int TAKEN_BEFORE = 3;

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-epm", 7000, 7019)
                .register(7000, Requester.class)
                .register(7001, Entry.class)
                .register(7002, Spawn.class)
                .register(7003, Exit.class)
                .register(7004, Kill.class)
                .register(7005, KillGroup.class)
                .register(7006, GroupResult.class)
                .register(7007, Reparent.class)
                .register(7008, Capset.class)
                .register(7009, ListRequest.class)
                .register(7010, ListReply.class)
                .register(7011, Capabilities.class)
                .register(7012, Capability.class)
                .register(7013, ExitStatus.class)
                .register(7014, Signal.class)
                .register(7015, ProcessState.class)
                .register(7016, ProcessInfo.class)
                .register(7017, NodeLoad.class)
                .register(7018, PidMap.class);
        org.kerrighed.epm.Epm.registerPrograms(b);
        b.range("kerrighed-epm.ghosts", 7040, 7059)
                .register(7040, org.kerrighed.epm.MigrationReport.class)
                .register(7041, Migrate.class)
                .register(7042, MoveOpen.class)
                .register(7043, MoveStep.class)
                .register(7044, Moved.class)
                .register(7045, Freeze.class)
                .register(7046, Frozen.class)
                .register(7047, Decision.class)
                .register(7048, Remap.class)
                .register(7049, RestartOpen.class)
                .register(7050, Arrived.class)
                .register(7051, Ghost.class, new GhostSerializer())
                .register(7052, Arrival.class);
        b.range("kerrighed-epm.apps", 7030, 7039)
                .register(7030, org.kerrighed.epm.AppMain.class)
                .register(7031, AppValue.class);
    }
}
