package org.kerrighed.fs;

import java.nio.file.FileStore;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Set;

/**
 * The one store of a krg file system: the chunk storage of every live node. Its space figures are raw bytes summed
 * over the nodes ({@link FsStatus}, asked of every node at each call): a file replicated {@code r} times takes
 * {@code r} times its size. A node's share is its disk, capped by its quota.
 */
final class KrgFileStore extends FileStore {
    private static final Set<Class<? extends FileAttributeView>> VIEWS = Set.of(BasicFileAttributeView.class,
            PosixFileAttributeView.class, FileOwnerAttributeView.class, KrgFileAttributeView.class);

    private final KrgFileSystem fs;

    KrgFileStore(KrgFileSystem fs) {
        this.fs = fs;
    }

    @Override
    public String name() {
        return fs.clusterName();
    }

    @Override
    public String type() {
        return "krg";
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    /** Each node's capacity (its used bytes plus its free space, capped by its quota), summed. */
    @Override
    public long getTotalSpace() {
        long total = 0;
        for (FsStatus.NodeStorage n : fs.engine().status().nodes()) {
            total = saturatedAdd(total, Math.min(n.quota(), saturatedAdd(n.usedBytes(), n.freeBytes())));
        }
        return total;
    }

    /** The bytes each node can still store (its free space, capped by what its quota leaves), summed. */
    @Override
    public long getUsableSpace() {
        long usable = 0;
        for (FsStatus.NodeStorage n : fs.engine().status().nodes()) {
            usable = saturatedAdd(usable, Math.max(0, Math.min(n.freeBytes(), n.quota() - n.usedBytes())));
        }
        return usable;
    }

    /** The same as {@link #getUsableSpace()}. */
    @Override
    public long getUnallocatedSpace() {
        return getUsableSpace();
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return ((a ^ s) & (b ^ s)) < 0 ? Long.MAX_VALUE : s;
    }

    @Override
    public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
        return VIEWS.contains(type);
    }

    @Override
    public boolean supportsFileAttributeView(String name) {
        return KrgFileSystem.VIEWS.contains(name);
    }

    /** Null: the store has no attribute views. */
    @Override
    public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
        return null;
    }

    /**
     * {@code totalSpace}, {@code usableSpace} or {@code unallocatedSpace}.
     *
     * @throws UnsupportedOperationException for another attribute
     */
    @Override
    public Object getAttribute(String attribute) {
        return switch (attribute) {
            case "totalSpace" -> getTotalSpace();
            case "usableSpace" -> getUsableSpace();
            case "unallocatedSpace" -> getUnallocatedSpace();
            default -> throw new UnsupportedOperationException("file store attribute '" + attribute
                    + "' is not totalSpace, usableSpace or unallocatedSpace");
        };
    }

    @Override
    public String toString() {
        return "krg://" + fs.clusterName() + " (krg)";
    }
}
