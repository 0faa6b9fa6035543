package org.kerrighed.fs;

import org.kerrighed.fs.internal.FsEngine;
import org.kerrighed.fs.internal.Inode;
import org.kerrighed.fs.internal.LocalFilePosition;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code krg} scheme of {@code java.nio.file}, installed through {@link java.util.ServiceLoader}.
 *
 * <p>A krg file system exists once a node of its cluster has started it in this JVM ({@link ClusterFs#start});
 * each node that did has its own {@link KrgFileSystem}, all showing the same tree. URIs:
 * <ul>
 *   <li>{@code krg://CLUSTER/a/b} names {@code /a/b} of the file system of CLUSTER's node that opened it first
 *       (among those still open in this JVM);</li>
 *   <li>{@code krg://N@CLUSTER/a/b} names it through node N's file system (several nodes of one cluster in one
 *       JVM, as in tests).</li>
 * </ul>
 * A URI with another scheme, no authority, a query or a fragment is rejected with
 * {@link IllegalArgumentException}. Cluster names are unique within a JVM.
 *
 * <p>Not supported: symbolic and hard links ({@link UnsupportedOperationException}; {@code NOFOLLOW_LINKS} is
 * accepted and changes nothing), watch services, file locks, memory mapping. Errors are the standard exceptions.
 * Thread-safe.
 */
public final class KrgFileSystemProvider extends FileSystemProvider {
    /** The URI scheme, {@code "krg"}. */
    public static final String SCHEME = "krg";

    private static final int COPY_BUFFER = 1 << 20;

    /** Open file systems by cluster name, in the order their nodes opened them. */
    private final Map<String, List<KrgFileSystem>> open = new LinkedHashMap<>();

    /** For {@link java.util.ServiceLoader}; elsewhere use {@link #instance()}. */
    public KrgFileSystemProvider() {
    }

    private static final class Own {
        static final KrgFileSystemProvider INSTANCE = new KrgFileSystemProvider();
    }

    /**
     * The installed provider of the {@code krg} scheme, or one of this class's own when the installed one is not
     * this class (this class was loaded by another class loader than the system's).
     */
    public static KrgFileSystemProvider instance() {
        for (FileSystemProvider p : FileSystemProvider.installedProviders()) {
            if (p instanceof KrgFileSystemProvider k) {
                return k;
            }
        }
        return Own.INSTANCE;
    }

    /** Makes {@code fs} reachable by URI. @throws IllegalStateException when its node's is already open */
    synchronized void register(KrgFileSystem fs) {
        List<KrgFileSystem> nodes = open.computeIfAbsent(fs.clusterName(), c -> new ArrayList<>());
        for (KrgFileSystem other : nodes) {
            if (other.nodeId() == fs.nodeId()) {
                throw new IllegalStateException("node " + fs.nodeId() + " of cluster " + fs.clusterName()
                        + " already has an open krg file system");
            }
        }
        nodes.add(fs);
    }

    synchronized void unregister(KrgFileSystem fs) {
        List<KrgFileSystem> nodes = open.get(fs.clusterName());
        if (nodes != null && nodes.remove(fs) && nodes.isEmpty()) {
            open.remove(fs.clusterName());
        }
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    /** What a URI names: a cluster, maybe one of its nodes (-1: any), and an absolute path. */
    private record Target(String cluster, int node, String path) {
        String describe() {
            return node < 0 ? "cluster " + cluster : "node " + node + " of cluster " + cluster;
        }
    }

    private static Target parse(URI uri) {
        if (!SCHEME.equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("URI scheme is not 'krg': " + uri);
        }
        if (uri.isOpaque() || uri.getRawAuthority() == null || uri.getRawAuthority().isEmpty()) {
            throw new IllegalArgumentException("URI names no cluster, it is not krg://CLUSTER/path or "
                    + "krg://NODE@CLUSTER/path: " + uri);
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("krg URI has a query or a fragment: " + uri);
        }
        String authority = uri.getAuthority();
        int at = authority.indexOf('@');
        int node = -1;
        if (at >= 0) {
            String n = authority.substring(0, at);
            try {
                node = Integer.parseInt(n);
            } catch (NumberFormatException e) {
                node = -1;
            }
            if (node < 0 || !n.equals(Integer.toString(node))) {
                throw new IllegalArgumentException("'" + n + "' in krg URI is not a node id: " + uri);
            }
        }
        String cluster = authority.substring(at + 1);
        if (cluster.isEmpty()) {
            throw new IllegalArgumentException("krg URI names no cluster: " + uri);
        }
        String path = uri.getPath();
        return new Target(cluster, node, path.isEmpty() ? "/" : path);
    }

    private synchronized KrgFileSystem find(Target t) {
        for (KrgFileSystem fs : open.getOrDefault(t.cluster(), List.of())) {
            if (t.node() < 0 || fs.nodeId() == t.node()) {
                return fs;
            }
        }
        return null;
    }

    /**
     * The file system {@code uri} names; its path is ignored.
     *
     * @throws FileSystemNotFoundException when no node of the cluster (or not that node) opened it in this JVM
     * @throws IllegalArgumentException    when {@code uri} is not a krg URI
     */
    @Override
    public KrgFileSystem getFileSystem(URI uri) {
        return fileSystem(parse(uri), uri);
    }

    private KrgFileSystem fileSystem(Target t, URI uri) {
        KrgFileSystem fs = find(t);
        if (fs == null) {
            throw new FileSystemNotFoundException("the krg file system of " + t.describe()
                    + " is not open in this JVM: " + uri);
        }
        return fs;
    }

    /**
     * A krg file system cannot be created from a URI: it is opened by starting a node of its cluster.
     *
     * @throws FileSystemAlreadyExistsException when it is open
     * @throws FileSystemNotFoundException      otherwise, saying so
     */
    @Override
    public KrgFileSystem newFileSystem(URI uri, Map<String, ?> env) {
        Target t = parse(uri);
        if (find(t) != null) {
            throw new FileSystemAlreadyExistsException(uri.toString());
        }
        throw new FileSystemNotFoundException("the krg file system of " + t.describe() + " is not open in this "
                + "JVM: a Node of the cluster must be started (or ClusterFs.start on its KDDM) to open it");
    }

    /** The path {@code uri} names (its path decoded), in the file system {@link #getFileSystem} finds. */
    @Override
    public KrgPath getPath(URI uri) {
        Target t = parse(uri);
        return fileSystem(t, uri).getPath(t.path());
    }

    static KrgPath krg(Path path) {
        if (!(Objects.requireNonNull(path) instanceof KrgPath p)) {
            throw new ProviderMismatchException("not a krg path: " + path);
        }
        return p;
    }

    private static boolean isProc(String enginePath) {
        return enginePath.equals("/proc") || enginePath.startsWith("/proc/");
    }

    private static AccessDeniedException procReadOnly(Path p) {
        return new AccessDeniedException(p.toString(), null, "/proc is read-only");
    }

    /** The mode of a new file or directory: {@code posix:permissions} if given, else {@code fallback}. */
    @SuppressWarnings("unchecked")
    private static int createMode(FileAttribute<?>[] attrs, int fallback) {
        int mode = fallback;
        for (FileAttribute<?> a : attrs) {
            if (!a.name().equals("posix:permissions") && !a.name().equals("unix:permissions")) {
                throw new UnsupportedOperationException("'" + a.name() + "' cannot be set when creating a krg file"
                        + " (only posix:permissions)");
            }
            mode = KrgFileAttributes.mode((Set<PosixFilePermission>) a.value());
        }
        return mode;
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                              FileAttribute<?>... attrs) throws IOException {
        return newFileChannel(path, options, attrs);
    }

    /**
     * Opens a channel. Options: READ, WRITE, APPEND, CREATE, CREATE_NEW, TRUNCATE_EXISTING, SYNC, DSYNC (each write
     * forced), DELETE_ON_CLOSE; SPARSE and NOFOLLOW_LINKS are accepted and change nothing. A new file gets
     * {@code posix:permissions} if given, else {@code rw-r--r--}. Files under {@code /proc} open for reading only,
     * as a snapshot of their text taken now.
     *
     * @throws IllegalArgumentException      for APPEND with READ or TRUNCATE_EXISTING
     * @throws UnsupportedOperationException for another option, or another attribute
     * @throws AccessDeniedException         for a {@code /proc} file opened to write, or a file the caller may not
     *                                       read or write as asked
     * @throws FileSystemException           "Is a directory" for a directory
     */
    @Override
    public KrgFileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        KrgPath p = krg(path);
        boolean read = false;
        boolean write = false;
        boolean append = false;
        boolean create = false;
        boolean createNew = false;
        boolean truncate = false;
        boolean deleteOnClose = false;
        KrgFileChannel.Sync sync = KrgFileChannel.Sync.NONE;
        for (OpenOption o : options) {
            switch (Objects.requireNonNull(o)) {
                case StandardOpenOption.READ -> read = true;
                case StandardOpenOption.WRITE -> write = true;
                case StandardOpenOption.APPEND -> append = true;
                case StandardOpenOption.CREATE -> create = true;
                case StandardOpenOption.CREATE_NEW -> createNew = true;
                case StandardOpenOption.TRUNCATE_EXISTING -> truncate = true;
                case StandardOpenOption.DELETE_ON_CLOSE -> deleteOnClose = true;
                case StandardOpenOption.SYNC -> sync = KrgFileChannel.Sync.ALL;
                case StandardOpenOption.DSYNC -> {
                    if (sync == KrgFileChannel.Sync.NONE) {
                        sync = KrgFileChannel.Sync.DATA;
                    }
                }
                case StandardOpenOption.SPARSE, LinkOption.NOFOLLOW_LINKS -> {
                }
                default -> throw new UnsupportedOperationException("open option " + o + " is not supported");
            }
        }
        if (append && read) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && truncate) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        write |= append;
        read |= !write;
        int mode = createMode(attrs, 0644);
        KrgFileSystem fs = p.getFileSystem();
        FsEngine engine = fs.engine();
        String ep = p.enginePath();
        FileContent content;
        if (isProc(ep)) {
            if (write) {
                throw procReadOnly(p);
            }
            content = FileContent.snapshot(engine.procFile(ep).orElseThrow());
        } else {
            Inode inode;
            boolean created;
            if (write && createNew) {
                inode = engine.createFile(ep, mode, true);
                created = true;
            } else {
                inode = write && create ? statIfExists(engine, ep) : engine.stat(ep);
                created = inode == null;
                if (created) {
                    inode = engine.createFile(ep, mode, false);
                }
            }
            checkNotDirectory(p, inode);
            if (!created) {
                engine.checkAccess(ep, read, write, false);
            }
            if (write && truncate && inode.size() > 0) {
                engine.truncate(inode.id(), 0);
            }
            content = FileContent.of(engine, inode.id());
        }
        Runnable onClose = deleteOnClose ? () -> deleteIfPresent(engine, ep) : () -> { };
        KrgFileChannel channel = new KrgFileChannel(fs, content, new LocalFilePosition(0), read, write, append,
                sync, onClose);
        fs.opened(channel);
        return channel;
    }

    private static void checkNotDirectory(KrgPath p, Inode inode) throws FileSystemException {
        if (inode.isDirectory()) {
            throw new FileSystemException(p.toString(), null, "Is a directory");
        }
    }

    private static Inode statIfExists(FsEngine engine, String ep) throws IOException {
        try {
            return engine.stat(ep);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** DELETE_ON_CLOSE: the file may be gone already, or not deletable; as on Unix, closing does not fail. */
    private static void deleteIfPresent(FsEngine engine, String ep) {
        try {
            engine.delete(ep);
        } catch (IOException | RuntimeException e) {
            // nothing to delete, or not allowed: the channel still closes
        }
    }

    /**
     * The entries of a directory as listed now (later changes are not seen), resolved against {@code dir} as given
     * and filtered when iterated.
     *
     * @throws java.nio.file.NotDirectoryException when it is a file
     */
    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        KrgPath p = krg(dir);
        Objects.requireNonNull(filter);
        KrgFileSystem fs = p.getFileSystem();
        KrgDirectoryStream s = new KrgDirectoryStream(fs, p, List.copyOf(fs.engine().list(p.enginePath())), filter);
        fs.opened(s);
        return s;
    }

    /** Creates a directory with {@code posix:permissions} if given, else {@code rwxr-xr-x}. */
    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        KrgPath p = krg(dir);
        p.getFileSystem().engine().createDirectory(p.enginePath(), createMode(attrs, 0755));
    }

    /** @throws UnsupportedOperationException always: there are no symbolic links */
    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) {
        throw new UnsupportedOperationException("krg file systems have no symbolic links");
    }

    /** @throws UnsupportedOperationException always: there are no hard links */
    @Override
    public void createLink(Path link, Path existing) {
        throw new UnsupportedOperationException("krg file systems have no hard links");
    }

    /** @throws UnsupportedOperationException always: there are no symbolic links */
    @Override
    public Path readSymbolicLink(Path link) {
        throw new UnsupportedOperationException("krg file systems have no symbolic links");
    }

    @Override
    public void delete(Path path) throws IOException {
        KrgPath p = krg(path);
        p.getFileSystem().engine().delete(p.enginePath());
    }

    private record CopyFlags(boolean atomic, boolean replace, boolean attributes) {
        static CopyFlags parse(CopyOption[] options, boolean move) {
            boolean atomic = false;
            boolean replace = false;
            boolean attributes = move;
            for (CopyOption o : options) {
                if (o == StandardCopyOption.REPLACE_EXISTING) {
                    replace = true;
                } else if (o == StandardCopyOption.COPY_ATTRIBUTES && !move) {
                    attributes = true;
                } else if (o == StandardCopyOption.ATOMIC_MOVE && move) {
                    atomic = true;
                } else if (o != LinkOption.NOFOLLOW_LINKS) {
                    throw new UnsupportedOperationException((move ? "move" : "copy") + " option " + o
                            + " is not supported");
                }
            }
            return new CopyFlags(atomic, replace, attributes);
        }
    }

    /**
     * Copies a file, or creates an empty directory in place of a directory (as the default file system does). The
     * copy gets the source's permissions; with COPY_ATTRIBUTES also its times and, when the caller may set them,
     * its owner and group. Works between the file systems of different clusters.
     *
     * @throws FileAlreadyExistsException    when the target exists and REPLACE_EXISTING is not given
     * @throws DirectoryNotEmptyException    when the target to replace is a non-empty directory
     * @throws UnsupportedOperationException for ATOMIC_MOVE
     */
    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        KrgPath s = krg(source);
        KrgPath t = krg(target);
        CopyFlags flags = CopyFlags.parse(options, false);
        copy(s, t, flags);
    }

    /** Copies; returns false when source and target are the same file (nothing done). */
    private static boolean copy(KrgPath s, KrgPath t, CopyFlags flags) throws IOException {
        FsEngine from = s.getFileSystem().engine();
        FsEngine to = t.getFileSystem().engine();
        String sp = s.enginePath();
        String tp = t.enginePath();
        Inode src = from.stat(sp);
        Inode existing = statIfExists(to, tp);
        if (existing != null) {
            if (sameTree(s, t) && existing.id() == src.id()) {
                return false;
            }
            if (!flags.replace()) {
                throw new FileAlreadyExistsException(t.toString());
            }
            to.delete(tp);
        }
        if (src.isDirectory()) {
            to.createDirectory(tp, src.mode());
        } else {
            Inode dst = to.createFile(tp, src.mode(), true);
            copyBytes(from, src.id(), to, dst.id());
        }
        if (flags.attributes()) {
            to.setTimes(tp, src.modified(), src.accessed(), src.created());
            try {
                to.setOwner(tp, src.uid(), src.gid());
            } catch (AccessDeniedException e) {
                // the caller may not give the file away: it keeps the caller's owner, as on Unix
            }
        }
        return true;
    }

    private static void copyBytes(FsEngine from, long src, FsEngine to, long dst) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(COPY_BUFFER);
        long at = 0;
        while (from.read(src, at, buf.clear()) > 0) {
            buf.flip();
            int n = buf.remaining();
            to.write(dst, at, buf);
            at += n;
        }
    }

    private static boolean sameTree(KrgPath a, KrgPath b) {
        return a.getFileSystem().clusterName().equals(b.getFileSystem().clusterName());
    }

    /**
     * Moves by an atomic rename within a cluster's tree (also between two nodes' file systems of one cluster).
     * Between clusters: a copy (with attributes) then a delete of the source, for a file or an empty directory.
     *
     * @throws FileAlreadyExistsException       when the target exists and neither REPLACE_EXISTING nor ATOMIC_MOVE
     *                                          is given
     * @throws AtomicMoveNotSupportedException  for ATOMIC_MOVE between clusters
     * @throws DirectoryNotEmptyException       for a non-empty directory between clusters, or a non-empty target
     */
    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        KrgPath s = krg(source);
        KrgPath t = krg(target);
        CopyFlags flags = CopyFlags.parse(options, true);
        FsEngine engine = s.getFileSystem().engine();
        String sp = s.enginePath();
        if (sameTree(s, t)) {
            String tp = t.enginePath();
            t.getFileSystem().ensureOpen();
            if (flags.atomic()) {
                engine.rename(sp, tp, true);
                return;
            }
            Inode src = engine.stat(sp);
            Inode existing = statIfExists(engine, tp);
            if (existing != null) {
                if (existing.id() == src.id()) {
                    return;
                }
                if (!flags.replace()) {
                    throw new FileAlreadyExistsException(t.toString());
                }
                if (existing.isDirectory() != src.isDirectory()) {
                    engine.delete(tp);
                }
            }
            engine.rename(sp, tp, flags.replace());
            return;
        }
        if (flags.atomic()) {
            throw new AtomicMoveNotSupportedException(s.toString(), t.toString(), "not the same cluster");
        }
        Inode src = engine.stat(sp);
        if (src.isDirectory() && src.entryCount() > 0) {
            throw new DirectoryNotEmptyException(s.toString());
        }
        if (copy(s, t, flags)) {
            engine.delete(sp);
        }
    }

    /** True for equal paths, else when both name the same inode of one cluster's tree. */
    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        KrgPath a = krg(path);
        if (a.equals(path2)) {
            return true;
        }
        if (!(Objects.requireNonNull(path2) instanceof KrgPath b) || !sameTree(a, b)) {
            return false;
        }
        return a.getFileSystem().engine().stat(a.enginePath()).id()
                == b.getFileSystem().engine().stat(b.enginePath()).id();
    }

    /** True when the name starts with a dot. */
    @Override
    public boolean isHidden(Path path) {
        KrgPath name = krg(path).getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        KrgPath p = krg(path);
        p.getFileSystem().engine().stat(p.enginePath());
        return p.getFileSystem().store();
    }

    /** Checks that the file exists and the caller has the access asked for (never write under {@code /proc}). */
    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        KrgPath p = krg(path);
        FsEngine engine = p.getFileSystem().engine();
        String ep = p.enginePath();
        boolean read = false;
        boolean write = false;
        boolean execute = false;
        for (AccessMode m : modes) {
            switch (m) {
                case READ -> read = true;
                case WRITE -> write = true;
                case EXECUTE -> execute = true;
            }
        }
        if (!read && !write && !execute) {
            engine.stat(ep);
            return;
        }
        engine.checkAccess(ep, read, write, execute);
    }

    /** The view of {@code type} (basic, posix, owner, krg), or null; it looks the file up at each call. */
    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        return KrgAttributeViews.view(krg(path), Objects.requireNonNull(type));
    }

    /**
     * The attributes, as {@link BasicFileAttributes} or {@link PosixFileAttributes}.
     *
     * @throws UnsupportedOperationException for another type
     */
    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        KrgPath p = krg(path);
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException("krg files have no " + type.getName());
        }
        return (A) KrgAttributeViews.attributes(p);
    }

    /** {@code [view:]name,...} or {@code [view:]*} of the views basic, posix, owner and krg. */
    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        return KrgAttributeViews.read(krg(path), attributes);
    }

    /**
     * Sets {@code [view:]name}: lastModifiedTime, lastAccessTime, creationTime, permissions, owner, group,
     * krg:replication.
     */
    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        KrgAttributeViews.set(krg(path), attribute, value);
    }
}
