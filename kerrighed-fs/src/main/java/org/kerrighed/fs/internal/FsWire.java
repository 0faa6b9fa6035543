package org.kerrighed.fs.internal;

import org.kerrighed.rpc.TypeRegistry;

/** The file system's message types, services and sets. */
public final class FsWire {
    /** KDDM static sets: 1400-1409. */
    static final long INODES = 1400;
    /** Inode-number blocks handed to each node (object node+1), and the rename lock (object 0). */
    static final long COUNTERS = 1401;
    /** One object per file, write-pinned by an append for its duration. */
    static final long APPEND_LOCKS = 1402;
    /** Shared file positions, by id. */
    static final long POSITIONS = 1403;
    /** Each node's chunk store id (object node+1): a node whose store changed is dropped from its chunks' lists. */
    static final long STORAGE_IDS = 1404;

    private FsWire() {
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-fs", 6000, 6999)
                .register(6000, Inode.class)
                .register(6001, Inode.Kind.class)
                .register(6002, int[][].class)
                .register(6003, DataPath.Op.class, new DataPath.OpSerializer())
                .register(6004, DataPath.Kind.class)
                .register(6005, Repairer.Report.class)
                .register(6006, org.kerrighed.fs.FsStatus.NodeStorage.class)
                .register(6010, org.kerrighed.fs.FileHandle.class)
                .register(6011, org.kerrighed.fs.KrgFileChannel.class, new org.kerrighed.rpc.NodeBound<>(
                        "send its handle() and open it with KrgFileSystem.open"));
    }
}
