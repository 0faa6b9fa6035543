package org.kerrighed.node;

import org.kerrighed.fs.FsStatus;
import org.kerrighed.rpc.ConversationKey;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The services behind {@code krg fs} (ids 925-929, types 2080-2089): a tool lists, reads, writes, makes and removes
 * files of the cluster file system, and reads its status, through one node. The node does the work on its own
 * {@link Node#fs() file system} through {@code java.nio.file}, with its own credentials ({@code node.uid},
 * {@code node.gid}): a tool is never a member.
 *
 * <p><b>Paths</b> are the file system's, from its root; a relative path is taken from {@code /}.
 *
 * <p><b>Copies</b> ({@link #READ}, {@link #WRITE}) stream a file's bytes in pieces, a bounded number unacknowledged:
 * {@link FsCopy}.
 *
 * <p><b>Errors.</b> What the file system refuses (no such file, not a directory, already exists, a non-empty
 * directory, permission denied) reaches the tool as an {@link FsException} naming the path; a bad request as the
 * {@link IllegalArgumentException} the node threw.
 */
public final class FsAdmin {
    private static final Logger log = LoggerFactory.getLogger(FsAdmin.class);

    /** The largest piece of a copy, and the default. */
    public static final int MAX_PIECE = 1 << 20;
    /** The most pieces a copy may have unacknowledged. */
    public static final int MAX_WINDOW = 64;

    /**
     * A file or directory as a listing shows it.
     *
     * @param name           its name in its directory ({@code /} for the root)
     * @param directory      true for a directory
     * @param mode           its permission bits ({@code 0755})
     * @param owner          its owner's uid, in decimal
     * @param group          its group's gid, in decimal
     * @param size           bytes (0 for a directory)
     * @param replication    copies kept of each chunk; for a directory the default of files made in it (0: the file
     *                       system's default)
     * @param modifiedMillis its last modification, in milliseconds since the epoch
     */
    public record Entry(String name, boolean directory, int mode, String owner, String group, long size,
                        int replication, long modifiedMillis) {
    }

    /** What {@code path} (normalised) is: a directory's entries sorted by name, or a file alone. */
    public record Listing(String path, boolean directory, List<Entry> entries) {
        public Listing {
            entries = new ArrayList<>(entries);
        }
    }

    /** Read file {@code path} in pieces of at most {@code pieceBytes}, at most {@code window} unacknowledged. */
    public record ReadRequest(String path, int pieceBytes, int window) {
        public ReadRequest {
            checkPath(path);
            checkCopy(pieceBytes, window);
        }
    }

    /**
     * Write {@code size} bytes to {@code path} (into it, named {@code name}, when it is a directory), in pieces of at
     * most {@code pieceBytes}, at most {@code window} unacknowledged. {@code replication}: copies of each chunk (0:
     * the directory's default); {@code replace}: an existing file is replaced (else refused).
     */
    public record WriteRequest(String path, String name, long size, int replication, boolean replace, int pieceBytes,
                               int window) {
        public WriteRequest {
            checkPath(path);
            if (name == null || name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
                throw new IllegalArgumentException("name: a file name without '/', got '" + name + "'");
            }
            if (size < 0) {
                throw new IllegalArgumentException("size: must be at least 0, got " + size);
            }
            if (replication < 0 || replication > 8) {
                throw new IllegalArgumentException("replication: must be in 1-8 (or 0: the default), got "
                        + replication);
            }
            checkCopy(pieceBytes, window);
        }
    }

    /** The receiving side of a copy has stored {@code bytes} bytes in all. */
    public record Ack(long bytes) {
    }

    /** What a {@link ChangeRequest} does. */
    public enum Change {
        /** Make a directory; with {@code all} its missing parents too, and no error when it exists. */
        MKDIR,
        /** Remove a file or an empty directory; with {@code all} a directory with everything in it. */
        REMOVE
    }

    /** Apply {@code change} to {@code path}. */
    public record ChangeRequest(Change change, String path, boolean all) {
        public ChangeRequest {
            if (change == null) {
                throw new IllegalArgumentException("change: required");
            }
            checkPath(path);
        }
    }

    /** One node's storage, as {@link FsStatus.NodeStorage}. */
    public record Usage(int node, long usedBytes, long chunks, long quota, long freeBytes) {
    }

    /** The file system's health as node {@code node} sees it, as {@link FsStatus}. */
    public record Status(int node, List<Usage> nodes, long files, long directories, long chunks, long underReplicated,
                         long lost, long repairsDone, long repairBytes, boolean repairing) {
        public Status {
            nodes = new ArrayList<>(nodes);
        }
    }

    /** A file-system operation the node refused or that failed there; the message names the path. */
    public static final class FsException extends KerrighedException {
        public FsException(String message) {
            super(message);
        }
    }

    public static final ServiceKey<String, Listing> LIST = ServiceKey.of(925, "fs.list", String.class, Listing.class);
    public static final ConversationKey<ReadRequest> READ = ConversationKey.of(926, "fs.read", ReadRequest.class);
    public static final ConversationKey<WriteRequest> WRITE = ConversationKey.of(927, "fs.write", WriteRequest.class);
    /** Replies with how many directories were made or entries removed. */
    public static final ServiceKey<ChangeRequest, Long> CHANGE = ServiceKey.of(928, "fs.change", ChangeRequest.class,
            Long.class);
    /** The request is ignored. */
    public static final ServiceKey<String, Status> STATUS = ServiceKey.of(929, "fs.status", String.class,
            Status.class);

    private FsAdmin() {
    }

    static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node.fs", 2080, 2089)
                .register(2080, Entry.class)
                .register(2081, Listing.class)
                .register(2082, ReadRequest.class)
                .register(2083, WriteRequest.class)
                .register(2084, Ack.class)
                .register(2085, Change.class)
                .register(2086, ChangeRequest.class)
                .register(2087, Usage.class)
                .register(2088, Status.class);
    }

    private static void checkPath(String path) {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("path: required");
        }
        if (path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("path: contains a NUL character");
        }
    }

    private static void checkCopy(int pieceBytes, int window) {
        if (pieceBytes < 1 || pieceBytes > MAX_PIECE) {
            throw new IllegalArgumentException("pieceBytes: must be in 1-" + MAX_PIECE + ", got " + pieceBytes);
        }
        if (window < 1 || window > MAX_WINDOW) {
            throw new IllegalArgumentException("window: must be in 1-" + MAX_WINDOW + ", got " + window);
        }
    }

    // ------------------------------------------------------------------ the node's side

    static void install(Node node, RpcNode rpc) {
        rpc.register(LIST, HandlerKind.BLOCKING, (ctx, path) -> fsCall(path, () -> list(resolve(node, path))));
        rpc.register(CHANGE, HandlerKind.BLOCKING, (ctx, r) -> fsCall(r.path(), () -> change(node, r)));
        rpc.register(STATUS, HandlerKind.BLOCKING, (ctx, r) -> fsCall("/", () -> status(node)));
        rpc.registerConversation(READ, (c, r) -> fsCall(r.path(), () -> {
            FsCopy.serveRead(node, rpc, c, r);
            return null;
        }));
        rpc.registerConversation(WRITE, (c, r) -> fsCall(r.path(), () -> {
            FsCopy.serveWrite(node, rpc, c, r);
            return null;
        }));
    }

    /** {@code path} on the node's file system, from its root, normalised. */
    static Path resolve(Node node, String path) {
        Path root = node.fs().path("/");
        return root.resolve(path).normalize();
    }

    private interface FsWork<T> {
        T run() throws Exception;
    }

    /** Runs {@code work}, turning the file system's refusals into {@link FsException}s that name the path. */
    private static <T> T fsCall(String path, FsWork<T> work) throws Exception {
        try {
            return work.run();
        } catch (IOException e) {
            throw new FsException(describe(e, path));
        } catch (UncheckedIOException e) {
            throw new FsException(describe(e.getCause(), path));
        }
    }

    /** {@code PATH: reason}, in the words of {@code ls} and {@code rm}. */
    static String describe(IOException e, String path) {
        String file = e instanceof FileSystemException f && f.getFile() != null ? f.getFile() : path;
        String reason = switch (e) {
            case NoSuchFileException x -> "no such file or directory";
            case NotDirectoryException x -> "not a directory";
            case FileAlreadyExistsException x -> x.getReason() == null ? "already exists" : x.getReason();
            case DirectoryNotEmptyException x -> "directory not empty";
            case AccessDeniedException x -> x.getReason() == null ? "permission denied"
                    : "permission denied (" + x.getReason() + ")";
            case FileSystemException x when x.getReason() != null -> x.getReason().substring(0, 1)
                    .toLowerCase(Locale.ROOT) + x.getReason().substring(1);
            case FileSystemException x -> "failed (" + x.getClass().getSimpleName() + ")";
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
        return file + ": " + reason;
    }

    static Listing list(Path p) throws IOException {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        if (!a.isDirectory()) {
            return new Listing(p.toString(), false, List.of(entry(p)));
        }
        List<Entry> entries = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(p)) {
            for (Path child : s) {
                try {
                    entries.add(entry(child));
                } catch (NoSuchFileException gone) {
                    // removed since the directory was read
                }
            }
        }
        entries.sort(Comparator.comparing(Entry::name));
        return new Listing(p.toString(), true, entries);
    }

    static Entry entry(Path p) throws IOException {
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
        int mode = 0;
        for (PosixFilePermission bit : a.permissions()) {
            mode |= 0400 >> bit.ordinal();
        }
        int replication = (Integer) Files.getAttribute(p, "krg:replication");
        Path name = p.getFileName();
        return new Entry(name == null ? "/" : name.toString(), a.isDirectory(), mode, a.owner().getName(),
                a.group().getName(), a.isDirectory() ? 0 : a.size(), replication, a.lastModifiedTime().toMillis());
    }

    private static long change(Node node, ChangeRequest r) throws IOException {
        Path p = resolve(node, r.path());
        long n = switch (r.change()) {
            case MKDIR -> mkdir(p, r.all());
            case REMOVE -> remove(p, r.all());
        };
        log.info("node {}: {} {} by a tool ({}, {} entries)", node.id(), r.change(), p, r.all() ? "all" : "one", n);
        return n;
    }

    private static long mkdir(Path p, boolean parents) throws IOException {
        if (!parents) {
            Files.createDirectory(p);
            return 1;
        }
        List<Path> missing = new ArrayList<>();
        for (Path q = p; q != null && !Files.isDirectory(q); q = q.getParent()) {
            missing.addFirst(q);
        }
        long made = 0;
        for (Path q : missing) {
            try {
                Files.createDirectory(q);
                made++;
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(q)) {
                    throw new FileAlreadyExistsException(q.toString(), null, "exists and is not a directory");
                }
            }
        }
        return made;
    }

    private static long remove(Path p, boolean recursive) throws IOException {
        if (p.getParent() == null) {
            throw new AccessDeniedException(p.toString(), null, "the root directory is not removed");
        }
        if (!Files.readAttributes(p, BasicFileAttributes.class).isDirectory()) {
            Files.delete(p);
            return 1;
        }
        if (!recursive) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(p)) {
                if (s.iterator().hasNext()) {
                    throw new DirectoryNotEmptyException(p.toString());
                }
            }
            Files.delete(p);
            return 1;
        }
        long[] removed = {0};
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                removed[0]++;
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                removed[0]++;
                return FileVisitResult.CONTINUE;
            }
        });
        return removed[0];
    }

    private static Status status(Node node) {
        FsStatus s = node.fs().status();
        List<Usage> nodes = s.nodes().stream().map(n -> new Usage(n.node(), n.usedBytes(), n.chunks(), n.quota(),
                n.freeBytes())).toList();
        return new Status(node.id(), nodes, s.files(), s.directories(), s.chunks(), s.underReplicated(), s.lost(),
                s.repairsDone(), s.repairBytes(), s.repairing());
    }

    // ------------------------------------------------------------------ the tool's side

    /**
     * What {@code path} is: a directory's entries, or the file alone.
     *
     * @throws FsException when the node's file system refuses (no such file, permission denied)
     */
    public static Listing list(RpcClient tool, String path, Duration timeout) {
        return await(tool, LIST, path, timeout);
    }

    /** Makes directory {@code path} ({@code parents}: with its missing parents); returns the directories made. */
    public static long mkdir(RpcClient tool, String path, boolean parents, Duration timeout) {
        return await(tool, CHANGE, new ChangeRequest(Change.MKDIR, path, parents), timeout);
    }

    /** Removes {@code path} ({@code recursive}: a directory with its contents); returns the entries removed. */
    public static long remove(RpcClient tool, String path, boolean recursive, Duration timeout) {
        return await(tool, CHANGE, new ChangeRequest(Change.REMOVE, path, recursive), timeout);
    }

    /** The file system's health as the node sees it (the node asks every live node). */
    public static Status status(RpcClient tool, Duration timeout) {
        return await(tool, STATUS, "", timeout);
    }

    /** The node's error as thrown there: {@link FsException}, {@link IllegalArgumentException}, else as is. */
    static RuntimeException local(RemoteException re) {
        String prefix = "node " + re.peer() + ": " + re.remoteType() + ": ";
        String m = re.getMessage().startsWith(prefix) ? re.getMessage().substring(prefix.length()) : re.getMessage();
        if (re.remoteType().equals(FsException.class.getName())) {
            return new FsException(m);
        }
        if (re.remoteType().equals(IllegalArgumentException.class.getName())) {
            return new IllegalArgumentException(m);
        }
        if (re.remoteType().equals(KerrighedException.class.getName())) {
            return new KerrighedException("node " + re.peer() + ": " + m);
        }
        return re;
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
            throw e.getCause() instanceof RemoteException re ? local(re) : ProcessAdmin.local(e.getCause());
        }
    }
}
