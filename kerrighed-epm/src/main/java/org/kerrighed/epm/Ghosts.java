package org.kerrighed.epm;

import org.kerrighed.rpc.TypeRegistry;

/**
 * This node's ghost path: a process's image written into a ghost and a process rebuilt from one, for migration
 * and checkpoints alike. A program of an application JAR is read with that application's loader (the JAR fetched
 * from the node the ghost names); any other with the node's.
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
        this.maxBytes = (int) Migration.MAX_GHOST_BYTES;
    }

    /** Writes {@code p}'s ghost with {@code state} (captured on its thread); handles met are listed in {@code b}. */
    GhostCodec.Sealed write(LocalProcess p, int kind, ProcessImage.State state, GhostCodec.Binding b) {
        Applications.AppLoader l = apps.loaderOf(p.program());
        byte[] header = Ghost.header(kind, p.pid, fingerprint, l == null ? null : l.app, epm.nodeId());
        return codec.write(l != null ? l : nodeLoader, header, p.identity(), state, b, maxBytes);
    }

    /**
     * Checks {@code buf[0..length)} and rebuilds the process it holds (not started, not installed); its handles
     * are bound on this node and listed in {@code b}.
     *
     * @throws GhostException when the ghost is refused
     */
    LocalProcess read(byte[] buf, int length, int kind, String source, GhostCodec.Binding b) {
        Ghost.Header h = Ghost.open(buf, length, source, fingerprint);
        if (h.kind() != kind) {
            throw new GhostException(source + " is a " + kindName(h.kind()) + " ghost where a " + kindName(kind)
                    + " one was expected");
        }
        ClassLoader loader = h.app() == null ? nodeLoader : apps.loader(Applications.checkId(h.app()), h.appOrigin());
        ProcessImage.State st = codec.read(loader, buf, h, b, id -> new LocalProcess(epm, id), source);
        b.process.restore(st);
        return b.process;
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
        return kind == Ghost.MIGRATION ? "migration" : kind == Ghost.CHECKPOINT ? "checkpoint" : "unknown (" + kind + ")";
    }
}
