package org.kerrighed.fs.internal;

import org.kerrighed.rpc.TypeRegistry;

/** The file system's message types, services and sets. */
public final class FsWire {
    /** KDDM static sets: 1400-1409. */
    static final long INODES = 1400;

    private FsWire() {
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-fs", 6000, 6999)
                .register(6000, Inode.class)
                .register(6001, Inode.Kind.class)
                .register(6002, int[][].class);
    }
}
