package org.kerrighed.fs.internal;

import org.kerrighed.fs.FsConfig;
import org.kerrighed.fs.FsStatus;
import org.kerrighed.fs.ProcSource;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.linkers.ObjectLinker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One node's file-system machinery, under the {@code java.nio.file} provider: the namespace (inodes in a replicated
 * KDDM set), file data (chunks on the nodes' disks, written through each chunk's primary to every replica) and
 * repair. Paths given to it are absolute, normalized and {@code /}-separated ({@code "/"} is the root, no trailing
 * slash otherwise). Errors are the standard {@code java.nio.file} exceptions. Thread-safe; every method may block
 * (bounded by the node's call timeout).
 */
public final class FsEngine implements AutoCloseable {
    private static final int WRITE_ATTEMPTS = 20;
    /** Most chunks of a file: its chunk table is one array in its inode, copied by every change. */
    static final int MAX_CHUNKS = 1 << 22;
    private final Kddm kddm;
    private final Namespace ns;
    private final ChunkStore store;
    private final DataPath data;
    private final Repairer repairer;
    private final ProcTree proc = new ProcTree();
    private final KddmSet<Long> appendLocks;
    private final KddmSet<Long> positions;
    private volatile boolean closed;

    public FsEngine(Kddm kddm, FsConfig config) {
        this.kddm = kddm;
        this.ns = new Namespace(kddm, config.chunkSize(), config.defaultReplication());
        this.appendLocks = kddm.createStaticSet(FsWire.APPEND_LOCKS,
                kddm.objectSpec(Long.class).withFlags(org.kerrighed.kddm.SetFlag.LOCAL_EXCLUSIVE),
                new ObjectLinker<>(Long.class));
        this.positions = kddm.createStaticSet(FsWire.POSITIONS, kddm.objectSpec(Long.class)
                .withOwner(org.kerrighed.kddm.DefaultOwner.nodeInId())
                .withFlags(org.kerrighed.kddm.SetFlag.LOCAL_EXCLUSIVE)
                .withReplication(org.kerrighed.kddm.SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(Long.class));
        this.store = new ChunkStore(config.storage().orElse(kddm.storage().resolve("fs")), config.quotaBytes(),
                kddm.nodeId());
        Placement placement = new Placement(kddm, store);
        Repairer[] later = new Repairer[1];
        this.data = new DataPath(kddm, ns, store, placement, () -> {
            if (later[0] != null) {
                later[0].nudge();
            }
        });
        this.repairer = new Repairer(kddm, ns, store, data, placement, config.repairDelayMillis());
        later[0] = repairer;
    }

    public int nodeId() {
        return kddm.nodeId();
    }

    /** The cluster's name, the authority of its {@code krg://} URIs. */
    public String clusterName() {
        return kddm.rpc().config().clusterName();
    }

    public void setProcSource(ProcSource source) {
        proc.setSource(source);
    }

    /** The inode at {@code path}. @throws java.nio.file.NoSuchFileException when it or a parent is missing */
    public Inode stat(String path) throws IOException {
        open();
        if (ProcTree.covers(path)) {
            return proc.stat(path);
        }
        return ns.resolve(path);
    }

    /** The current value of inode {@code id}. @throws java.nio.file.NoSuchFileException once it was deleted */
    public Inode inode(long id) throws IOException {
        open();
        return ns.inode(id);
    }

    /**
     * The file at {@code path}, created empty with {@code mode} when absent.
     *
     * @param exclusive fail with {@code FileAlreadyExistsException} when it exists (atomic check-and-create)
     * @throws java.nio.file.FileSystemException "Is a directory" when {@code path} names a directory
     */
    public Inode createFile(String path, int mode, boolean exclusive) throws IOException {
        open();
        refuseProc(path);
        return ns.createFile(path, mode, exclusive);
    }

    /** Creates a directory. @throws java.nio.file.FileAlreadyExistsException when the name is taken */
    public Inode createDirectory(String path, int mode) throws IOException {
        open();
        if (path.equals(ProcTree.ROOT)) {
            throw new java.nio.file.FileAlreadyExistsException(path);
        }
        refuseProc(path);
        return ns.createDirectory(path, mode);
    }

    /** Deletes a file or an empty directory. @throws java.nio.file.DirectoryNotEmptyException */
    public void delete(String path) throws IOException {
        open();
        refuseProc(path);
        Inode gone = ns.delete(path);
        if (!gone.isDirectory()) {
            data.deleteChunks(gone, 0);
        }
    }

    /**
     * Renames atomically: at no time is the entry under both names or neither.
     *
     * @param replace replace an existing target (a file, or an empty directory); else
     *                {@code FileAlreadyExistsException}
     */
    public void rename(String source, String target, boolean replace) throws IOException {
        open();
        refuseProc(source);
        refuseProc(target);
        Optional<Inode> replaced = ns.rename(source, target, replace);
        if (replaced.isPresent() && !replaced.get().isDirectory()) {
            data.deleteChunks(replaced.get(), 0);
        }
    }

    /** The names in directory {@code path}, sorted. @throws java.nio.file.NotDirectoryException */
    public List<String> list(String path) throws IOException {
        open();
        if (ProcTree.covers(path)) {
            return proc.list(path);
        }
        Inode dir = ns.resolve(path);
        if (!dir.isDirectory()) {
            throw new java.nio.file.NotDirectoryException(path);
        }
        if (!Namespace.allows(dir, ns.caller(), 4)) {
            throw new AccessDeniedException(path, null, "read permission on the directory");
        }
        List<String> names = new ArrayList<>(List.of(dir.names()));
        if (path.equals("/") && dir.lookup("proc") < 0) {
            names.add("proc");
            names.sort(null);
        }
        return names;
    }

    /** Sets the times given (epoch microseconds; null keeps one). */
    public void setTimes(String path, Long modified, Long accessed, Long created) throws IOException {
        open();
        refuseProc(path);
        ns.change(path, (i, who) -> {
            if (!who.isRoot() && who.uid() != i.uid() && !Namespace.allows(i, who, 2)) {
                throw new AccessDeniedException(path, null, "not the owner");
            }
        }, i -> i.withTimes(modified == null ? i.modified() : modified, accessed == null ? i.accessed() : accessed,
                created == null ? i.created() : created, Clock.micros()));
    }

    /** Sets the permission bits (owner or root only). */
    public void setMode(String path, int mode) throws IOException {
        open();
        refuseProc(path);
        ns.change(path, (i, who) -> Namespace.checkOwner(i, who, path), i -> i.withMode(mode, Clock.micros()));
    }

    /** Sets the owner and group (-1 keeps one; root only, or the owner changing the group). */
    public void setOwner(String path, int uid, int gid) throws IOException {
        open();
        refuseProc(path);
        ns.change(path, (i, who) -> {
            if (!who.isRoot() && (uid != -1 && uid != i.uid() || who.uid() != i.uid())) {
                throw new AccessDeniedException(path, null, "only root changes a file's owner");
            }
        }, i -> i.withOwner(uid == -1 ? i.uid() : uid, gid == -1 ? i.gid() : gid, Clock.micros()));
    }

    /** Sets a file's replication (repair adds or drops copies) or a directory's default for new files. */
    public void setReplication(String path, int replication) throws IOException {
        open();
        refuseProc(path);
        if (replication < 1 || replication > 8) {
            throw new IllegalArgumentException("replication " + replication + " not in 1..8");
        }
        ns.change(path, (i, who) -> Namespace.checkOwner(i, who, path),
                i -> i.withReplication(replication, Clock.micros()));
        repairer.nudge();
    }

    /** Checks the caller's access. @throws java.nio.file.AccessDeniedException */
    public void checkAccess(String path, boolean read, boolean write, boolean execute) throws IOException {
        Inode i = stat(path);
        if (write && ProcTree.covers(path)) {
            throw ProcTree.readOnly(path);
        }
        int bits = (read ? 4 : 0) | (write ? 2 : 0) | (execute ? 1 : 0);
        if (!Namespace.allows(i, ns.caller(), bits)) {
            throw new AccessDeniedException(path);
        }
    }

    /**
     * Reads from {@code position} into {@code dst} up to its remaining bytes or the end of the file.
     *
     * @return the bytes read, or -1 when {@code position} is at or past the end
     */
    public int read(long ino, long position, ByteBuffer dst) throws IOException {
        open();
        Inode file = ns.inode(ino);
        if (position >= file.size()) {
            return -1;
        }
        int n = (int) Math.min(dst.remaining(), file.size() - position);
        data.read(file, position, dst, n);
        return n;
    }

    /**
     * Writes all of {@code src} at {@code position}, growing the file if needed. Returns once every live replica of
     * the chunks written holds the bytes. A truncation of the file while the bytes travel may have cut them: the
     * write is then done again (up to {@value #WRITE_ATTEMPTS} times), so it lands after the truncation.
     *
     * @throws FileSystemException "File too large" when it would end past {@value #MAX_CHUNKS} chunks
     */
    public int write(long ino, long position, ByteBuffer src) throws IOException {
        open();
        int n = src.remaining();
        Inode file = ns.inode(ino);
        if (n == 0) {
            return 0;                   // as pwrite(2): nothing written, the size stays
        }
        long largest = (long) file.chunkSize() * MAX_CHUNKS;
        if (position > largest - n) {
            throw new FileSystemException("inode " + ino, null, "File too large: a write up to byte " + position
                    + " + " + n + " passes the largest size of this file, " + largest + " bytes ("
                    + MAX_CHUNKS + " chunks of " + file.chunkSize() + ")");
        }
        long end = position + n;
        for (int attempt = 1; ; attempt++) {
            long seen = file.truncations();
            data.write(file, position, src.duplicate());
            file = ns.update(ino, i -> i.truncations() == seen
                    ? i.withSize(Math.max(i.size(), end), Clock.micros()) : i);
            if (file.truncations() == seen) {
                src.position(src.limit());
                return n;
            }
            if (attempt == WRITE_ATTEMPTS) {
                throw new FileSystemException("inode " + ino, null, "truncated " + attempt
                        + " times while this write was in progress; nothing more was tried");
            }
        }
    }

    /** Writes all of {@code src} at the end of the file, atomically with respect to other appends. @return the
     * position it was written at */
    public long append(long ino, ByteBuffer src) throws IOException {
        open();
        Handle<Long> lock;
        try {
            lock = appendLocks.grab(ino);
        } catch (KddmException e) {
            throw Namespace.io("inode " + ino, e);
        }
        try {
            long at = ns.inode(ino).size();
            write(ino, at, src);
            return at;
        } finally {
            lock.closeUnchanged();
        }
    }

    /** Cuts the file to {@code size} bytes (no effect when it is not longer). */
    public void truncate(long ino, long size) throws IOException {
        open();
        for (int attempt = 1; ; attempt++) {
            Inode file = ns.inode(ino);
            if (size >= file.size()) {
                return;
            }
            int cs = file.chunkSize();
            int keep = (int) ((size + cs - 1) / cs);
            boolean cut = size % cs != 0;
            if (cut && file.replicas(keep - 1) != null) {
                // The chunk's primary cuts it and sets the size under the chunk's lock, so that no write lands
                // past the new end between the two (it would come back when the file grows again).
                if (data.send(new DataPath.Op(DataPath.Kind.TRUNCATE, ino, keep - 1, 0, size % cs, 0, null))) {
                    data.deleteChunks(file, keep);
                    return;
                }
            } else {
                Inode[] before = new Inode[1];
                ns.update(ino, i -> {
                    if (cut && i.replicas(keep - 1) != null) {
                        return i;                          // a write placed the chunk meanwhile: it must be cut
                    }
                    before[0] = i;
                    return i.truncated(Math.min(i.size(), size), keep, Clock.micros());
                });
                if (before[0] != null) {
                    data.deleteChunks(before[0], keep);
                    return;
                }
            }
            if (attempt == WRITE_ATTEMPTS) {
                throw new FileSystemException("inode " + ino, null, "the truncation to " + size + " bytes raced "
                        + attempt + " writes that placed its last chunk; nothing more was tried");
            }
        }
    }

    /** Returns once the file's bytes are on the disks (fsynced) of every live replica. */
    public void force(long ino, boolean metadata) throws IOException {
        open();
        data.force(ns.inode(ino));
    }

    /**
     * For a file under {@code /proc}: its text, generated now. Empty for other paths.
     *
     * @throws java.nio.file.NoSuchFileException for a missing {@code /proc} file
     */
    public Optional<byte[]> procFile(String path) throws IOException {
        open();
        return ProcTree.covers(path) ? Optional.of(proc.read(path)) : Optional.empty();
    }

    /** A new position shared across nodes, starting at {@code initial}. */
    public SharedFilePosition sharePosition(long initial) throws IOException {
        open();
        long id = ns.allocate();
        try (Handle<Long> h = positions.grab(id)) {
            h.set(initial);
        } catch (KddmException e) {
            throw Namespace.io("shared position", e);
        }
        return new SharedFilePosition(positions, id);
    }

    /** The shared position {@code id} (made by {@link #sharePosition} on some node). */
    public SharedFilePosition sharedPosition(long id) throws IOException {
        open();
        return new SharedFilePosition(positions, id);
    }

    public FsStatus status() {
        try {
            open();
            return repairer.status();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a repair pass now on this node (tests and tools). */
    public void repairNow() throws IOException {
        repairer.pass();
    }

    /** Runs a repair pass and a collection of unnamed inodes and unlisted chunk files now on this node (tests). */
    void collectNow() throws IOException {
        repairer.pass();
        repairer.collect();
    }

    private void open() throws IOException {
        if (closed) {
            throw new FileSystemException(null, null, "the file system of node " + kddm.nodeId() + " is closed");
        }
    }

    private static void refuseProc(String path) throws AccessDeniedException {
        if (ProcTree.covers(path)) {
            throw ProcTree.readOnly(path);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        repairer.close();
        data.close();
        ns.close();
    }
}
