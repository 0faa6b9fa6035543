package org.kerrighed.fs.internal;

import org.kerrighed.fs.FsStatus;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps every chunk at its file's replication, in the background. Every few seconds, and at once after a view
 * change, each node walks the tree and acts for the chunks whose acting primary it is: it copies a chunk that has
 * too few live copies to other live nodes (a node that died is given {@code repairDelay} to come back first), drops
 * copies beyond the file's replication, and forgets dead nodes. Less often it removes the inodes that no directory
 * has named for a while, and deletes its own chunk files that no inode lists (deleted files, copies that missed
 * writes). Progress is counted for {@code krg fs status}.
 */
final class Repairer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Repairer.class);
    private static final long PERIOD_MS = 3_000;
    private static final int GC_EVERY = 10;
    private static final long GC_MIN_AGE_MS = 60_000;
    /** Collections in a row whose walks must miss an inode before it is removed. */
    private static final int UNNAMED_TIMES = 3;

    static final ServiceKey<Integer, Report> STATUS = ServiceKey.of(194, "fs.status", Integer.class, Report.class);

    /** Tests only: called with the inode and chunk index of a repair once it read the chunk, before it copies it. */
    static volatile java.util.function.ObjIntConsumer<Long> beforeCopyForTests;
    /** Tests only: called with the node id before the node checks its chunk store. */
    static volatile java.util.function.IntConsumer beforeIdentifyForTests;
    /** Tests only: when positive, replaces {@link #GC_MIN_AGE_MS} for the removal of unnamed inodes. */
    static volatile long unnamedAgeMsForTests;

    /** One node's storage and repair figures. */
    record Report(FsStatus.NodeStorage storage, long repairsDone, long repairBytes, boolean repairing) {
    }

    private final Kddm kddm;
    private final Namespace ns;
    private final ChunkStore store;
    private final DataPath data;
    private final Placement placement;
    private final long repairDelayNanos;
    private final Object wake = new Object();
    private final AtomicBoolean nudged = new AtomicBoolean();
    private final AtomicLong repairs = new AtomicLong();
    private final AtomicLong repairBytes = new AtomicLong();
    private final Thread thread;
    private final org.kerrighed.kddm.KddmSet<Long> storageIds;
    private volatile boolean repairing;
    private volatile boolean closed;
    private volatile long lastFailure = System.nanoTime();
    private volatile long lastViewChange = System.nanoTime();
    private int passes;
    private volatile Walked named;                      // the last complete walk (null: the last pass failed)
    private final Map<Long, Unnamed> unnamed = new HashMap<>();     // guarded by this: inodes no walk met lately
    private long countedWalk = System.nanoTime();                   // guarded by this: the start of the last one counted

    /** Every inode a complete walk met, and when it started (nanoTime). */
    private record Walked(Set<Long> met, long startedNanos) {
    }

    /** An inode no walk met, since {@code sinceNanos} (the start of the first walk that missed it), {@code times} in a row. */
    private record Unnamed(long sinceNanos, int times) {
    }

    Repairer(Kddm kddm, Namespace ns, ChunkStore store, DataPath data, Placement placement, long repairDelayMillis) {
        this.kddm = kddm;
        this.ns = ns;
        this.store = store;
        this.data = data;
        this.placement = placement;
        this.repairDelayNanos = TimeUnit.MILLISECONDS.toNanos(repairDelayMillis);
        this.storageIds = kddm.createStaticSet(FsWire.STORAGE_IDS, kddm.objectSpec(Long.class)
                .withFlags(org.kerrighed.kddm.SetFlag.LOCAL_EXCLUSIVE)
                .withReplication(org.kerrighed.kddm.SetSpec.SYSTEM_REPLICATION),
                new org.kerrighed.kddm.linkers.ObjectLinker<>(Long.class));
        kddm.rpc().register(STATUS, HandlerKind.BLOCKING, (ctx, any) -> report());
        kddm.addViewListener((epoch, members, failed) -> {
            if (!failed.isEmpty()) {
                lastFailure = System.nanoTime();
            }
            lastViewChange = System.nanoTime();
            nudge();
        });
        thread = Thread.ofPlatform().daemon().name("krg-fs-repair-" + kddm.nodeId()).start(this::loop);
    }

    /** Asks for a pass soon. */
    void nudge() {
        nudged.set(true);
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    Report report() {
        return new Report(new FsStatus.NodeStorage(kddm.nodeId(), store.usedBytes(), store.chunkFiles(),
                store.quota(), store.freeBytes()), repairs.get(), repairBytes.get(), repairing);
    }

    /**
     * Checks this node's chunk store against the chunk lists ({@link #checkStorage}), then lets the data path serve
     * chunks; tried again (every 100 ms, then every second) until it is done: until then the node serves no chunk
     * (the KDDM sets it needs may not be reachable while the cluster starts).
     */
    private void identify() throws InterruptedException {
        java.util.function.IntConsumer hook = beforeIdentifyForTests;
        if (hook != null) {
            hook.accept(kddm.nodeId());
        }
        for (int attempt = 1; !closed; attempt++) {
            try {
                checkStorage();
                data.ready();
                return;
            } catch (IOException | RuntimeException e) {
                if (attempt % 10 == 0) {
                    log.warn("fs: node {} could not check its chunk store yet ({}): it serves no chunk until it has",
                            kddm.nodeId(), e.toString());
                }
                Thread.sleep(attempt < 10 ? 100 : 1000);
            }
        }
    }

    private void loop() {
        try {
            identify();
        } catch (InterruptedException e) {
            return;
        }
        while (!closed) {
            synchronized (wake) {
                if (!nudged.get()) {
                    try {
                        wake.wait(PERIOD_MS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
            nudged.set(false);
            if (closed) {
                return;
            }
            try {
                pass();
                if (++passes % GC_EVERY == 0) {
                    collect();
                }
            } catch (IOException | RuntimeException e) {
                forgetUnnamed();                             // a failed walk: the evidence starts over
                if (!closed) {
                    log.debug("fs repair pass on node {} stopped: {}", kddm.nodeId(), e.toString());
                }
            } finally {
                repairing = false;
            }
        }
    }

    /**
     * Records this node's chunk store id in the cluster; when the record held another one, this node came back
     * without the chunk files it was listed for (an emptied or new disk): it removes itself from every chunk list,
     * so that no read or write counts on copies it no longer has, and repair copies them again. The new id is
     * recorded only once every list has been cleaned, so that a pass that fails half-way is done again by the next.
     */
    private void checkStorage() throws IOException {
        long mine = store.storageId();
        long key = kddm.nodeId() + 1L;
        long[] before = {0};
        storageIds.update(key, v -> {
            before[0] = v == null ? 0 : v;
            return v == null ? Long.valueOf(mine) : v;    // a first record: no list can name a store it lost
        });
        if (before[0] == 0 || before[0] == mine) {
            return;
        }
        log.warn("fs: node {} came back with a new chunk store ({}); it leaves the chunk lists that name it",
                kddm.nodeId(), store.dir());
        int me = kddm.nodeId();
        walk(file -> {
            for (int i = 0; i < file.chunkCount(); i++) {
                int[] reps = file.replicas(i);
                if (reps == null || Arrays.stream(reps).noneMatch(n -> n == me)) {
                    continue;
                }
                int index = i;
                int gen = file.generation(i);
                try {
                    ns.update(file.id(), f -> {
                        int[] now = f.replicas(index);
                        if (now == null || f.generation(index) != gen
                                || Arrays.stream(now).noneMatch(n -> n == me)) {
                            return f;
                        }
                        return f.withChunk(index, gen, Arrays.stream(now).filter(n -> n != me).toArray());
                    });
                } catch (java.nio.file.NoSuchFileException deleted) {
                    return;                                    // deleted meanwhile: no list to leave
                }
            }
        });
        if (!closed) {                                     // a walk cut short by closing has not seen every list
            storageIds.update(key, v -> mine);
        }
    }

    /** One walk over the tree, repairing the chunks this node acts for. */
    void pass() throws IOException {
        boolean patient = System.nanoTime() - lastFailure < repairDelayNanos;
        boolean[] again = {false};
        named = null;
        Set<Long> met = new HashSet<>();
        long started = System.nanoTime();
        walk(file -> {
            for (int i = 0; i < file.usedChunks() && !closed; i++) {
                int[] reps = file.replicas(i);
                if (reps == null) {
                    continue;
                }
                int[] live = live(reps);
                if (live.length == 0 || live[0] != kddm.nodeId()) {
                    continue;
                }
                int want = Math.min(Math.max(1, file.replication()), kddm.members().length);
                boolean deadListed = live.length != reps.length;
                if (live.length == want && !deadListed) {
                    continue;
                }
                if (deadListed && patient && live.length < want) {
                    again[0] = true;                          // give the dead node its chance to come back
                    continue;
                }
                repairing = true;
                repair(file.id(), i);
            }
        }, new long[2], met);
        if (!closed) {
            named = new Walked(met, started);               // complete: every directory was read
        }
        if (again[0]) {
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(TimeUnit.NANOSECONDS.toMillis(repairDelayNanos) + 50);
                } catch (InterruptedException e) {
                    return;
                }
                nudge();
            });
        }
    }

    private void repair(long ino, int index) {
        ReentrantLock lock = data.lock(ino, index);
        lock.lock();
        try (DataPath.Guard guarded = data.guard(ino, index)) {   // against the primaries, and the replicas here
            Inode file = ns.read(ino).orElse(null);
            int[] listed = file == null ? null : file.replicas(index);
            if (listed == null) {
                return;
            }
            int[][] list = {listed};                           // the list now: fenced below
            int gen = file.generation(index);
            int[] live = live(listed);
            if (live.length == 0 || live[0] != kddm.nodeId()) {
                return;
            }
            int want = Math.min(Math.max(1, file.replication()), kddm.members().length);
            List<Integer> keep = new ArrayList<>(Arrays.stream(live).boxed().toList());
            List<Integer> dropped = new ArrayList<>();
            while (keep.size() > want) {
                dropped.add(keep.removeLast());
            }
            if (keep.size() < want) {
                if (live.length != listed.length) {
                    // The dead nodes leave the list before the chunk is read: one that comes back meanwhile is not
                    // its primary any more, so its writes go through this node (after the copy), not around it.
                    int[] fenced = live;
                    Inode after = ns.update(ino, i -> i.generation(index) == gen
                            && Arrays.equals(i.replicas(index), listed) ? i.withChunk(index, gen, fenced) : i);
                    if (after.generation(index) != gen || !Arrays.equals(after.replicas(index), fenced)) {
                        return;                                // changed meanwhile: the next pass looks again
                    }
                    list[0] = fenced;
                }
                byte[] whole = store.readWhole(ino, index, gen);
                java.util.function.ObjIntConsumer<Long> hook = beforeCopyForTests;
                if (hook != null) {
                    hook.accept(ino, index);
                }
                for (int n : placement.candidates(listed, Map.of())) {
                    if (keep.size() >= want) {
                        break;
                    }
                    try {
                        copy(n, ino, index, gen, whole);
                        keep.add(n);
                        repairs.incrementAndGet();
                        repairBytes.addAndGet(whole.length);
                    } catch (Exception e) {
                        if (e instanceof InterruptedException || closed) {
                            Thread.currentThread().interrupt();
                            return;                            // the node closes: the list stays as it is
                        }
                        log.info("fs: could not copy chunk {} of inode {} to node {}: {}", index, ino, n,
                                DataPath.unwrap(e).toString());
                    }
                }
            }
            int[] next = keep.stream().mapToInt(Integer::intValue).toArray();
            int[] reps = list[0];
            if (!Arrays.equals(next, reps)) {
                Inode after = ns.update(ino, i -> i.generation(index) == gen && Arrays.equals(i.replicas(index), reps)
                        ? i.withChunk(index, gen, next) : i);
                if (after.generation(index) != gen || !Arrays.equals(after.replicas(index), next)) {
                    return;                                    // changed meanwhile: the dropped copies may be listed
                }
                log.debug("fs: chunk {} of inode {} now on {} (was {})", index, ino, Arrays.toString(next),
                        Arrays.toString(reps));
            }
            for (int n : dropped) {
                kddm.rpc().call(n, DataPath.REPLICA, new DataPath.Op(DataPath.Kind.DELETE, ino, index, gen, 0, 0,
                        null));
            }
        } catch (IOException | RuntimeException e) {
            log.debug("fs: repair of chunk {} of inode {} failed: {}", index, ino, e.toString());
        } finally {
            lock.unlock();
        }
    }

    /** Sends a chunk's whole content to {@code node}: the first piece replaces its file, the others follow it. */
    private void copy(int node, long ino, int index, int gen, byte[] whole) throws Exception {
        int step = data.piece();
        int at = 0;
        do {
            int n = Math.min(step, whole.length - at);
            byte[] part = at == 0 && n == whole.length ? whole : java.util.Arrays.copyOfRange(whole, at, at + n);
            DataPath.Op op = new DataPath.Op(at == 0 ? DataPath.Kind.WHOLE : DataPath.Kind.COPY, ino, index, gen, at,
                    n, part);
            kddm.rpc().call(node, DataPath.REPLICA, op).get(30, TimeUnit.SECONDS);
            at += n;
        } while (at < whole.length);
    }

    /**
     * Removes the inodes no directory has named for a minute ({@link #collectUnnamed}), then deletes chunk files of
     * this node that no inode lists for it (older than a minute).
     */
    synchronized void collect() throws IOException {
        Walked w = named;
        if (w != null) {
            collectUnnamed(w);
        } else {
            unnamed.clear();
        }
        long now = System.currentTimeMillis();
        for (ChunkStore.Chunk c : store.list()) {
            if (now - c.modifiedMillis() < GC_MIN_AGE_MS) {
                continue;
            }
            Inode file = ns.read(c.inode()).orElse(null);
            boolean listed = file != null && file.generation(c.index()) == c.generation()
                    && Arrays.stream(file.replicas(c.index())).anyMatch(n -> n == kddm.nodeId());
            if (!listed) {
                store.deleteIfUnchanged(c);
            }
        }
    }

    /** Drops what the collection of unnamed inodes had seen (a walk failed or a collection was skipped). */
    private synchronized void forgetUnnamed() {
        unnamed.clear();
    }

    /**
     * Removes the inodes that the complete walks of {@link #UNNAMED_TIMES} collections in a row (every
     * {@link #GC_EVERY} passes, none skipped nor failed in between), over {@link #GC_MIN_AGE_MS} at least, did not
     * meet, and that one more walk made just before does not meet either: an inode whose removal ended with the node
     * that retried it ({@link Namespace} retries a failed removal only while its node's file system is open), or a
     * file whose creation died with its node before it was named. Their chunk files then go as any unlisted chunk
     * file does. No walk that started within that age of a change of the view (or of this node's start) counts: a
     * tree read while the cluster recovers is not trusted. An inode being created or moved is unnamed for a moment
     * only (a rename across directories publishes the new name first).
     */
    private void collectUnnamed(Walked w) {
        if (w.startedNanos() - countedWalk <= 0) {
            return;                                         // counted already (or older): one walk counts once
        }
        countedWalk = w.startedNanos();
        long age = TimeUnit.MILLISECONDS.toNanos(unnamedAgeMsForTests > 0 ? unnamedAgeMsForTests : GC_MIN_AGE_MS);
        if (w.startedNanos() - lastViewChange < age) {
            unnamed.clear();
            return;
        }
        Set<Long> missed = new HashSet<>();
        ns.inodes().forEachLocal((id, inode) -> {
            if (id != Inode.ROOT && !w.met().contains(id)) {
                missed.add(id);
            }
        });
        unnamed.keySet().retainAll(missed);
        List<Long> due = new ArrayList<>();
        for (long id : missed) {
            Unnamed u = unnamed.merge(id, new Unnamed(w.startedNanos(), 1),
                    (was, one) -> new Unnamed(was.sinceNanos(), was.times() + 1));
            if (u.times() >= UNNAMED_TIMES && w.startedNanos() - u.sinceNanos() >= age) {
                due.add(id);
            }
        }
        if (due.isEmpty() || closed) {
            return;
        }
        Set<Long> now = new HashSet<>();
        try {
            walk(file -> { }, new long[2], now);            // one more look, just before
        } catch (IOException | RuntimeException e) {
            log.debug("fs: node {} could not check its unnamed inodes again: {}", kddm.nodeId(), e.toString());
            unnamed.clear();
            return;
        }
        for (long id : due) {
            Unnamed u = unnamed.remove(id);
            if (closed || now.contains(id)) {
                continue;
            }
            try {
                ns.inodes().remove(id);
                log.info("fs: node {} removed inode {}, which no directory has named for {} ms", kddm.nodeId(), id,
                        TimeUnit.NANOSECONDS.toMillis(w.startedNanos() - u.sinceNanos()));
            } catch (RuntimeException e) {
                unnamed.put(id, u);
                log.debug("fs: node {} could not remove unnamed inode {} yet: {}", kddm.nodeId(), id, e.toString());
            }
        }
    }

    /** The listed nodes that are alive, in list order. */
    private int[] live(int[] reps) {
        return Arrays.stream(reps).filter(n -> n == kddm.nodeId() || kddm.isMember(n)).toArray();
    }

    /** A file inode's visitor. */
    @FunctionalInterface
    interface FileVisitor {
        void visit(Inode file) throws IOException;
    }

    /** Visits every file reachable from the root. */
    void walk(FileVisitor visitor) throws IOException {
        walk(visitor, new long[2], null);
    }

    /** Visits every file reachable from the root, counting files and directories, adding every inode read to {@code met}. */
    private void walk(FileVisitor visitor, long[] counts, Set<Long> met) throws IOException {
        List<Long> todo = new ArrayList<>(List.of(Inode.ROOT));
        while (!todo.isEmpty() && !closed) {
            Inode d = ns.read(todo.removeLast()).orElse(null);
            if (d == null) {
                continue;
            }
            if (met != null) {
                met.add(d.id());
            }
            if (!d.isDirectory()) {
                counts[0]++;
                visitor.visit(d);
                continue;
            }
            counts[1]++;
            for (long t : d.targets()) {
                todo.add(t);
            }
        }
    }

    /** The cluster-wide status: the tree's figures from here, every live node's storage and repairs. */
    FsStatus status() throws IOException {
        long[] counts = new long[2];
        long[] chunks = new long[3];
        walk(file -> {
            int want = Math.min(Math.max(1, file.replication()), kddm.members().length);
            for (int i = 0; i < file.usedChunks(); i++) {
                int[] reps = file.replicas(i);
                if (reps == null) {
                    continue;
                }
                chunks[0]++;
                int live = live(reps).length;
                if (live == 0) {
                    chunks[2]++;
                } else if (live < want) {
                    chunks[1]++;
                }
            }
        }, counts, null);
        Map<Integer, Report> reports = new TreeMap<>();
        Map<Integer, CompletableFuture<Report>> asked = new TreeMap<>();
        for (int n : kddm.members()) {
            if (n == kddm.nodeId()) {
                reports.put(n, report());
            } else {
                asked.put(n, kddm.rpc().call(n, STATUS, 0));
            }
        }
        asked.forEach((n, f) -> {
            try {
                reports.put(n, f.get(10, TimeUnit.SECONDS));
            } catch (Exception e) {
                log.debug("fs status: node {} did not answer: {}", n, e.toString());
            }
        });
        long done = 0;
        long bytes = 0;
        boolean busy = false;
        List<FsStatus.NodeStorage> nodes = new ArrayList<>();
        for (Report r : reports.values()) {
            nodes.add(r.storage());
            done += r.repairsDone();
            bytes += r.repairBytes();
            busy |= r.repairing();
        }
        return new FsStatus(List.copyOf(nodes), counts[0], counts[1], chunks[0], chunks[1], chunks[2], done, bytes,
                busy);
    }

    /**
     * Stops the repair thread: a pass under way is interrupted (a KDDM read or RPC it waits for, whose peer may be
     * leaving too, would otherwise hold the node's close for its whole timeout), and the thread is waited for 5 s
     * at most.
     */
    @Override
    public void close() {
        closed = true;
        kddm.rpc().unregister(STATUS.id());
        nudge();
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
