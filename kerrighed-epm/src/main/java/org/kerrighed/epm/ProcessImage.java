package org.kerrighed.epm;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.access.Credentials;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a ghost holds of a process: its identity (read first, so that handles in its state can be bound to the
 * process being rebuilt) and its state.
 */
final class ProcessImage {
    private ProcessImage() {
    }

    /** Who the process is: kept across moves and restarts. */
    record Identity(int pid, int ppid, int parentNode, int pgid, int sid, String command, List<String> args,
                    Map<String, String> env, Credentials credentials, Capabilities capabilities, long startMillis) {
    }

    /**
     * Where the process is: its program (the state), its result so far, its signals, its CPU and allocation so
     * far, its children, the locks it holds, how many times it moved or restarted, whether it is stopped, and the
     * ids of the group signals it took lately (so that one reaching it again on its new node is not taken twice).
     */
    record State(Program program, Object result, int pending, List<Signal> ignored, Map<Signal, SignalHandler> handlers,
                 long cpuNanos, long allocatedBytes, List<ChildImage> children, List<Ipc.HeldLock> locks,
                 int moves, boolean stopped, List<Long> groupSignals) {
    }

    /**
     * One child: where it runs (as of its {@code moves}-th move, the last one its parent was told of), or how it ended
     * (a zombie not yet waited for).
     */
    record ChildImage(int pid, int node, int moves, ExitStatus status, Object result, ProcessInfo last) {
    }

    /** Registers the images' types, with the serializers below (ghost format version 3). */
    static void registerTypes(org.kerrighed.rpc.TypeRegistry.Builder b) {
        b.range("kerrighed-epm.images", 7060, 7069)
                .register(7060, Identity.class, new IdentitySerializer())
                .register(7061, State.class, new StateSerializer())
                .register(7062, ChildImage.class, new ChildImageSerializer());
    }

    /*
     * The images are written field by field by hand: Kryo's record serializer reads and builds records through
     * reflection, which cost about 45 us a record in a node that had moved a few hundred processes (its code not yet
     * compiled), a tenth of a 1 MiB move. The program, results and handlers go through Kryo as any object.
     */

    /** {@link Identity}, field by field. */
    static final class IdentitySerializer extends Serializer<Identity> {
        IdentitySerializer() {
            super(false, true);
        }

        @Override
        public void write(Kryo kryo, Output out, Identity id) {
            out.writeVarInt(id.pid(), false);
            out.writeVarInt(id.ppid(), false);
            out.writeVarInt(id.parentNode(), false);
            out.writeVarInt(id.pgid(), false);
            out.writeVarInt(id.sid(), false);
            out.writeString(id.command());
            out.writeVarInt(id.args().size(), true);
            for (String a : id.args()) {
                out.writeString(a);
            }
            out.writeVarInt(id.env().size(), true);
            for (Map.Entry<String, String> e : id.env().entrySet()) {
                out.writeString(e.getKey());
                out.writeString(e.getValue());
            }
            out.writeVarInt(id.credentials().uid(), false);
            out.writeVarInt(id.credentials().gid(), false);
            Capabilities c = id.capabilities();
            out.writeInt(c.effective());
            out.writeInt(c.permitted());
            out.writeInt(c.inheritableEffective());
            out.writeInt(c.inheritablePermitted());
            out.writeLong(id.startMillis());
        }

        @Override
        public Identity read(Kryo kryo, Input in, Class<? extends Identity> type) {
            int pid = in.readVarInt(false);
            int ppid = in.readVarInt(false);
            int parentNode = in.readVarInt(false);
            int pgid = in.readVarInt(false);
            int sid = in.readVarInt(false);
            String command = in.readString();
            List<String> args = new ArrayList<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                args.add(in.readString());
            }
            Map<String, String> env = new HashMap<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                env.put(in.readString(), in.readString());
            }
            Credentials cred = new Credentials(in.readVarInt(false), in.readVarInt(false));
            Capabilities caps = new Capabilities(in.readInt(), in.readInt(), in.readInt(), in.readInt());
            return new Identity(pid, ppid, parentNode, pgid, sid, command, List.copyOf(args), Map.copyOf(env), cred,
                    caps, in.readLong());
        }
    }

    /** {@link State}, field by field (the program, the result and the handlers through Kryo). */
    static final class StateSerializer extends Serializer<State> {
        private static final Signal[] SIGNALS = Signal.values();

        StateSerializer() {
            super(false, true);
        }

        @Override
        public void write(Kryo kryo, Output out, State st) {
            try {
                writeFields(kryo, out, st);
            } catch (RuntimeException e) {
                throw traced(e, "State");
            }
        }

        private static void writeFields(Kryo kryo, Output out, State st) {
            out.writeVarInt(st.children().size(), true);           // first: the program's handles on them bind to them
            for (ChildImage c : st.children()) {
                kryo.writeObject(out, c);
            }
            kryo.writeClassAndObject(out, st.program());
            kryo.writeClassAndObject(out, st.result());
            out.writeVarInt(st.pending(), true);
            out.writeVarInt(st.ignored().size(), true);
            for (Signal s : st.ignored()) {
                out.writeVarInt(s.ordinal(), true);
            }
            out.writeVarInt(st.handlers().size(), true);
            for (Map.Entry<Signal, SignalHandler> e : st.handlers().entrySet()) {
                out.writeVarInt(e.getKey().ordinal(), true);
                kryo.writeClassAndObject(out, e.getValue());
            }
            out.writeVarLong(st.cpuNanos(), true);
            out.writeVarLong(st.allocatedBytes(), true);
            out.writeVarInt(st.locks().size(), true);
            for (Ipc.HeldLock l : st.locks()) {
                out.writeString(l.name());
                out.writeVarInt(l.holds(), true);
                out.writeBoolean(l.fair());
                out.writeVarInt(l.mode(), false);
            }
            out.writeVarInt(st.moves(), false);
            out.writeBoolean(st.stopped());
            out.writeVarInt(st.groupSignals().size(), true);
            for (long g : st.groupSignals()) {
                out.writeLong(g);
            }
        }

        @Override
        public State read(Kryo kryo, Input in, Class<? extends State> type) {
            try {
                return readFields(kryo, in);
            } catch (RuntimeException e) {
                throw traced(e, "State");
            }
        }

        private static State readFields(Kryo kryo, Input in) {
            List<ChildImage> children = new ArrayList<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                children.add(kryo.readObject(in, ChildImage.class));
            }
            GhostCodec.childrenRead(kryo, children);
            Program program = (Program) kryo.readClassAndObject(in);
            Object result = kryo.readClassAndObject(in);
            int pending = in.readVarInt(true);
            List<Signal> ignored = new ArrayList<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                ignored.add(signal(in.readVarInt(true)));
            }
            Map<Signal, SignalHandler> handlers = new HashMap<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                Signal s = signal(in.readVarInt(true));
                handlers.put(s, (SignalHandler) kryo.readClassAndObject(in));
            }
            long cpu = in.readVarLong(true);
            long allocated = in.readVarLong(true);
            List<Ipc.HeldLock> locks = new ArrayList<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                locks.add(new Ipc.HeldLock(in.readString(), in.readVarInt(true), in.readBoolean(),
                        in.readVarInt(false)));
            }
            int moves = in.readVarInt(false);
            boolean stopped = in.readBoolean();
            List<Long> groups = new ArrayList<>();
            for (int n = in.readVarInt(true); n > 0; n--) {
                groups.add(in.readLong());
            }
            return new State(program, result, pending, List.copyOf(ignored), Map.copyOf(handlers), cpu, allocated,
                    List.copyOf(children), List.copyOf(locks), moves, stopped, List.copyOf(groups));
        }

        private static Signal signal(int ordinal) {
            if (ordinal < 0 || ordinal >= SIGNALS.length) {
                throw new com.esotericsoftware.kryo.KryoException("no signal number " + ordinal);
            }
            return SIGNALS[ordinal];
        }
    }

    /**
     * {@code e} as a {@link com.esotericsoftware.kryo.KryoException} that says where it happened (the ghost codec
     * turns those into a clean refusal); the cause is kept, so that what the codec looks for among the causes is
     * still found.
     */
    static com.esotericsoftware.kryo.KryoException traced(RuntimeException e, String record) {
        com.esotericsoftware.kryo.KryoException k = e instanceof com.esotericsoftware.kryo.KryoException ke ? ke
                : new com.esotericsoftware.kryo.KryoException(e);
        k.addTrace("(ProcessImage." + record + ")");
        return k;
    }

    /** {@link ChildImage}, field by field (its end, result and last view through Kryo). */
    static final class ChildImageSerializer extends Serializer<ChildImage> {
        ChildImageSerializer() {
            super(false, true);
        }

        @Override
        public void write(Kryo kryo, Output out, ChildImage c) {
            out.writeVarInt(c.pid(), false);
            out.writeVarInt(c.node(), false);
            out.writeVarInt(c.moves(), false);
            kryo.writeObjectOrNull(out, c.status(), ExitStatus.class);
            kryo.writeClassAndObject(out, c.result());
            kryo.writeObjectOrNull(out, c.last(), ProcessInfo.class);
        }

        @Override
        public ChildImage read(Kryo kryo, Input in, Class<? extends ChildImage> type) {
            try {
                return new ChildImage(in.readVarInt(false), in.readVarInt(false), in.readVarInt(false),
                        kryo.readObjectOrNull(in, ExitStatus.class), kryo.readClassAndObject(in),
                        kryo.readObjectOrNull(in, ProcessInfo.class));
            } catch (RuntimeException e) {
                throw traced(e, "ChildImage");
            }
        }
    }
}
