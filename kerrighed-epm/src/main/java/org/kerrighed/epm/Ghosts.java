package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.rpc.TypeRegistry;

import java.util.ArrayList;
import java.util.List;

/**
 * This node's ghost path: a process's image written into a ghost and a process rebuilt from one, for migration
 * and checkpoints alike. A program of an application JAR, and an {@link AppMain} in a checkpoint, is read with
 * that application's loader (the JAR fetched from the node the ghost names, else from any live node that holds
 * it); any other with the node's.
 */
final class Ghosts {
    private final Epm epm;
    private final Applications apps;
    private final GhostCodec codec;
    private final String fingerprint;
    private final int maxBytes;
    private final ClassLoader nodeLoader = Epm.class.getClassLoader();

    Ghosts(Epm epm, TypeRegistry registry, Applications apps) {
        this.epm = epm;
        this.apps = apps;
        this.codec = new GhostCodec(registry);
        this.fingerprint = registry.fingerprint();
        this.maxBytes = (int) GhostPieces.MAX_GHOST_BYTES;
    }

    /** Prepares the node's ghost codec in the background, so that the first move does not pay for it. */
    void warm() {
        Thread.ofVirtual().name("krg-ghost-warm").start(() -> codec.warm(nodeLoader));
    }

    /** Writes {@code p}'s ghost with {@code state} (captured on its thread); handles met are listed in {@code b}. */
    GhostCodec.Sealed write(LocalProcess p, int kind, ProcessImage.State state, GhostCodec.Binding b) {
        Applications.AppLoader l = apps.loaderOf(p.program());
        byte[] header = header(p, kind, l, 0);
        GhostCodec.Sealed g = codec.write(l != null ? l : nodeLoader, header, p.identity(), state, b, maxBytes,
                p.ghostHint);
        p.ghostHint = g.length();
        return g;
    }

    /**
     * Writes {@code p}'s ghost with {@code state} straight into {@code out}, a message being encoded, without its
     * checksum (see {@link Ghost}); returns its length.
     */
    int writeInto(com.esotericsoftware.kryo.io.Output out, LocalProcess p, int kind, ProcessImage.State state,
                  GhostCodec.Binding b) {
        Applications.AppLoader l = apps.loaderOf(p.program());
        int length = codec.writeInto(out, l != null ? l : nodeLoader, header(p, kind, l, Ghost.NO_CHECKSUM),
                p.identity(), state, b, maxBytes);
        p.ghostHint = length;
        return length;
    }

    /** The largest ghost a process may have. */
    int maxBytes() {
        return maxBytes;
    }

    /** Writes {@code p}'s ghost with {@code state} into file {@code ch}; returns its length. */
    long write(LocalProcess p, int kind, ProcessImage.State state, GhostCodec.Binding b,
               java.nio.channels.FileChannel ch) throws java.io.IOException {
        Applications.AppLoader l = apps.loaderOf(p.program());
        byte[] header = header(p, kind, l, 0);
        return codec.write(l != null ? l : nodeLoader, header, p.identity(), state, b, ch);
    }

    /**
     * The header of {@code p}'s ghost. It names the application of a program of an application JAR ({@code l}), and
     * in a checkpoint that of an {@link AppMain} too (its class is the node's, but it runs the JAR's main class: the
     * checkpoint carries the JAR), with a node that holds the JAR: this one, or the {@code AppMain}'s origin while
     * this node has not fetched it. A migrating {@code AppMain} fetches its JAR when it runs, as before.
     */
    private byte[] header(LocalProcess p, int kind, Applications.AppLoader l, int flags) {
        String app = l != null ? l.app
                : kind == Ghost.CHECKPOINT && p.program() instanceof AppMain m ? m.app() : null;
        int holder = l == null && app != null && !apps.has(app) ? ((AppMain) p.program()).origin() : epm.nodeId();
        return Ghost.header(kind, p.pid, fingerprint, app, holder, flags);
    }

    /**
     * Checks {@code buf[0..length)} (magic, version, length, checksum, the writer's types) and returns its header.
     *
     * @throws GhostException when the ghost is refused
     */
    Ghost.Header check(byte[] buf, int length, String source) {
        return Ghost.open(buf, length, source, fingerprint);
    }

    /**
     * Checks {@code ghost} (its remaining bytes) and rebuilds the process it holds (not started, not installed); its
     * handles are bound on this node and listed in {@code b}. {@code oneMessage}: it came whole in one RPC message
     * (then it may go without its checksum, see {@link Ghost}).
     *
     * @throws GhostException when the ghost is refused
     */
    LocalProcess read(java.nio.ByteBuffer ghost, int kind, String source, GhostCodec.Binding b, boolean oneMessage) {
        Ghost.Header h = Ghost.open(ghost, source, fingerprint, oneMessage);
        if (h.kind() != kind) {
            throw new GhostException(source + " is a " + kindName(h.kind()) + " ghost where a " + kindName(kind)
                    + " one was expected");
        }
        return readChecked(ghost, h, source, b);
    }

    /** Rebuilds the process of a ghost already checked ({@link #check}). */
    LocalProcess readChecked(byte[] buf, Ghost.Header h, String source, GhostCodec.Binding b) {
        return readChecked(java.nio.ByteBuffer.wrap(buf), h, source, b);
    }

    /** Rebuilds the process of ghost {@code ghost} (its remaining bytes), already checked. */
    private LocalProcess readChecked(java.nio.ByteBuffer ghost, Ghost.Header h, String source, GhostCodec.Binding b) {
        if (h.app() != null) {
            b.mayBlock();                                       // its JAR may have to be fetched
        }
        ClassLoader loader = h.app() == null ? nodeLoader : apps.loader(Applications.checkId(h.app()), h.appOrigin());
        ProcessImage.State st = codec.read(loader, ghost, h, b, id -> new LocalProcess(epm, remap(id, b.remap)),
                source);
        b.process.restore(remap(st, b.remap));
        b.process.forked = h.kind() == Ghost.FORK;
        b.process.ghostHint = ghost.remaining();
        return b.process;
    }

    /** A restarted process's identity: its pid, parent, group and session as the restart maps them. */
    private static ProcessImage.Identity remap(ProcessImage.Identity id, EpmWire.Remap r) {
        if (r == null) {
            return id;
        }
        int ppid;
        int parentNode;
        if (id.pid() == r.rootPid()) {
            ppid = r.rootParent();
            parentNode = r.rootParentNode();
        } else if (r.pids().containsKey(id.ppid())) {
            ppid = r.pids().get(id.ppid());
            parentNode = r.nodes().get(id.ppid());
        } else {
            ppid = Pids.INIT;                               // its parent is not part of the application
            parentNode = -1;
        }
        if (r.fork()) {
            return new ProcessImage.Identity(r.pids().get(id.pid()), ppid, parentNode, id.pgid(), id.sid(), id.command(),
                    id.args(), id.env(), id.credentials(), id.capabilities().forChild(), System.currentTimeMillis());
        }
        return new ProcessImage.Identity(r.pids().getOrDefault(id.pid(), id.pid()), ppid, parentNode,
                r.pids().getOrDefault(id.pgid(), id.pgid()), r.pids().getOrDefault(id.sid(), id.sid()), id.command(),
                id.args(), id.env(), id.credentials(), id.capabilities(), id.startMillis());
    }

    /** A restarted process's state: its children's pids and nodes as the restart maps them. */
    private static ProcessImage.State remap(ProcessImage.State st, EpmWire.Remap r) {
        if (r == null) {
            return st;
        }
        return new ProcessImage.State(st.program(), st.result(), st.pending(), st.ignored(), st.handlers(),
                st.cpuNanos(), st.allocatedBytes(), remapChildren(st.children(), r), st.locks(), st.moves(),
                st.stopped(), st.groupSignals());
    }

    /** A restarted process's children: their pids and nodes as the restart maps them ({@code r} null: as they are). */
    static List<ProcessImage.ChildImage> remapChildren(List<ProcessImage.ChildImage> children, EpmWire.Remap r) {
        if (r == null) {
            return children;
        }
        List<ProcessImage.ChildImage> kids = new ArrayList<>();
        for (ProcessImage.ChildImage c : children) {
            kids.add(new ProcessImage.ChildImage(r.pids().getOrDefault(c.pid(), c.pid()),
                    r.nodes().getOrDefault(c.pid(), c.node()), 0, c.status(), c.result(), c.last()));
        }
        return kids;
    }

    /** Closes, as the rebuilt process, what reading a ghost opened (the process will not run here). */
    void abandon(GhostCodec.Binding b) {
        LocalProcess previous = Epm.CURRENT.get();
        if (b.process != null) {
            Epm.CURRENT.set(b.process);
        }
        try {
            b.closeAll();
        } finally {
            if (previous == null) {
                Epm.CURRENT.remove();
            } else {
                Epm.CURRENT.set(previous);
            }
        }
    }

    private static String kindName(int kind) {
        return switch (kind) {
            case Ghost.MIGRATION -> "migration";
            case Ghost.CHECKPOINT -> "checkpoint";
            case Ghost.FORK -> "distant fork";
            default -> "unknown (" + kind + ")";
        };
    }
}
