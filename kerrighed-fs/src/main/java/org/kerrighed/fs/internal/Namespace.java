package org.kerrighed.fs.internal;

import org.kerrighed.kddm.DefaultOwner;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.linkers.ObjectLinker;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The directory tree: inodes in a replicated KDDM set, changed under KDDM write pins. An operation that changes
 * several inodes pins them parent before child, or in id order for the two directories of a rename, so operations
 * never deadlock; a rename that moves a directory to another parent also holds the rename lock, so two such
 * renames cannot make a cycle.
 */
final class Namespace {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Namespace.class);
    private static final int ALLOC_BLOCK = 1024;
    /** Tests only: how many of the next removals of an inode no entry names fail (as a timeout would). */
    static final java.util.concurrent.atomic.AtomicInteger FAIL_FORGETS_FOR_TESTS =
            new java.util.concurrent.atomic.AtomicInteger();
    private static final long RENAME_LOCK = 0;

    private final Kddm kddm;
    private final KddmSet<Inode> inodes;
    private final KddmSet<Long> counters;
    private final int chunkSize;
    private final int defaultReplication;
    private long nextId;
    private long lastId;
    private volatile boolean closed;

    Namespace(Kddm kddm, int chunkSize, int defaultReplication) {
        this.kddm = kddm;
        this.chunkSize = chunkSize;
        this.defaultReplication = defaultReplication;
        SetSpec spec = kddm.objectSpec(Inode.class).withOwner(DefaultOwner.nodeInId())
                .withFlags(SetFlag.LOCAL_EXCLUSIVE).withReplication(SetSpec.SYSTEM_REPLICATION);
        this.inodes = kddm.createStaticSet(FsWire.INODES, spec,
                new ObjectLinker<>(Inode.class, id -> id == Inode.ROOT ? root() : null));
        this.counters = kddm.createStaticSet(FsWire.COUNTERS, kddm.objectSpec(Long.class)
                .withFlags(SetFlag.LOCAL_EXCLUSIVE).withReplication(SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(Long.class));
    }

    private Inode root() {
        long now = Clock.micros();
        return new Inode(Inode.ROOT, 0, Inode.Kind.DIRECTORY, 0777, 0, 0, 0, now, now, now, now, 0, chunkSize,
                null, null, null, 0);
    }

    KddmSet<Inode> inodes() {
        return inodes;
    }

    Credentials caller() {
        return kddm.callers().credentials();
    }

    // ---- reading

    /** The inode {@code id}. @throws NoSuchFileException once it was deleted */
    Inode inode(long id) throws IOException {
        return read(id).orElseThrow(() -> new NoSuchFileException("inode " + id));
    }

    Optional<Inode> read(long id) throws IOException {
        try {
            if (id == Inode.ROOT) {
                try (Handle<Inode> h = inodes.get(id)) {
                    return Optional.of(h.value());
                }
            }
            Optional<Handle<Inode>> h = inodes.getIfExists(id);
            if (h.isEmpty()) {
                return Optional.empty();
            }
            try (Handle<Inode> handle = h.get()) {
                return Optional.ofNullable(handle.value());
            }
        } catch (KddmException e) {
            throw io(String.valueOf(id), e);
        }
    }

    /** The inode at {@code path}, checking search permission on every directory on the way. */
    Inode resolve(String path) throws IOException {
        Inode at = inode(Inode.ROOT);
        if (path.equals("/")) {
            return at;
        }
        Credentials who = caller();
        int from = 1;
        while (from <= path.length()) {
            int end = path.indexOf('/', from);
            if (end < 0) {
                end = path.length();
            }
            if (!at.isDirectory()) {
                throw new NotDirectoryException(path.substring(0, from - 1));
            }
            if (!allows(at, who, 1)) {
                throw new AccessDeniedException(path.substring(0, Math.max(1, from - 1)), null, "search permission");
            }
            long child = at.lookup(path.substring(from, end));
            Optional<Inode> next = child < 0 ? Optional.empty() : read(child);
            if (next.isEmpty()) {
                throw new NoSuchFileException(path);
            }
            at = next.get();
            from = end + 1;
        }
        return at;
    }

    // ---- changing

    Inode createFile(String path, int mode, boolean exclusive) throws IOException {
        return create(path, Inode.Kind.FILE, mode, exclusive);
    }

    Inode createDirectory(String path, int mode) throws IOException {
        return create(path, Inode.Kind.DIRECTORY, mode, true);
    }

    private Inode create(String path, Inode.Kind kind, int mode, boolean exclusive) throws IOException {
        if (path.equals("/")) {
            throw new FileAlreadyExistsException(path);
        }
        Inode parent = resolve(parentOf(path));
        String name = nameOf(path);
        Credentials who = caller();
        try (Pin dir = grabDirectory(parent.id(), parentOf(path))) {
            Inode d = dir.value();
            long existing = d.lookup(name);
            if (existing >= 0) {
                Optional<Inode> e = read(existing);
                if (e.isPresent()) {
                    if (exclusive) {
                        throw new FileAlreadyExistsException(path);
                    }
                    if (e.get().isDirectory()) {
                        throw new FileSystemException(path, null, "Is a directory");
                    }
                    return e.get();
                }
            }
            checkWrite(d, who, parentOf(path));
            long now = Clock.micros();
            int replication = kind == Inode.Kind.FILE ? replicationFor(d) : 0;
            Inode made = new Inode(allocate(), 0, kind, mode & 07777, who.uid(), who.gid(), 0, now, now, now, now,
                    replication, chunkSize, null, null, null, 0);
            try (Handle<Inode> h = inodes.grab(made.id())) {
                h.set(made);
            }
            dir.set(d.withEntry(name, made.id(), now));
            return made;
        } catch (KddmException e) {
            throw io(path, e);
        }
    }

    private int replicationFor(Inode dir) {
        if (dir.replication() > 0) {
            return dir.replication();
        }
        return kddm.members().length >= 2 ? defaultReplication : 1;
    }

    /** Deletes the entry at {@code path}. @return the inode it named (its chunks are the caller's to delete) */
    Inode delete(String path) throws IOException {
        if (path.equals("/")) {
            throw new FileSystemException(path, null, "the root cannot be deleted");
        }
        Inode parent = resolve(parentOf(path));
        String name = nameOf(path);
        Inode gone;
        try (Pin dir = grabDirectory(parent.id(), parentOf(path))) {
            Inode d = dir.value();
            long id = d.lookup(name);
            if (id < 0) {
                throw new NoSuchFileException(path);
            }
            checkWrite(d, caller(), parentOf(path));
            try (Pin child = grabExisting(id, path)) {
                gone = child.value();
                if (gone.isDirectory() && gone.entryCount() > 0) {
                    throw new DirectoryNotEmptyException(path);
                }
            }
            dir.set(d.withEntry(name, -1, Clock.micros()));
        } catch (KddmException e) {
            throw io(path, e);
        }
        forget(gone);
        return gone;
    }

    /** Stops the background removals of inodes ({@link #forget}). */
    void close() {
        closed = true;
    }

    /**
     * Drops an inode no entry names any more. The operation that unnamed it happened (its entry is gone), so a
     * removal that fails (KDDM recovering from a failure, say) does not fail it: it is retried in the background
     * ({@link BackgroundRetry}) until done or this node's file system closes. Until then the inode only takes room
     * (nothing names it; the caller deletes its chunks).
     */
    private void forget(Inode gone) {
        if (!tryForget(gone)) {
            BackgroundRetry.start("fs-forget-" + gone.id(), () -> closed, () -> {
                if (!tryForget(gone)) {
                    return false;
                }
                log.info("fs: inode {} removed", gone.id());
                return true;
            }, () -> { });
        }
    }

    private boolean tryForget(Inode gone) {
        try {
            if (FAIL_FORGETS_FOR_TESTS.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new KddmException("a removal made to fail (tests)");
            }
            inodes.remove(gone.id());
            return true;
        } catch (RuntimeException e) {                          // a KddmException, mostly
            log.warn("fs: inode {}, which nothing names any more, could not be removed ({}); retrying in the"
                    + " background", gone.id(), e.toString());
            return false;
        }
    }

    /**
     * Renames {@code source} to {@code target}.
     *
     * @return the inode the rename replaced, if any (its chunks are the caller's to delete)
     */
    Optional<Inode> rename(String source, String target, boolean replace) throws IOException {
        if (source.equals("/") || target.equals("/")) {
            throw new FileSystemException(source, target, "the root cannot be renamed");
        }
        if (target.startsWith(source + "/")) {
            throw new FileSystemException(source, target, "a directory cannot move into itself");
        }
        Inode moved = resolve(source);
        if (source.equals(target)) {
            return Optional.empty();
        }
        long from = resolve(parentOf(source)).id();
        long to = resolve(parentOf(target)).id();
        boolean lock = moved.isDirectory() && from != to;
        Handle<Long> renameLock = null;
        Pin first = null;
        Pin second = null;
        Optional<Inode> replaced = Optional.empty();
        try {
            if (lock) {
                renameLock = counters.grab(RENAME_LOCK);
                checkNotInside(moved.id(), parentOf(target));
            }
            first = grabDirectory(Math.min(from, to), Math.min(from, to) == from ? parentOf(source) : parentOf(target));
            if (from != to) {
                second = grabDirectory(Math.max(from, to), Math.max(from, to) == from ? parentOf(source)
                        : parentOf(target));
            }
            Pin src = first.id() == from ? first : second;
            Pin dst = first.id() == to ? first : second;
            Credentials who = caller();
            checkWrite(src.value(), who, parentOf(source));
            checkWrite(dst.value(), who, parentOf(target));
            long id = src.value().lookup(nameOf(source));
            if (id < 0 || id != moved.id()) {
                throw new NoSuchFileException(source);
            }
            long existing = dst.value().lookup(nameOf(target));
            if (existing >= 0) {
                Optional<Inode> e = read(existing);
                if (e.isPresent()) {
                    if (!replace) {
                        throw new FileAlreadyExistsException(target);
                    }
                    Inode old = e.get();
                    if (old.isDirectory() && old.entryCount() > 0) {
                        throw new DirectoryNotEmptyException(target);
                    }
                    if (old.isDirectory() != moved.isDirectory()) {
                        throw new FileSystemException(source, target, moved.isDirectory() ? "Not a directory"
                                : "Is a directory");
                    }
                    replaced = e;
                }
            }
            long now = Clock.micros();
            if (src == dst) {
                src.set(src.value().withEntry(nameOf(source), -1, now).withEntry(nameOf(target), id, now));
            } else {
                dst.set(dst.value().withEntry(nameOf(target), id, now));  // first: a failure leaves both names
                src.set(src.value().withEntry(nameOf(source), -1, now));
            }
        } catch (KddmException e) {
            throw io(source, e);
        } finally {
            // the target's new entry is published first: a crash of this node between the two leaves the file under
            // both names (deleting one leaves the other dangling), never under neither, which the collection of
            // unnamed inodes would take for a leak
            boolean targetFirst = first != null && first.id() == to;
            try {
                closeAll(targetFirst ? first : second, targetFirst ? second : first);
            } finally {
                if (renameLock != null) {
                    renameLock.closeUnchanged();
                }
            }
        }
        if (replaced.isPresent()) {
            forget(replaced.get());
        }
        return replaced;
    }

    /** Refuses a move of directory {@code dir} under {@code newParent} when that is inside {@code dir}. */
    private void checkNotInside(long dir, String newParent) throws IOException {
        Inode at = inode(Inode.ROOT);
        if (at.id() == dir) {
            throw new FileSystemException(newParent, null, "a directory cannot move into itself");
        }
        for (String name : newParent.substring(1).split("/")) {
            if (name.isEmpty()) {
                continue;
            }
            long child = at.lookup(name);
            if (child == dir) {
                throw new FileSystemException(newParent, null, "a directory cannot move into itself");
            }
            at = child < 0 ? null : read(child).orElse(null);
            if (at == null || !at.isDirectory()) {
                throw new NoSuchFileException(newParent);
            }
        }
    }

    private static void closeAll(Pin... pins) {
        for (Pin p : pins) {
            if (p != null) {
                p.close();
            }
        }
    }

    /** Changes an existing inode, checking the caller with {@code check} first. */
    Inode change(String path, Check check, UnaryOperator<Inode> change) throws IOException {
        Inode at = resolve(path);
        try (Pin h = grabExisting(at.id(), path)) {
            check.check(h.value(), caller());
            Inode next = change.apply(h.value());
            if (next != h.value()) {
                h.set(next);
            }
            return next;
        } catch (KddmException e) {
            throw io(path, e);
        }
    }

    /** Changes inode {@code id} (no permission check: the caller opened it). */
    Inode update(long id, UnaryOperator<Inode> change) throws IOException {
        try (Pin h = grabExisting(id, "inode " + id)) {
            Inode next = change.apply(h.value());
            if (next != h.value()) {
                h.set(next);
            }
            return next;
        } catch (KddmException e) {
            throw io("inode " + id, e);
        }
    }

    /** The write-pinned inode {@code id} while the caller holds it (for appends). */
    Pin grabExisting(long id, String path) throws IOException {
        Optional<Handle<Inode>> h;
        try {
            h = inodes.grabIfExists(id);
        } catch (KddmException e) {
            throw io(path, e);
        }
        if (h.isEmpty()) {
            throw new NoSuchFileException(path);
        }
        if (h.get().value() == null) {
            h.get().closeUnchanged();
            throw new NoSuchFileException(path);
        }
        return new Pin(h.get());
    }

    private Pin grabDirectory(long id, String path) throws IOException {
        Pin h = grabExisting(id, path);
        if (!h.value().isDirectory()) {
            h.close();
            throw new NotDirectoryException(path);
        }
        return h;
    }

    long allocate() {
        synchronized (this) {
            if (nextId == lastId) {
                int node = kddm.nodeId();
                long end = counters.update(node + 1L, v -> (v == null ? 0 : v) + ALLOC_BLOCK);
                nextId = end - ALLOC_BLOCK;
                lastId = end;
            }
            return DefaultOwner.idOnNode(kddm.nodeId(), 2 + nextId++);
        }
    }

    /** A write pin released once, publishing only when {@link #set} was called. */
    static final class Pin implements AutoCloseable {
        private final Handle<Inode> handle;
        private boolean changed;

        Pin(Handle<Inode> handle) {
            this.handle = handle;
        }

        long id() {
            return handle.id();
        }

        Inode value() {
            return handle.value();
        }

        void set(Inode value) {
            handle.set(value);
            changed = true;
        }

        @Override
        public void close() {
            handle.release(changed);
        }
    }

    // ---- permissions

    /** A permission check on an inode for a caller. */
    @FunctionalInterface
    interface Check {
        void check(Inode inode, Credentials who) throws IOException;
    }

    /** True when {@code who} has all of {@code bits} (4 read, 2 write, 1 execute) on {@code inode}. */
    static boolean allows(Inode inode, Credentials who, int bits) {
        if (who.isRoot()) {
            return (bits & 1) == 0 || inode.isDirectory() || (inode.mode() & 0111) != 0;
        }
        int granted = who.uid() == inode.uid() ? inode.mode() >> 6 : who.gid() == inode.gid() ? inode.mode() >> 3
                : inode.mode();
        return (granted & bits & 7) == bits;
    }

    static void checkWrite(Inode dir, Credentials who, String path) throws AccessDeniedException {
        if (!allows(dir, who, 3)) {
            throw new AccessDeniedException(path, null, "write permission on the directory");
        }
    }

    static void checkOwner(Inode inode, Credentials who, String path) throws AccessDeniedException {
        if (!who.isRoot() && who.uid() != inode.uid()) {
            throw new AccessDeniedException(path, null, "not the owner");
        }
    }

    // ---- paths

    static String parentOf(String path) {
        int i = path.lastIndexOf('/');
        return i <= 0 ? "/" : path.substring(0, i);
    }

    static String nameOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static IOException io(String path, KddmException e) {
        FileSystemException x = new FileSystemException(path, null, "cluster metadata unavailable: " + e.getMessage());
        x.initCause(e);
        return x;
    }
}
