package org.kerrighed.mm;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.NoSuchSetException;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.IpcPerm;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.TypeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A node's cluster shared memory: SysV-style segments whose pages are KDDM objects. One per node
 * ({@code node.shm()}), started on the node's KDDM; every node of the cluster starts one. Thread-safe.
 *
 * <p>As with {@code shmget}/{@code shmat}/{@code shmdt}/{@code shmctl}: {@link #open} finds or creates the segment
 * of a key and returns its id; {@link #attach} maps it (a {@link Segment}, read-write or read-only);
 * {@link Segment#close} detaches it; {@link #stat} describes it; {@link #remove} marks it for removal (the key is
 * free at once; the segment is freed when its last attachment goes, attachments of nodes that died or left
 * included); {@link #list} lists the segments. Ids are cluster-wide: an id opened on one node attaches on any.
 *
 * <p><b>Where things live.</b> Keys, the directory of segments and each segment's metadata are objects of three
 * KDDM static sets (ids 1000-1002, replication {@link SetSpec#SYSTEM_REPLICATION}), created by {@link #start} on
 * every node. A segment's pages are the objects of a dynamic KDDM set of its own (the {@code shm-page} linker,
 * the segment's page size and replication factor): a read takes a read copy, a write takes the page, and a copy
 * stays cached on a node until another node writes the page (see {@link Segment} and docs/memory-model.md). On each
 * node the copies of a segment's pages live side by side in chunks of memory of their own (a {@link FrameStore}),
 * so a bulk copy over consecutive cached pages is one memory copy.
 *
 * <p><b>Permissions.</b> Checked with the caller's credentials ({@code kddm.callers().credentials()}) against the
 * segment's {@link IpcPerm}: opening an existing segment needs read permission (and write permission when
 * {@code flags} ask for write bits), attaching needs read (read-only) or read and write, {@link #stat} and
 * {@link #list} need read, {@link #remove} needs the owner, the creator or root.
 *
 * <p><b>Blocking and failure.</b> Every method blocks for KDDM's round trips, bounded by the node's call
 * timeout ({@link KddmException}); metadata survives the death of any one node. Detach and remove are not cut
 * short by an interrupt (it is kept); a detach that fails changes nothing and can be retried; clean-up that fails
 * after the caller's change is done (freeing a segment, dropping departed nodes' attachments) is retried in the
 * background.
 */
public final class SharedMemory implements AutoCloseable {
    /** Create the segment if the key has none (SysV {@code IPC_CREAT}). */
    public static final int CREATE = 01000;
    /** With {@link #CREATE}: fail if the key already has a segment (SysV {@code IPC_EXCL}). */
    public static final int EXCLUSIVE = 02000;
    /** {@link #attach} read-only (SysV {@code SHM_RDONLY}). */
    public static final int READ_ONLY = 010000;
    /** The key that always creates a new segment, which no key names (SysV {@code IPC_PRIVATE}). */
    public static final long PRIVATE = 0;
    public static final int DEFAULT_PAGE_SIZE = 4096;
    public static final int MIN_PAGE_SIZE = 64;
    /** The largest page size: a page travels whole in one message. */
    public static final int MAX_PAGE_SIZE = 8 << 20;
    /** The largest segment: 64 TiB. */
    public static final long MAX_SIZE = 1L << 46;

    /** Static set of the keys: object id = key, value {@link KeySlot} or null for a free key. */
    static final long KEYS_SET = 1000;
    /** Static set of the directory: object 0 is the {@link Directory}. */
    static final long DIRECTORY_SET = 1001;
    /** Static set of the segments' metadata: object id = segment id, value {@link SegmentMeta} or null. */
    static final long SEGMENTS_SET = 1002;
    /** Asks a node to instantiate a new segment's page set now (so it outlives its creator). */
    static final ServiceKey<Long, Boolean> OPEN_PAGES = ServiceKey.of(120, "mm.open-pages", Long.class, Boolean.class);
    /** Background retries of a failed clean-up: the first after this delay, doubling up to {@link #RETRY_MAX_MS}. */
    static final long RETRY_FIRST_MS = 500;
    static final long RETRY_MAX_MS = 30_000;
    /** Attempts of a background retry before it gives up (about a quarter of an hour). */
    static final int RETRY_ATTEMPTS = 40;

    private static final Logger log = LoggerFactory.getLogger(SharedMemory.class);

    private final Kddm kddm;
    private final KddmSet<KeySlot> keys;
    private final KddmSet<Directory> directory;
    private final KddmSet<SegmentMeta> segments;
    private final Set<Segment> attached = ConcurrentHashMap.newKeySet();
    private final Executor retryThreads;
    private volatile boolean closed;

    private SharedMemory(Kddm kddm) {
        this.kddm = kddm;
        this.keys = staticSet(kddm, KEYS_SET, KeySlot.class, null);
        this.directory = staticSet(kddm, DIRECTORY_SET, Directory.class, id -> Directory.EMPTY);
        this.segments = staticSet(kddm, SEGMENTS_SET, SegmentMeta.class, null);
        this.retryThreads = r -> Thread.ofVirtual().name("mm-retry-" + kddm.nodeId()).start(r);
    }

    /**
     * Starts shared memory on {@code kddm}'s node: creates its static sets, registers its page linker
     * ({@code shm-page}) and its service, and watches views to drop the attachments of nodes that died or left.
     */
    public static SharedMemory start(Kddm kddm) {
        SharedMemory shm = new SharedMemory(kddm);
        kddm.registerLinker(FrameLinker.NAME, (id, spec) -> new FrameLinker(Integer.parseInt(spec.linkerArg())));
        kddm.rpc().register(OPEN_PAGES, HandlerKind.BLOCKING, (ctx, setId) -> {
            try {
                kddm.set(setId, Frame.class);
                return true;
            } catch (NoSuchSetException e) {
                return false;
            }
        });
        kddm.addViewListener((epoch, members, failed) -> shm.dropDeparted(members));
        return shm;
    }

    private static <T> KddmSet<T> staticSet(Kddm kddm, long id, Class<T> type, java.util.function.LongFunction<T> init) {
        if (kddm.staticSets().containsKey(id)) {        // adopted from the previous incarnation of a rejoining node
            return kddm.set(id, type);
        }
        return kddm.createStaticSet(id, kddm.objectSpec(type).withReplication(SetSpec.SYSTEM_REPLICATION),
                new ObjectLinker<>(type, init));
    }

    /**
     * The wire types of shared memory (ids 4000-4999): every node and tool of a cluster that uses it registers
     * them. Service ids: 120-129; KDDM static sets: 1000-1099.
     */
    public static TypeRegistrar types() {
        return SharedMemory::registerTypes;
    }

    private static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-mm", 4000, 4999)
                .register(4000, KeySlot.class)
                .register(4001, Directory.class)
                .register(4002, SegmentMeta.class)
                .register(4003, Segment.class, new org.kerrighed.rpc.NodeBound<>("send the segment's id and attach it"
                        + " there"));
    }

    public Kddm kddm() {
        return kddm;
    }

    // ------------------------------------------------------------------ shmget

    /**
     * {@link #open(long, long, int, int, int)} with {@link #DEFAULT_PAGE_SIZE} pages and no replication.
     */
    public long open(long key, long size, int flags) {
        return open(key, size, flags, DEFAULT_PAGE_SIZE, 1);
    }

    /**
     * Finds the segment of {@code key}, or creates it (SysV {@code shmget}).
     *
     * @param key         the key ({@link #PRIVATE}: always a new segment that no key names)
     * @param size        bytes: the size of a new segment (at least 1, at most {@link #MAX_SIZE}); for an
     *                    existing one, at most its size (0 accepts any)
     * @param flags       {@link #CREATE}, {@link #EXCLUSIVE} and the permission mode of a new segment (0..0777)
     * @param pageSize    page size of a new segment: a power of two from {@link #MIN_PAGE_SIZE} to
     *                    {@link #MAX_PAGE_SIZE} (ignored when the segment exists)
     * @param replication copies of every written page of a new segment, 1-8 (ignored when it exists)
     * @return the segment's id
     * @throws NoSuchSegmentException   no segment has {@code key} and {@link #CREATE} was not given
     * @throws SegmentExistsException   {@link #CREATE} | {@link #EXCLUSIVE} and the key has a segment
     * @throws IllegalArgumentException bad flags, size, page size or replication; or {@code size} larger than
     *                                  the existing segment
     * @throws org.kerrighed.kddm.access.PermissionDeniedException the caller may not use the existing segment
     */
    public long open(long key, long size, int flags, int pageSize, int replication) {
        checkOpen();
        if ((flags & ~(CREATE | EXCLUSIVE | 0777)) != 0) {
            throw new IllegalArgumentException("flags: only CREATE, EXCLUSIVE and mode bits 0777 are allowed, got 0"
                    + Integer.toOctalString(flags));
        }
        if (size < 0 || size > MAX_SIZE) {
            throw new IllegalArgumentException("size must be 0 to " + MAX_SIZE + " bytes, got " + size);
        }
        Credentials creds = kddm.callers().credentials();
        boolean create = (flags & CREATE) != 0 || key == PRIVATE;
        if (key == PRIVATE) {
            checkNewSegment(size, pageSize, replication);
            return create(key, size, flags & 0777, pageSize, replication, creds);
        }
        SegmentMeta found = lookup(key);
        if (found == null && create) {
            Handle<KeySlot> slot = keys.grab(key);
            boolean changed = false;
            try {
                found = slotMeta(slot.value());
                if (found == null) {
                    checkNewSegment(size, pageSize, replication);
                    long id = create(key, size, flags & 0777, pageSize, replication, creds);
                    slot.set(new KeySlot(id));
                    changed = true;
                    return id;
                }
            } finally {
                slot.release(changed);
            }
        }
        if (found == null) {
            throw new NoSuchSegmentException("no segment has key 0x" + Long.toHexString(key)
                    + " (open it with CREATE to make one)");
        }
        if ((flags & (CREATE | EXCLUSIVE)) == (CREATE | EXCLUSIVE)) {
            throw new SegmentExistsException("key 0x" + Long.toHexString(key) + " already names " + found.describe()
                    + " (asked with CREATE | EXCLUSIVE)");
        }
        String what = found.describe();
        found.perm().check(creds, Access.READ, what);
        if ((flags & 0222) != 0) {
            found.perm().check(creds, Access.WRITE, what);
        }
        if (size > found.size()) {
            throw new IllegalArgumentException(what + " has " + found.size() + " bytes, fewer than the " + size
                    + " asked (EINVAL)");
        }
        return found.id();
    }

    private static void checkNewSegment(long size, int pageSize, int replication) {
        if (size < 1) {
            throw new IllegalArgumentException("a new segment needs a size of at least 1 byte, got " + size);
        }
        if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || Integer.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException("page size must be a power of two from " + MIN_PAGE_SIZE + " to "
                    + MAX_PAGE_SIZE + ", got " + pageSize);
        }
        if (replication < 1 || replication > 8) {
            throw new IllegalArgumentException("replication must be 1-8, got " + replication);
        }
    }

    /** The live (not removed) segment {@code key} names, from a read copy; null if none. */
    private SegmentMeta lookup(long key) {
        KeySlot s;
        try (Handle<KeySlot> h = keys.get(key)) {
            s = h.value();
        }
        return slotMeta(s);
    }

    private SegmentMeta slotMeta(KeySlot s) {
        if (s == null) {
            return null;
        }
        SegmentMeta m = meta(s.segment());
        return m == null || m.removed() ? null : m;     // removed: also a tombstone being freed
    }

    private SegmentMeta meta(long id) {
        try (Handle<SegmentMeta> h = segments.get(id)) {
            return h.value();
        }
    }

    /** Makes a new segment: an id from the directory, its page set (instantiated on every member), its metadata. */
    private long create(long key, long size, int mode, int pageSize, int replication, Credentials creds) {
        long id;
        try (Handle<Directory> h = directory.grab(0)) {
            id = h.value().nextId();
            h.set(h.value().withNew(id));
        }
        KddmSet<Frame> pages = null;
        try {
            pages = kddm.createSet(SetSpec.of(FrameLinker.NAME, Integer.toString(pageSize)).withReplication(replication));
            openEverywhere(pages.id());
            long now = System.currentTimeMillis();
            Caller caller = kddm.callers().caller();
            SegmentMeta m = new SegmentMeta(id, key, size, pageSize, replication, pages.id(),
                    IpcPerm.createdBy(creds, mode), caller, caller, new int[0], new long[0], false, 0, 0, now);
            try (Handle<SegmentMeta> h = segments.grab(id)) {
                h.set(m);
            }
            log.debug("node {}: created {} of {} bytes, pages of {} bytes, replication {}", kddm.nodeId(),
                    m.describe(), size, pageSize, replication);
            return id;
        } catch (RuntimeException e) {
            try (Handle<Directory> h = directory.grab(0)) {
                h.set(h.value().without(id));
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            if (pages != null) {
                try {
                    kddm.destroySet(pages.id());
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    /** Has every other member instantiate the page set now, so that it is known when its creator is gone. */
    private void openEverywhere(long setId) {
        List<Integer> others = new ArrayList<>();
        for (int m : kddm.members()) {
            if (m != kddm.nodeId()) {
                others.add(m);
            }
        }
        if (others.isEmpty()) {
            return;
        }
        try {
            kddm.rpc().multicast(others, OPEN_PAGES, setId, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
        } catch (Exception e) {          // not fatal: the others look the set up on first use
            log.debug("node {}: not every member opened page set {}: {}", kddm.nodeId(), setId, e.toString());
        }
    }

    // ------------------------------------------------------------------ shmat / shmdt

    /** {@link #attach(long, int)} read-write. */
    public Segment attach(long id) {
        return attach(id, 0);
    }

    /**
     * Attaches segment {@code id} (SysV {@code shmat}): counts one more attachment cluster-wide and returns the
     * segment's view. Detach with {@link Segment#close} (or {@link #detach}).
     *
     * @param flags 0 (read-write: needs read and write permission) or {@link #READ_ONLY} (needs read)
     * @throws NoSuchSegmentException when no segment has this id or it is marked for removal
     * @throws org.kerrighed.kddm.access.PermissionDeniedException when the caller lacks the permissions, or is a
     *         cluster process without the {@code USE_REMOTE_MEMORY} capability
     */
    public Segment attach(long id, int flags) {
        return attach(id, flags, false);
    }

    /**
     * Attaches segment {@code id} for a holder that already has it attached elsewhere and carries that attachment
     * over (a process that moves to this node, or a copy of it forked here, as a forked Unix process inherits its
     * parent's attachments): as {@link #attach(long, int)}, but a segment marked for removal is attached too (it
     * is freed only when its last attachment goes). The process layer calls it.
     *
     * @throws NoSuchSegmentException when no segment has this id (it was freed)
     */
    public Segment attachHeld(long id, int flags) {
        return attach(id, flags, true);
    }

    private Segment attach(long id, int flags, boolean held) {
        checkOpen();
        kddm.callers().checkCapability("USE_REMOTE_MEMORY");
        if ((flags & ~READ_ONLY) != 0) {
            throw new IllegalArgumentException("attach flags: only READ_ONLY is allowed, got 0"
                    + Integer.toOctalString(flags));
        }
        boolean readOnly = (flags & READ_ONLY) != 0;
        Credentials creds = kddm.callers().credentials();
        SegmentMeta m;
        long incarnation = kddm.incarnation();                // what its detach names, whenever it comes
        Handle<SegmentMeta> h = segments.grab(id);
        boolean changed = false;
        try {
            m = h.value();
            if (m == null || m.freeable() || m.removed() && !held) {     // freeable: a tombstone being freed
                throw new NoSuchSegmentException(m == null || m.freeable() ? "no segment has id " + id
                        : m.describe() + " is marked for removal: it takes no new attachments");
            }
            m.perm().check(creds, Access.READ, m.describe());
            if (!readOnly) {
                m.perm().check(creds, Access.WRITE, m.describe());
            }
            m = m.attached(kddm.nodeId(), incarnation, kddm.callers().caller(), System.currentTimeMillis());
            h.set(m);
            changed = true;
        } finally {
            h.release(changed);
        }
        KddmSet<Frame> pages;
        try {
            pages = kddm.set(m.pageSet(), Frame.class);
        } catch (RuntimeException e) {
            NoSuchSegmentException gone = new NoSuchSegmentException(m.describe() + ": its pages are gone ("
                    + e.getMessage() + ")");
            try {
                detach(m.id(), incarnation);
            } catch (RuntimeException again) {      // the attachment stays counted: say so, but as what failed first
                gone.addSuppressed(again);
            }
            throw gone;
        }
        Segment s = new Segment(this, m, pages, readOnly, kddm.callers().caller(), incarnation);
        attached.add(s);
        return s;
    }

    /**
     * Detaches every segment that {@code holder} attached on this node, as Unix detaches a process's segments when
     * it exits (the process layer calls it when a process ends). Best effort: a failure is logged, and that
     * detach is retried in the background (the segment stays attached meanwhile).
     *
     * @return how many segments it detached
     */
    public int detachAll(org.kerrighed.kddm.access.Caller holder) {
        int n = 0;
        for (Segment s : List.copyOf(attached)) {
            if (holder.sameHolder(s.holder())) {
                try {
                    s.close();
                    n++;
                } catch (RuntimeException e) {     // still attached (close rolled back): nobody else will close it
                    log.warn("node {}: detaching segment {} of {} failed, retrying in the background: {}",
                            kddm.nodeId(), s.id(), holder, e.toString());
                    retry("detaching segment " + s.id() + " of " + holder, () -> {
                        s.close();
                        return true;
                    });
                }
            }
        }
        return n;
    }

    /** Detaches {@code segment} (the same as {@link Segment#close}). */
    public void detach(Segment segment) {
        segment.close();
    }

    /**
     * Called by {@link Segment#close} (once at a time). When it throws, the attachment is still counted
     * cluster-wide and stays here: {@link Segment#close} rolls back, and can be called again.
     */
    void detached(Segment s) {
        detach(s.id(), s.incarnation);
        attached.remove(s);
    }

    /**
     * One attachment of this node (made by its incarnation {@code incarnation}) less in the segment's metadata; frees
     * the segment if that was the last one of a segment marked for removal. The update is not cut short by an
     * interrupt (a process killed while it closes its segment still detaches; the interrupt is kept); when it
     * throws, nothing changed.
     */
    private void detach(long id, long incarnation) {
        Caller caller = kddm.callers().caller();
        long now = System.currentTimeMillis();
        SegmentMeta[] before = new SegmentMeta[1];
        SegmentMeta m = segments.update(id, cur -> {
            before[0] = cur;
            return cur == null ? null : cur.detached(kddm.nodeId(), incarnation, caller, now);
        });
        if (m != null && m != before[0] && m.freeable()) {
            freeOrRetry(m);
        }
    }

    /**
     * Frees a segment marked for removal and attached nowhere, whose metadata stays meanwhile as a tombstone (a
     * {@link SegmentMeta#freeable} value: refused by attach, not shown by stat and list, found again by the
     * clean-up after a view): its pages everywhere, then its metadata, then its directory entry. Every step is
     * idempotent, so a free that failed is simply run again. An interrupt does not cut it short (it is kept).
     *
     * @throws RuntimeException (a {@link KddmException}) when a step failed: the steps before it are done
     */
    private void free(SegmentMeta m) {
        boolean interrupted = Thread.interrupted();
        try {
            kddm.destroySet(m.pageSet());
            segments.update(m.id(), cur -> cur != null && cur.freeable() ? null : cur);
            directory.update(0, d -> d.has(m.id()) ? d.without(m.id()) : d);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        log.debug("node {}: freed {}", kddm.nodeId(), m.describe());
    }

    /** {@link #free}, retried in the background when it fails (the detach or removal that called it is done). */
    private void freeOrRetry(SegmentMeta m) {
        try {
            free(m);
        } catch (RuntimeException e) {
            log.warn("node {}: freeing {} failed, retrying in the background: {}", kddm.nodeId(), m.describe(),
                    e.toString());
            retry("freeing " + m.describe(), () -> {
                free(m);
                return true;
            });
        }
    }

    /**
     * Runs {@code task} on a virtual thread after a delay, again and again (the delay doubling) until it returns
     * true, this shared memory is closed, or it failed {@link #RETRY_ATTEMPTS} times (logged; the clean-up after
     * every view still finds departed nodes' attachments and tombstones).
     */
    private void retry(String what, BooleanSupplier task) {
        retry(what, task, 1);
    }

    private void retry(String what, BooleanSupplier task, int attempt) {
        if (closed) {
            return;
        }
        if (attempt > RETRY_ATTEMPTS) {
            log.warn("node {}: gave up {} after {} attempts", kddm.nodeId(), what, RETRY_ATTEMPTS);
            return;
        }
        long delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS << Math.min(attempt - 1, 16));
        CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS, retryThreads).execute(() -> {
            boolean done;
            try {
                done = closed || task.getAsBoolean();
            } catch (RuntimeException e) {
                log.debug("node {}: {} failed again (attempt {}): {}", kddm.nodeId(), what, attempt, e.toString());
                done = false;
            }
            if (done) {
                log.debug("node {}: {} done (attempt {})", kddm.nodeId(), what, attempt);
            } else {
                retry(what, task, attempt + 1);
            }
        });
    }

    // ------------------------------------------------------------------ shmctl

    /**
     * The segment's description (SysV {@code IPC_STAT}); needs read permission.
     *
     * @throws NoSuchSegmentException when no segment has this id (freed, or never made)
     */
    public SegmentStat stat(long id) {
        checkOpen();
        SegmentMeta m = meta(id);
        if (m == null || m.freeable()) {                  // freeable: a tombstone being freed
            throw new NoSuchSegmentException("no segment has id " + id);
        }
        m.perm().check(kddm.callers().credentials(), Access.READ, m.describe());
        return m.stat();
    }

    /**
     * Marks the segment for removal (SysV {@code IPC_RMID}): its key names nothing from now on (a new segment may
     * take it), it takes no new attachments, and it is freed when its last attachment is detached, at once if it
     * has none. Attachments of nodes that die or leave count as detached. Needs the owner, the creator or root.
     * Marking a segment already marked does nothing (but finishes freeing it, if that failed before). An interrupt
     * does not cut it short (it is kept). When the key cannot be cleared or the segment freed in time, the removal
     * still holds: the key names nothing anyway, and freeing is retried in the background.
     *
     * @throws NoSuchSegmentException when no segment has this id
     * @throws org.kerrighed.kddm.access.PermissionDeniedException when the caller does not own it
     */
    public void remove(long id) {
        checkOpen();
        Credentials creds = kddm.callers().credentials();
        Caller caller = kddm.callers().caller();
        long now = System.currentTimeMillis();
        SegmentMeta[] before = new SegmentMeta[1];
        SegmentMeta m = segments.update(id, cur -> {       // an interrupt does not cut it short (it is kept)
            before[0] = cur;
            if (cur == null) {
                throw new NoSuchSegmentException("no segment has id " + id);
            }
            if (cur.removed()) {
                return cur;
            }
            cur.perm().checkOwner(creds, "removal of " + cur.describe());
            return cur.markedRemoved(caller, now);          // when freeable, a tombstone until free clears it
        });
        if (m == before[0]) {                                // marked already: but finish a free that failed
            if (m.freeable()) {
                freeOrRetry(m);
            }
            return;
        }
        if (m.key() != PRIVATE) {
            try {
                keys.update(m.key(), k -> k != null && k.segment() == id ? null : k);
            } catch (RuntimeException e) {
                // harmless: a key whose segment is marked for removal names nothing, and its next CREATE takes it
                log.warn("node {}: clearing key 0x{} of removed {} failed: {}", kddm.nodeId(),
                        Long.toHexString(m.key()), m.describe(), e.toString());
            }
        }
        if (m.freeable()) {
            freeOrRetry(m);
        }
    }

    /** Every segment not freed yet that the caller may read (like {@code ipcs -m}), by id. */
    public List<SegmentStat> list() {
        checkOpen();
        long[] ids;
        try (Handle<Directory> h = directory.get(0)) {
            ids = h.value().ids().clone();
        }
        Arrays.sort(ids);
        Credentials creds = kddm.callers().credentials();
        List<SegmentStat> out = new ArrayList<>();
        for (long id : ids) {
            SegmentMeta m = meta(id);
            if (m != null && !m.freeable() && m.perm().allows(creds, Access.READ)) {
                out.add(m.stat());
            }
        }
        return out;
    }

    /** The segments attached on this node now (every attachment, by any thread). */
    public List<Segment> attachedHere() {
        return List.copyOf(attached);
    }

    // ------------------------------------------------------------------ failures

    /** Tests only: how many of the next sweeps of {@link #dropDeparted} fail (as a timeout would). */
    static final java.util.concurrent.atomic.AtomicInteger FAIL_SWEEPS_FOR_TESTS =
            new java.util.concurrent.atomic.AtomicInteger();

    /**
     * After a view: the lowest member drops the attachments of nodes that are no longer members (they died or
     * left), and of earlier incarnations of nodes that came back under their id, frees the segments that were
     * waiting for them, and frees tombstones whose free failed. Runs on KDDM's
     * view-listener thread. Each segment on its own: one that fails (a timeout, a lost object) does not hold up
     * the others, and the sweep is retried in the background until every segment is done.
     */
    private void dropDeparted(Set<Integer> members) {
        if (closed || members.isEmpty() || members.stream().mapToInt(Integer::intValue).min().getAsInt()
                != kddm.nodeId()) {
            return;
        }
        // The attachments of nodes that are not members are dropped (a node that joined since this, possibly
        // delayed, view may have attached already: current members count too), and so are those of an incarnation
        // this node saw end, also once its node is back (its new incarnation's are kept).
        // On this node, only its own incarnation's are live (it may be the lowest member now, after it came back).
        SegmentMeta.Holder live = (n, incarnation) -> n == kddm.nodeId()
                ? incarnation == 0 || incarnation == kddm.incarnation()
                : (members.contains(n) || kddm.isMember(n)) && (incarnation == 0 || !kddm.incarnationEnded(n, incarnation));
        if (!sweep(live)) {
            retry("dropping the attachments of departed nodes", () -> sweep(live));
        }
    }

    /** One pass of {@link #dropDeparted}'s clean-up over every segment; false when some segment failed. */
    private boolean sweep(SegmentMeta.Holder live) {
        if (FAIL_SWEEPS_FOR_TESTS.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            log.warn("node {}: dropping the attachments of departed nodes made to fail (tests)", kddm.nodeId());
            return false;
        }
        long[] ids;
        try (Handle<Directory> h = directory.get(0)) {
            ids = h.value().ids().clone();
        } catch (RuntimeException e) {
            log.warn("node {}: dropping the attachments of departed nodes failed: {}", kddm.nodeId(), e.toString());
            return false;
        }
        boolean done = true;
        for (long id : ids) {
            try {
                sweep(id, live);
            } catch (RuntimeException e) {
                done = false;
                log.warn("node {}: dropping the attachments of departed nodes from segment {} failed: {}",
                        kddm.nodeId(), id, e.toString());
            }
        }
        return done;
    }

    private void sweep(long id, SegmentMeta.Holder live) {
        SegmentMeta m = meta(id);
        if (m == null) {
            return;
        }
        if (m.freeable()) {                                  // a tombstone whose free failed
            free(m);
            return;
        }
        if (m.onlyLive(live, 0) == m) {
            return;
        }
        long now = System.currentTimeMillis();
        SegmentMeta[] before = new SegmentMeta[1];
        SegmentMeta changed = segments.update(id, cur -> {
            before[0] = cur;
            return cur == null ? null : cur.onlyLive(live, now);
        });
        if (changed == null || changed == before[0]) {
            return;
        }
        log.info("node {}: {}: dropped {} attachment(s) of departed nodes", kddm.nodeId(), changed.describe(),
                before[0].attachNodes().length - changed.attachNodes().length);
        if (changed.freeable()) {
            free(changed);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("shared memory of node " + kddm.nodeId() + " is closed");
        }
    }

    /**
     * Detaches every segment still attached on this node (best effort: if KDDM already stopped, the cluster drops
     * this node's attachments when it leaves the view) and stops.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        for (Segment s : List.copyOf(attached)) {
            try {
                s.close();
            } catch (RuntimeException e) {
                log.debug("node {}: detaching {} at close failed: {}", kddm.nodeId(), s, e.toString());
            }
        }
        closed = true;
    }

    @Override
    public String toString() {
        return "shared memory of node " + kddm.nodeId();
    }
}
