package org.kerrighed.kddm.internal;

import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.IoLinker;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.ObjState;
import org.kerrighed.kddm.ObjectLostException;
import org.kerrighed.kddm.RunHandle;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.rpc.LinkClosedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

import static org.kerrighed.kddm.ObjState.*;

/**
 * One set on one node: its entries, its backups and the coherence protocol (Kerrighed's object server and
 * get/grab/put paths). Protocol handlers run on RPC I/O threads and never block: what cannot proceed is queued
 * on the entry ({@code deferred} for other nodes, {@code waiters} for local callers) and replayed when the
 * entry changes. Local callers block only outside the entry's monitor, on their future.
 */
final class SetTable<T> implements KddmSet<T> {
    private static final Logger log = LoggerFactory.getLogger(SetTable.class);

    /** A backup copy kept for another owner (the wire form, imported only if it is ever promoted). */
    record BackupCopy(long version, long ownSeq, int owner, Object data) {
    }

    /** Forwards after which a request ignores hints and goes to the home, whose record is authoritative. */
    private static final int MAX_HOPS = 8;

    final Engine engine;
    private final long setId;
    private final SetSpec spec;
    final IoLinker<T> linker;
    private final boolean exclusive;
    final Map<Long, Entry> entries = new ConcurrentHashMap<>();
    final Map<Long, BackupCopy> backups = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder invalidations = new LongAdder();
    private final LongAdder transfers = new LongAdder();
    private final LongAdder deferredCount = new LongAdder();
    private final LongAdder bytesMoved = new LongAdder();
    private volatile boolean degradedWarned;

    SetTable(Engine engine, long setId, SetSpec spec, IoLinker<T> linker) {
        this.engine = engine;
        this.setId = setId;
        this.spec = spec;
        this.linker = linker;
        this.exclusive = spec.has(SetFlag.LOCAL_EXCLUSIVE);
    }

    @Override
    public long id() {
        return setId;
    }

    @Override
    public SetSpec spec() {
        return spec;
    }

    // ================================================================== local API

    @Override
    public Handle<T> get(long id) {
        HandleImpl<T> h = hit(id, false);
        return h != null ? h : await(acquire(id, Acquire.READ, (byte) 0), id, "get");
    }

    @Override
    public Handle<T> grab(long id) {
        HandleImpl<T> h = hit(id, true);
        return h != null ? h : await(acquire(id, Acquire.WRITE, (byte) 0), id, "grab");
    }

    /**
     * The local-hit fast path: pins a usable local copy without allocating a request, or returns null when the
     * slow path is needed (no copy, a conflicting pin, callers or other nodes already waiting).
     */
    private HandleImpl<T> hit(long id, boolean write) {
        engine.checkUsable();
        engine.awaitConfirmed();
        Entry e = entries.get(id);
        if (e == null) {
            return null;
        }
        synchronized (e) {
            return localHit(e, write) ? pin(e, write, true) : null;
        }
    }

    /**
     * With {@code e}'s monitor held: true when a local caller can use the local copy at once, without a request
     * (then a {@code WRITE_GHOST} becomes {@code WRITE_OWNER}, as on any first local access); false when it needs
     * the slow path (no copy, a conflicting pin, callers or other nodes already waiting).
     */
    private boolean localHit(Entry e, boolean write) {
        if (e.removed || !e.waiters.isEmpty() || mustWait(e, write, false)
                || !(write ? e.state.writable() : e.state.readable())) {
            return false;
        }
        if (e.state == WRITE_GHOST) {
            e.move(WRITE_OWNER);
        }
        return true;
    }

    @Override
    public RunHandle<T> getRun(long first, int max) {
        if (max < 1 || first > Long.MAX_VALUE - (max - 1)) {
            throw new IllegalArgumentException("getRun: max must be at least 1 and the run's last id at most "
                    + Long.MAX_VALUE + ", got " + max + " object(s) from " + first);
        }
        HandleImpl<T> head = (HandleImpl<T>) get(first);     // the run takes over its pin
        Entry[] pinned = new Entry[max];
        Object[] values = new Object[max];
        pinned[0] = head.entry;
        values[0] = head.value();
        int n = 1;
        while (n < max) {
            Entry e = entries.get(first + n);
            if (e == null) {
                break;
            }
            synchronized (e) {
                if (!localHit(e, false)) {
                    break;
                }
                e.readPins++;
                values[n] = e.obj;
            }
            pinned[n++] = e;
        }
        if (n > 1) {
            hits.add(n - 1);
        }
        return new RunImpl<>(this, first, pinned, values, n);
    }

    @Override
    public Optional<Handle<T>> getIfExists(long id) {
        return Optional.ofNullable(await(acquire(id, Acquire.READ, Wire.F_NO_FT), id, "get"));
    }

    @Override
    public Optional<Handle<T>> grabIfExists(long id) {
        return Optional.ofNullable(await(acquire(id, Acquire.WRITE, Wire.F_NO_FT), id, "grab"));
    }

    @Override
    public Optional<Handle<T>> tryGet(long id) {
        return Optional.ofNullable(await(acquire(id, Acquire.READ, Wire.F_TRY), id, "get"));
    }

    @Override
    public Optional<Handle<T>> tryGrab(long id) {
        return Optional.ofNullable(await(acquire(id, Acquire.WRITE, Wire.F_TRY), id, "grab"));
    }

    @Override
    public Optional<Handle<T>> get(long id, long timeout, TimeUnit unit) throws InterruptedException {
        return Optional.ofNullable(awaitTimed(acquire(id, Acquire.READ, (byte) 0), id, "get", unit.toNanos(timeout)));
    }

    @Override
    public Optional<Handle<T>> grab(long id, long timeout, TimeUnit unit) throws InterruptedException {
        return Optional.ofNullable(awaitTimed(acquire(id, Acquire.WRITE, (byte) 0), id, "grab", unit.toNanos(timeout)));
    }

    @Override
    public T update(long id, UnaryOperator<T> change) {
        boolean interrupted = Thread.interrupted();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(engine.timeoutMillis());
        try {
            HandleImpl<T> h = hit(id, true);
            while (h == null) {
                try {
                    h = awaitTimed(acquire(id, Acquire.WRITE, (byte) 0), id, "update",
                            Math.max(0, deadline - System.nanoTime()));
                    if (h == null) {
                        throw new KddmException("update of object " + id + " of set " + setId + " timed out after "
                                + engine.timeoutMillis() + " ms (" + describe(id) + ")");
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            boolean changed = false;
            try {
                T before = h.value();
                T after = change.apply(before);
                if (after != before) {
                    h.set(after);
                    changed = true;
                }
                return after;
            } finally {
                h.release(changed);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits up to {@code nanos} (no bound at Long.MAX_VALUE); null on timeout; the interrupt propagates. */
    private HandleImpl<T> awaitTimed(CompletableFuture<HandleImpl<?>> f, long id, String what, long nanos)
            throws InterruptedException {
        try {
            @SuppressWarnings("unchecked") HandleImpl<T> h = (HandleImpl<T>) (nanos >= Long.MAX_VALUE
                    ? f.get() : f.get(Math.max(0, nanos), TimeUnit.NANOSECONDS));
            return h;
        } catch (InterruptedException e) {
            abandon(id, f);
            throw e;
        } catch (TimeoutException e) {
            abandon(id, f);                 // a handle that came in the race is released
            return null;
        } catch (ExecutionException e) {
            throw failure(e, id, what);
        }
    }

    private RuntimeException failure(ExecutionException e, long id, String what) {
        Throwable c = e.getCause();
        if (c instanceof RuntimeException re) {
            return re instanceof KddmException ? sameType(re) : re;
        }
        return new KddmException(what + " of object " + id + " failed: " + c, c);
    }

    @Override
    public CompletableFuture<Handle<T>> getAsync(long id) {
        return cast(acquire(id, Acquire.READ, (byte) 0));
    }

    @Override
    public CompletableFuture<Handle<T>> grabAsync(long id) {
        return cast(acquire(id, Acquire.WRITE, (byte) 0));
    }

    @SuppressWarnings("unchecked")
    private CompletableFuture<Handle<T>> cast(CompletableFuture<HandleImpl<?>> f) {
        return f.thenApplyAsync(h -> (Handle<T>) h, engine.executor());
    }

    @Override
    public Optional<Handle<T>> find(long id) {
        engine.checkUsable();
        engine.awaitConfirmed();
        Entry e = entries.get(id);
        if (e == null) {
            return Optional.empty();
        }
        synchronized (e) {
            if (e.removed || !e.state.readable() || mustWait(e, false, true)) {
                return Optional.empty();
            }
            return Optional.of(pin(e, false, true));
        }
    }

    /** Starts taking {@code id}; the future completes with a handle, or null for an absent object / busy try. */
    CompletableFuture<HandleImpl<?>> acquire(long id, byte op, byte flags) {
        engine.checkUsable();
        engine.awaitConfirmed();
        Acquire a = new Acquire(id, op, flags);
        while (true) {
            Entry e = entry(id);
            List<Runnable> after = new ArrayList<>(1);
            synchronized (e) {
                if (e.removed) {
                    continue;
                }
                if (!step(e, a, after)) {
                    e.waiters.add(a);
                }
            }
            after.forEach(Runnable::run);
            return a.future;
        }
    }

    private HandleImpl<T> await(CompletableFuture<HandleImpl<?>> f, long id, String what) {
        try {
            @SuppressWarnings("unchecked") HandleImpl<T> h = (HandleImpl<T>) f.get(engine.timeoutMillis(),
                    TimeUnit.MILLISECONDS);
            return h;
        } catch (InterruptedException e) {
            abandon(id, f);
            Thread.currentThread().interrupt();
            throw new KddmException(what + " of object " + id + " of set " + setId + " was interrupted", e);
        } catch (TimeoutException e) {
            abandon(id, f);
            throw new KddmException(what + " of object " + id + " of set " + setId + " timed out after "
                    + engine.timeoutMillis() + " ms (" + describe(id) + ")");
        } catch (ExecutionException e) {
            throw failure(e, id, what);
        }
    }

    /** Re-throws with the caller's stack (the original was made on an I/O thread). */
    private static RuntimeException sameType(RuntimeException e) {
        if (e instanceof ObjectLostException) {
            return e;
        }
        return new KddmException(e.getMessage(), e);
    }

    /** A waiter that gave up: forget it, and release whatever it got if it completed meanwhile. */
    private void abandon(long id, CompletableFuture<HandleImpl<?>> f) {
        Entry e = entries.get(id);
        if (e != null) {
            synchronized (e) {
                e.waiters.removeIf(a -> a.future == f);
            }
        }
        f.cancel(false);
        if (f.isDone() && !f.isCancelled() && !f.isCompletedExceptionally()) {
            HandleImpl<?> h = f.getNow(null);
            if (h != null) {
                if (h.ownerDied()) {
                    synchronized (h.entry) {
                        h.entry.ownerDied = true;     // nobody was told: the next write pin (or owner) is
                    }
                }
                h.close();
            }
        }
    }

    String describe(long id) {
        Entry e = entries.get(id);
        if (e == null) {
            return "no local entry";
        }
        synchronized (e) {
            return e.toString();
        }
    }

    Entry entry(long id) {
        Entry e = entries.get(id);
        return e != null ? e : entries.computeIfAbsent(id, Entry::new);
    }

    /** Pins {@code e} for a new handle; {@code hit}: served from the local copy at once. */
    private HandleImpl<T> pin(Entry e, boolean write, boolean hit) {
        if (write) {
            e.writePins++;
        } else {
            e.readPins++;
        }
        if (hit) {
            hits.increment();
        }
        boolean ownerDied = write && e.ownerDied;
        if (ownerDied) {
            e.ownerDied = false;                      // told to this pin only
        }
        return new HandleImpl<>(this, e, write, ownerDied);
    }

    /**
     * Whether a local caller must wait although the state may allow its access: a conflicting local pin under
     * {@link SetFlag#LOCAL_EXCLUSIVE}, a write being copied to its backups, or (for a caller that has not waited
     * yet) other nodes waiting for the pins to drop.
     */
    private boolean mustWait(Entry e, boolean write, boolean woken) {
        boolean localConflict = exclusive && (write ? e.pins() > 0 : e.writePins > 0);
        boolean yields = !woken && !e.deferred.isEmpty() && e.pins() > 0;   // let waiting nodes go first
        return localConflict || e.replicating || yields;
    }

    /**
     * Tries to serve local caller {@code a}; true when it is finished (completed or failed), false when it must
     * wait on the entry. May send a request. Runs under the entry's monitor; completions go to {@code after}.
     */
    private boolean step(Entry e, Acquire a, List<Runnable> after) {
        KddmException unusable = engine.unusable();
        if (unusable != null) {
            after.add(() -> a.future.completeExceptionally(unusable));
            return true;
        }
        if (e.state == LOST) {
            after.add(() -> a.future.completeExceptionally(new ObjectLostException(setId, e.id)));
            return true;
        }
        if (a.op == Acquire.FLUSH) {
            return stepFlush(e, a, after);
        }
        boolean write = a.op == Acquire.WRITE;
        if (mustWait(e, write, a.woken)) {
            if (a.has(Wire.F_TRY)) {
                after.add(() -> a.future.complete(null));
                return true;
            }
            return false;
        }
        if (write ? e.state.writable() : e.state.readable()) {
            if (e.state == WRITE_GHOST) {
                e.move(WRITE_OWNER);
            }
            HandleImpl<T> h = pin(e, write, !a.requested && !a.woken);   // a replayed waiter was a miss
            after.add(() -> complete(a, h));
            return true;
        }
        if (write && e.state == READ_OWNER) {
            if (e.copyset.isEmpty()) {
                changeState(e, WRITE_OWNER);
                HandleImpl<T> h = pin(e, true, true);
                after.add(() -> complete(a, h));
                return true;
            }
            misses.increment();
            e.acks.clear();
            e.copyset.forEach(n -> {
                e.acks.add(n);
                send(n, Wire.INV, new Wire.Inv(setId, e.id, engine.self(), e.ownSeq));
            });
            e.copyset.clear();
            e.move(WAIT_ACK_WRITE);
            return false;
        }
        if (e.state == INV_COPY || e.state == READ_COPY) {
            startRequest(e, a.op, a.flags);
            a.requested = true;
            return false;
        }
        if (e.state.waitingForObject() && e.reqId != 0
                && System.nanoTime() - e.reqSentNanos > TimeUnit.MILLISECONDS.toNanos(engine.timeoutMillis())) {
            startRequest(e, e.state == WAIT_OBJ_WRITE ? Wire.WRITE : a.op, a.flags);   // the answer never came
        } else if (a.has(Wire.F_TRY) && !a.requested) {
            after.add(() -> a.future.complete(null));     // someone else's request is in progress: do not wait
            return true;
        }
        return false;                     // a transition is in progress: wait for it
    }

    private void complete(Acquire a, HandleImpl<T> h) {
        if (!a.future.complete(h)) {
            if (h.ownerDied()) {
                synchronized (h.entry) {
                    h.entry.ownerDied = true;         // nobody was told: the next write pin (or owner) is
                }
            }
            h.close();                    // the caller gave up meanwhile
        }
    }

    private void startRequest(Entry e, byte op, byte flags) {
        misses.increment();
        if (op == Wire.WRITE) {
            e.move(WAIT_OBJ_WRITE);
        } else if (e.state != WAIT_OBJ_WRITE) {
            e.move(WAIT_OBJ_READ);
        }
        sendRequest(e, flags);
    }

    /**
     * Sends a new request (a fresh id) for what the entry's WAIT_OBJ_* state says it waits for. One sent while a
     * view that dropped members is being reconciled is marked to be sent again once it is synced, as {@link #adjust}
     * marks those outstanding when the view came: a node still on the old view may forward it to a dead node, and
     * nothing else would answer it before the call timeout.
     */
    private void sendRequest(Entry e, byte flags) {
        e.resend = engine.requestsMayBeLost();
        e.reqId = engine.nextReqId();
        e.reqSentNanos = System.nanoTime();
        byte f = (byte) ((flags & (Wire.F_NO_FT | Wire.F_TRY)) | (e.hasData ? Wire.F_HAS_COPY : 0));
        route(e, new Wire.Req(setId, e.id, engine.self(), e.state == WAIT_OBJ_WRITE ? Wire.WRITE : Wire.READ, f,
                e.reqId, 0));
    }

    /** Sends (or forwards) {@code r} towards the owner: the probable owner, else the home. */
    private void route(Entry e, Wire.Req r) {
        if (Entry.TRACE) {
            e.trace("route " + (r.op() == Wire.WRITE ? "W" : "R") + r.requester() + "#" + r.reqId());
        }
        int self = engine.self();
        int target = e.probOwner;
        if (target == self || target == r.requester() || (target >= 0 && !engine.isMember(target))
                || r.hops() > MAX_HOPS) {
            target = -1;                              // no usable hint, or the hints go round: ask the home
        }
        if (target < 0) {
            int home = home(e.id);
            if (home != self) {
                send(home, Wire.REQ, r);
                return;
            }
            homeDecide(e, r);
            return;
        }
        send(target, Wire.REQ, r);
    }

    int home(long id) {
        return engine.homeOf(spec, linker, id);
    }

    /** At the home, with no owner known: the object exists nowhere (first touch) or is lost. */
    private void homeDecide(Entry e, Wire.Req r) {
        int owner = e.probOwner;
        if (owner >= 0 && owner != engine.self() && owner != r.requester() && engine.isMember(owner)) {
            send(owner, Wire.REQ, r);             // we know who owns it: it exists, no first touch
            return;
        }
        if (!engine.synced()) {
            deferredCount.increment();
            engine.deferUntilSynced(() -> onReq(r));
            return;
        }
        if (e.known && (e.probOwner == r.requester() || e.probOwner == engine.self())) {
            e.deferred.add(r);         // our record is older than the owner's notice, which is on its way
            deferredCount.increment();
            return;
        }
        if (e.state == LOST) {
            reply(r, new Wire.Grant(setId, e.id, Wire.G_LOST, null, 0, 0, r.reqId(), null));
            return;
        }
        if ((r.flags() & Wire.F_NO_FT) != 0) {
            reply(r, new Wire.Grant(setId, e.id, Wire.G_NO_OBJECT, null, 0, 0, r.reqId(), null));
            return;
        }
        e.ownSeq++;
        e.known = true;
        e.probOwner = r.requester();
        e.hintSeq = e.ownSeq;
        if (spec.has(SetFlag.FIRST_TOUCH_ON_OWNER) && r.requester() != engine.self()) {
            T obj = linker.firstTouch(e.id);
            reply(r, new Wire.Grant(setId, e.id, Wire.G_OWN_WRITE, export(e.id, obj), 0, e.ownSeq, r.reqId(),
                    new int[0]));
            linker.invalidate(e.id, obj);             // made here only to be shipped: no local copy
        } else {
            reply(r, new Wire.Grant(setId, e.id, Wire.G_FIRST_TOUCH, null, 0, e.ownSeq, r.reqId(), null));
        }
    }

    private void reply(Wire.Req r, Wire.Grant g) {
        if (r.requester() == engine.self()) {
            // answered by ourselves (we are the home): after the caller queued itself and released the entry
            engine.executor().execute(() -> onGrant(engine.self(), g));
        } else {
            send(r.requester(), Wire.GRANT, g);
        }
    }

    private Object export(long id, T obj) {
        Object w = linker.export(id, obj);
        if (w instanceof byte[] b) {
            bytesMoved.add(b.length);
        }
        return w == null ? Wire.NullValue.INSTANCE : w;     // null on the wire means "no data"
    }

    private T importValue(long id, Object wire) {
        return wire instanceof Wire.NullValue ? null : linker.importObject(id, wire);
    }

    @SuppressWarnings("unchecked")
    private T cast(Object o) {
        return (T) o;
    }

    void checkType(Object value) {
        if (value != null && !linker.type().isInstance(value)) {
            throw new ClassCastException("set " + setId + " holds " + linker.type().getName() + ", not "
                    + value.getClass().getName());
        }
    }

    private void changeState(Entry e, ObjState next) {
        ObjState from = e.state;
        e.move(next);
        if (e.hasData && from != next) {
            linker.changeState(e.id, cast(e.obj), from, next);
        }
    }

    private void dropData(Entry e) {
        if (e.hasData) {
            retire(e, e.obj);
        }
        e.obj = null;
        e.hasData = false;
    }

    /** Makes {@code obj} the local copy; the one it replaces, if any, is dropped ({@link #retire}). */
    private void setData(Entry e, T obj) {
        if (e.hasData && e.obj != obj) {
            retire(e, e.obj);
        }
        e.obj = obj;
        e.hasData = true;
    }

    /** Replaces a write handle's object ({@link Handle#set}); the old one is dropped ({@link #retire}). */
    void replace(HandleImpl<T> h, T value) {
        Entry e = h.entry;
        synchronized (e) {
            setData(e, value);
        }
    }

    /**
     * With {@code e}'s monitor held: tells the linker that {@code old} is no longer the local copy, at once when no
     * handle pins the entry, else when the last pin is released (a handle taken before may still read it), so a
     * linker may reuse the storage of what it is told about.
     */
    private void retire(Entry e, Object old) {
        if (e.pins() == 0) {
            linker.invalidate(e.id, cast(old));
        } else {
            e.retire(old);
        }
    }

    // ================================================================== release, replication

    /** Releases {@code h}'s pin; {@code changed}: a write handle made a new version (to publish and replicate). */
    void release(HandleImpl<T> h, boolean changed) {
        release(h.entry, h.writable(), changed);
    }

    /** Releases the read pins of a run's first {@code count} entries. */
    void releaseRun(Entry[] pinned, int count) {
        for (int i = 0; i < count; i++) {
            release(pinned[i], false, false);
        }
    }

    private void release(Entry e, boolean write, boolean changed) {
        List<Runnable> after = null;
        PendingBackup backup = null;
        long mine = -1;                                // the version this release made, to be on the backups
        synchronized (e) {
            if (write) {
                e.writePins--;
                if (changed) {
                    e.version++;
                    e.dirty = true;
                    mine = e.version;
                }
            } else {
                e.readPins--;
            }
            if (e.pins() == 0 && e.retired != null) {
                e.retired.forEach(old -> linker.invalidate(e.id, cast(old)));
                e.retired = null;
            }
            // A write is copied when it is released even while other pins of this node hold the object (a reader
            // does not change it; another writer's later release copies again): its close returns once it is on
            // the backups. A release that made nothing new copies what is left dirty once the last pin goes.
            if (e.dirty && !e.replicating && (e.pins() == 0 || mine >= 0)) {
                backup = startBackup(e);
            }
            if (!e.replicating && (!e.deferred.isEmpty() || !e.waiters.isEmpty())) {
                after = new ArrayList<>(1);
                process(e, false, after);
            }
        }
        if (after != null) {
            after.forEach(Runnable::run);
        }
        if (backup != null) {
            replicate(e, backup.copy(), backup.targets());
        }
        if (mine >= 0) {
            awaitBackedUp(e, mine);
            checkAcknowledged(e);
        }
    }

    /**
     * Returns once version {@code version} of {@code e} (or a later one) is on its backups: a copy that was already
     * on its way when that version was made may not hold it, so another one follows it. Bounded by the call timeout
     * (the set then runs degraded, as {@link #replicate} says); not interruptible: a write is whole.
     */
    private void awaitBackedUp(Entry e, long version) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(engine.timeoutMillis());
        boolean interrupted = false;
        try {
            while (true) {
                PendingBackup b;
                synchronized (e) {
                    if (spec.replication() <= 1 || !e.state.owner() || !e.hasData || e.backedUpVersion >= version
                            || engine.unusable() != null) {
                        return;
                    }
                    if (e.replicating) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return;
                        }
                        try {
                            e.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                        } catch (InterruptedException ie) {
                            interrupted = true;
                        }
                        continue;
                    }
                    b = startBackup(e);
                    if (b == null) {
                        return;
                    }
                }
                replicate(e, b.copy(), b.targets());
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Makes a new version of {@code h}'s object and copies it to its backups, keeping the pin. */
    void publish(HandleImpl<T> h) {
        Entry e = h.entry;
        PendingBackup backup;
        synchronized (e) {
            e.version++;
            e.dirty = true;
            backup = e.replicating ? null : startBackup(e);      // a pinned entry is not being replicated
        }
        if (backup != null) {
            replicate(e, backup.copy(), backup.targets());
        }
        checkAcknowledged(e);
    }

    /** A copy of an entry's value on its way to {@code targets}. */
    private record PendingBackup(Wire.Backup copy, int[] targets) {
    }

    /**
     * With {@code e}'s monitor held: when the set is replicated and this node owns the data, marks the entry
     * replicating and returns the copy to send to the backups the view asks for; null when there is nothing to
     * copy or nowhere to copy it (a warning then says the set runs degraded).
     */
    private PendingBackup startBackup(Entry e) {
        if (spec.replication() <= 1 || !e.state.owner() || !e.hasData || engine.unusable() != null) {
            return null;
        }
        int[] targets = engine.backupNodes(spec.replication() - 1);
        if (targets.length == 0) {
            warnDegraded(1);
            return null;
        }
        e.replicating = true;
        e.dirty = false;
        return new PendingBackup(backupOf(e, export(e.id, cast(e.obj))), targets);
    }

    /** A write is acknowledged only if this node is still a confirmed member (not paused and replaced meanwhile). */
    private void checkAcknowledged(Entry e) {
        try {
            engine.awaitConfirmed();
            engine.checkUsable();
        } catch (KddmException ex) {
            throw new KddmException("write of object " + e.id + " of set " + setId + " is not acknowledged: "
                    + ex.getMessage(), ex);
        }
    }

    /** Copies {@code b} to {@code targets} and waits for their acks (retrying on the next backups if one dies). */
    private void replicate(Entry e, Wire.Backup b, int[] targets) {
        int wanted = spec.replication() - 1;
        java.util.Set<Integer> acked = new java.util.TreeSet<>();
        boolean interrupted = false;           // waiting for backups is not interruptible: a write is whole
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(engine.timeoutMillis());
        try {
            for (int round = 0; round < 4 && acked.size() < wanted && System.nanoTime() < deadline; round++) {
                List<Integer> todo = new ArrayList<>();
                for (int n : targets) {
                    if (!acked.contains(n) && engine.isMember(n)) {
                        todo.add(n);
                    }
                }
                List<CompletableFuture<Boolean>> fs = new ArrayList<>();
                boolean failed = false;
                for (int n : todo) {
                    fs.add(engine.rpc().call(n, Wire.BACKUP, b));
                }
                for (int i = 0; i < todo.size(); i++) {
                    try {
                        while (true) {
                            try {
                                fs.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                                break;
                            } catch (InterruptedException ie) {
                                interrupted = true;
                            }
                        }
                        acked.add(todo.get(i));
                    } catch (ExecutionException | TimeoutException ex) {
                        failed = true;
                        log.debug("backup of object {} of set {} on node {} failed: {}", e.id, setId, todo.get(i),
                                ex.toString());
                    }
                }
                if (acked.size() < wanted && failed) {
                    // a backup failed: wait (bounded) for the view that drops it, then pick the next members
                    long epoch = engine.epoch();
                    long until = Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
                    while (engine.epoch() == epoch && System.nanoTime() < until && engine.unusable() == null) {
                        java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
                        interrupted |= Thread.interrupted();
                    }
                }
                if (acked.size() < wanted) {
                    targets = engine.backupNodesExcluding(wanted, acked);
                    if (targets.length == 0) {
                        break;
                    }
                }
            }
            if (acked.size() < wanted) {
                KddmException stopped = engine.unusable();
                if (stopped != null) {
                    // this node stopped (fenced, closed) before the write reached its backups: not acknowledged
                    throw new KddmException("write of object " + e.id + " of set " + setId
                            + " is not acknowledged: " + stopped.getMessage());
                }
                warnDegraded(acked.size() + 1);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();   // kept for the caller's next wait
            }
            List<Runnable> after = new ArrayList<>(1);
            synchronized (e) {
                e.replicating = false;
                e.backedUpOn = acked.stream().mapToInt(Integer::intValue).toArray();
                e.backedUpVersion = b.version();
                e.notifyAll();                                 // writers waiting for their version to be copied
                process(e, false, after);
            }
            after.forEach(Runnable::run);
        }
    }

    private void warnDegraded(int copies) {
        if (!degradedWarned) {
            degradedWarned = true;
            log.warn("set {}: writes are on {} live node(s), fewer than its replication factor {}; going on"
                    + " degraded until nodes join", setId, copies, spec.replication());
        }
    }

    /** Re-copies owned objects to the backups the current view asks for (after nodes joined or died). */
    void rereplicate() {
        if (spec.replication() < 2) {
            return;
        }
        for (Entry e : entries.values()) {
            Wire.Backup b;
            int[] targets;
            synchronized (e) {
                if (!e.state.owner() || !e.hasData || e.replicating || e.state == WAIT_OBJ_RM_DONE) {
                    continue;
                }
                targets = engine.backupNodes(spec.replication() - 1);
                if (e.backedUpVersion == e.version && java.util.Arrays.equals(targets, e.backedUpOn) && !e.dirty) {
                    continue;                              // its backups are where this view wants them
                }
                b = backupOf(e, export(e.id, cast(e.obj)));
                e.backedUpOn = targets;                    // optimistic: a failure shows in the next view
                e.backedUpVersion = e.version;
            }
            for (int n : targets) {
                try {
                    engine.rpc().call(n, Wire.BACKUP, b);
                } catch (RuntimeException ex) {
                    log.debug("re-replication of object {} to node {} failed: {}", e.id, n, ex.toString());
                }
            }
        }
    }

    /** The backup of the local copy's current version, with {@code wire} its exported form. */
    private Wire.Backup backupOf(Entry e, Object wire) {
        return new Wire.Backup(setId, e.id, e.version, e.ownSeq, engine.self(), wire);
    }

    void onBackup(Wire.Backup b) {
        backups.merge(b.id(), new BackupCopy(b.version(), b.ownSeq(), b.owner(), b.data()),
                (old, neu) -> neu.version() > old.version() || (neu.version() == old.version()
                        && neu.ownSeq() >= old.ownSeq()) ? neu : old);
    }

    /**
     * Keeps the data we give away as a backup, so a crash of the new owner before its first write loses nothing.
     * {@code wire}: the data already exported for the new owner, or null.
     */
    private void keepBackup(Entry e, Object wire) {
        if (spec.replication() > 1 && e.hasData) {
            onBackup(backupOf(e, wire != null ? wire : export(e.id, cast(e.obj))));
        }
    }

    // ================================================================== deferred work

    /**
     * Replays what waits on {@code e}: remote requests and invalidations, and local callers. After an answer to
     * our own request ({@code localFirst}) local callers go first, so the object is used here before a waiting
     * node takes it away (Kerrighed's PINNED); after a release, waiting nodes go first.
     */
    private void process(Entry e, boolean localFirst, List<Runnable> after) {
        if (!localFirst) {
            replayDeferred(e);
        }
        if (!e.waiters.isEmpty()) {
            List<Acquire> ws = new ArrayList<>(e.waiters);
            e.waiters.clear();
            for (Acquire a : ws) {
                if (e.removed) {
                    after.add(() -> retryElsewhere(a));
                    continue;
                }
                boolean done = step(e, a, after);
                a.woken = true;
                if (!done) {
                    e.waiters.add(a);
                }
            }
        }
        if (localFirst) {
            replayDeferred(e);
        }
    }

    private void replayDeferred(Entry e) {
        int n = e.deferred.size();
        for (int i = 0; i < n && !e.deferred.isEmpty(); i++) {
            Object m = e.deferred.poll();
            if (m instanceof Wire.Req r) {
                serveReq(e, r);
            } else if (m instanceof Wire.Inv inv) {
                serveInv(e, inv);
            }
        }
    }

    /** A waiter on an entry that was removed: start over on a fresh entry. */
    private void retryElsewhere(Acquire a) {
        acquire(a.id, a.op, a.flags).whenComplete((h, t) -> {
            if (t != null) {
                a.future.completeExceptionally(t);
            } else if (!a.future.complete(h) && h != null) {
                h.close();
            }
        });
    }

    // ================================================================== protocol handlers (I/O threads)

    void onReq(Wire.Req r) {
        Entry e = entry(r.id());
        synchronized (e) {
            serveReq(e, r);
        }
    }

    private void defer(Entry e, Object m) {
        e.deferred.add(m);
        deferredCount.increment();
    }

    private void serveReq(Entry e, Wire.Req r) {
        int self = engine.self();
        boolean isTry = (r.flags() & Wire.F_TRY) != 0;
        if (engine.unusable() != null) {
            return;                                   // a fenced node serves nothing
        }
        if (!engine.isMember(r.requester())) {
            if (Entry.TRACE) {
                e.trace("drop request of departed " + r.requester());
            }
            return;                                   // from a node that left or died: it must not get the object
        }
        if (r.requester() == self && e.state.owner()) {
            List<Runnable> after = new ArrayList<>(1);
            process(e, true, after);                  // our own request came back: we own it already
            after.forEach(Runnable::run);
            return;
        }
        if (e.state == LOST) {
            reply(r, new Wire.Grant(setId, e.id, Wire.G_LOST, null, 0, 0, r.reqId(), null));
            return;
        }
        if (r.requester() == self && !e.state.owner()) {
            // our own request came back (along stale hints, or replayed once the view was synced): ask the
            // home, which always knows
            if (r.reqId() != e.reqId) {
                return;                               // superseded by a newer request
            }
            int home = home(e.id);
            if (home == self) {
                homeDecide(e, r);
            } else {
                send(home, Wire.REQ, r);
            }
            return;
        }
        if (e.state.transient_()) {
            if (isTry) {
                reply(r, new Wire.Grant(setId, e.id, Wire.G_BUSY, null, 0, 0, r.reqId(), null));
            } else {
                defer(e, r);
            }
            return;
        }
        if (e.state.owner()) {
            // while a view change is being reconciled, ownership stays put (reads may still be served), so
            // that what every node reports of its ownership is true when the homes decide
            boolean conflict = e.replicating || (r.op() == Wire.READ ? e.writePins > 0 : e.pins() > 0)
                    || (r.op() == Wire.WRITE && !engine.synced());
            if (conflict) {
                if (isTry) {
                    reply(r, new Wire.Grant(setId, e.id, Wire.G_BUSY, null, 0, 0, r.reqId(), null));
                } else {
                    defer(e, r);
                }
                return;
            }
            if (r.op() == Wire.READ) {
                if (e.state != READ_OWNER) {
                    changeState(e, READ_OWNER);
                }
                e.copyset.add(r.requester());
                reply(r, new Wire.Grant(setId, e.id, Wire.G_COPY, export(e.id, cast(e.obj)), e.version, e.ownSeq,
                        r.reqId(), null));
                return;
            }
            giveOwnership(e, r);
            return;
        }
        // not the owner: follow the chain (a write request makes its requester our probable owner)
        int hint = e.probOwner;
        route(e, r.forwarded());
        if (r.op() == Wire.WRITE && r.requester() != self && hint >= 0 && home(e.id) != self) {
            e.probOwner = r.requester();
            e.hintSeq = -1;                           // a path hint, not knowledge of an owner
        }
    }

    /** Owner side of a write miss: invalidate the readers, ship the object (or only the right to write) and the acks to wait for. */
    private void giveOwnership(Entry e, Wire.Req r) {
        int to = r.requester();
        if (Entry.TRACE) {
            e.trace("give to " + to + " #" + r.reqId());
        }
        boolean hasCopy = (r.flags() & Wire.F_HAS_COPY) != 0 && e.copyset.contains(to);
        long seq = e.ownSeq + 1;
        e.copyset.remove(to);
        int[] readers = e.copyset.toArray();
        for (int n : readers) {
            send(n, Wire.INV, new Wire.Inv(setId, e.id, to, seq));
        }
        Object data = hasCopy ? null : export(e.id, cast(e.obj));
        boolean ownerDied = e.ownerDied;
        e.ownerDied = false;
        keepBackup(e, data);
        dropData(e);
        e.copyset.clear();
        e.probOwner = to;
        e.hintSeq = seq;
        e.gaveTo = to;
        e.gaveSeq = seq;
        e.ownSeq = seq;
        e.move(INV_COPY);
        reply(r, new Wire.Grant(setId, e.id, Wire.G_OWN_WRITE, data, e.version, seq, r.reqId(), readers,
                ownerDied));
    }

    void onGrant(int from, Wire.Grant g) {
        Entry e = entry(g.id());
        List<Runnable> after = new ArrayList<>(2);
        synchronized (e) {
            if (Entry.TRACE) {
                e.trace("grant" + g.kind() + " from " + from + " #" + g.reqId() + " s" + g.ownSeq());
            }
            if (engine.unusable() != null) {
                return;
            }
            boolean current = e.reqId != 0 && g.reqId() == e.reqId;
            switch (g.kind()) {
                case Wire.G_COPY -> {
                    if (e.state == WAIT_OBJ_READ && current) {
                        setData(e, importValue(e.id, g.data()));
                        e.version = g.version();
                        e.probOwner = from;
                        e.hintSeq = g.ownSeq();
                        e.reqId = 0;
                        e.move(READ_COPY);
                    }
                    // else: a stale answer; the owner lists us as a reader and its invalidation will be acked
                }
                case Wire.G_OWN_WRITE, Wire.G_HANDOFF, Wire.G_GHOST -> takeOwnership(e, from, g);
                case Wire.G_FIRST_TOUCH -> {
                    if (!e.state.owner() && e.state != LOST) {
                        // accepted even when stale: the home now believes we own it, so we must
                        setData(e, linker.firstTouch(e.id));
                        e.version = 0;
                        e.ownSeq = g.ownSeq();
                        e.probOwner = engine.self();
                        e.hintSeq = g.ownSeq();
                        e.copyset.clear();
                        e.reqId = 0;
                        e.dirty = true;
                        e.move(WRITE_OWNER);
                        transfers.increment();
                        notifyHome(e, from);
                    }
                }
                case Wire.G_NO_OBJECT, Wire.G_BUSY -> {
                    if (current) {
                        e.reqId = 0;
                        e.move(e.hasData ? READ_COPY : INV_COPY);
                        byte flag = g.kind() == Wire.G_NO_OBJECT ? Wire.F_NO_FT : Wire.F_TRY;
                        e.waiters.removeIf(a -> {
                            if (a.has(flag)) {
                                after.add(() -> a.future.complete(null));
                                return true;
                            }
                            return false;
                        });
                    }
                }
                case Wire.G_LOST -> {
                    if (!e.state.owner()) {
                        dropData(e);
                        e.reqId = 0;
                        e.move(LOST);
                    }
                }
                case Wire.G_PROMOTE -> promote(e, g);
                default -> log.warn("set {}: unknown grant kind {}", setId, g.kind());
            }
            process(e, true, after);
        }
        after.forEach(Runnable::run);
    }

    private void takeOwnership(Entry e, int from, Wire.Grant g) {
        if (g.data() != null) {
            setData(e, importValue(e.id, g.data()));
        } else if (!e.hasData) {
            // cannot happen (write access alone is sent only to a node in the copyset, which has the data);
            // keep ownership rather than drop it, and say so loudly
            log.error("set {}: object {} received write access without data and holds none; its value is lost",
                    setId, e.id);
            setData(e, linker.firstTouch(e.id));
        }
        e.version = g.version();
        e.ownSeq = g.ownSeq();
        e.probOwner = engine.self();
        e.hintSeq = g.ownSeq();
        e.reqId = 0;
        e.copyset.clear();
        e.ownerDied = g.ownerDied();
        transfers.increment();
        switch (g.kind()) {
            case Wire.G_OWN_WRITE -> {
                e.acks.clear();
                for (int n : g.nodes()) {
                    if (n != engine.self()) {
                        e.acks.add(n);
                    }
                }
                e.applyEarlyAcks(g.ownSeq());
                e.move(e.acks.isEmpty() ? WRITE_OWNER : WAIT_ACK_INV);
            }
            case Wire.G_HANDOFF -> {
                for (int n : g.nodes()) {
                    if (n != engine.self() && engine.isMember(n)) {
                        e.copyset.add(n);
                    }
                }
                e.move(READ_OWNER);
                send(from, Wire.ACK, new Wire.Ack(setId, e.id, Wire.A_CHG_OWN, engine.self(), g.ownSeq()));
            }
            default -> {
                e.move(WRITE_GHOST);
                send(from, Wire.ACK, new Wire.Ack(setId, e.id, Wire.A_CHG_OWN, engine.self(), g.ownSeq()));
            }
        }
        notifyHome(e, from);
    }

    /** Recovery made us the owner of what we hold (a read copy or a backup). */
    private void promote(Entry e, Wire.Grant g) {
        if (e.state.owner()) {
            return;
        }
        if (!e.hasData || e.version < g.version()) {
            // the newest version is our backup (a read copy we may hold is older)
            BackupCopy b = backups.get(e.id);
            if (b == null || b.version() < g.version()) {
                log.error("set {}: recovery promoted object {} at version {} here, but this node holds no such copy",
                        setId, e.id, g.version());
                return;
            }
            dropData(e);
            setData(e, importValue(e.id, b.data()));
        }
        e.version = g.version();
        e.ownSeq = g.ownSeq();
        e.probOwner = engine.self();
        e.hintSeq = g.ownSeq();
        e.copyset.clear();
        if (g.nodes() != null) {
            for (int n : g.nodes()) {
                if (n != engine.self()) {
                    e.copyset.add(n);
                }
            }
        }
        if (e.state == WAIT_OBJ_READ || e.state == WAIT_OBJ_WRITE) {
            e.reqId = 0;
        }
        e.move(e.copyset.isEmpty() ? WRITE_GHOST : READ_OWNER);
        e.dirty = true;            // re-replicate at the next release
        e.ownerDied = true;
        transfers.increment();
        engine.rereplicateSoon(this);
    }

    void onInv(Wire.Inv inv) {
        Entry e = entry(inv.id());
        synchronized (e) {
            serveInv(e, inv);
        }
    }

    private void serveInv(Entry e, Wire.Inv inv) {
        if (Entry.TRACE) {
            e.trace("inv for " + inv.newOwner() + " s" + inv.ownSeq());
        }
        if (engine.unusable() != null) {
            return;
        }
        if (e.state.owner()) {
            // a stale invalidation (recovery re-sent it, or we became owner since): keep the data, just ack
            send(inv.newOwner(), Wire.ACK, new Wire.Ack(setId, e.id, Wire.A_INV, engine.self(), inv.ownSeq()));
            return;
        }
        if (e.hasData && e.pins() > 0) {
            defer(e, inv);           // a local reader holds it: the writer waits until it is released
            return;
        }
        if (e.hasData) {
            invalidations.increment();
        }
        dropData(e);
        if (e.state == READ_COPY) {
            e.move(INV_COPY);
        }
        e.probOwner = inv.newOwner();
        e.hintSeq = inv.ownSeq();
        send(inv.newOwner(), Wire.ACK, new Wire.Ack(setId, e.id, Wire.A_INV, engine.self(), inv.ownSeq()));
        List<Runnable> after = new ArrayList<>(1);
        process(e, false, after);
        after.forEach(Runnable::run);
    }

    void onAck(Wire.Ack a) {
        Entry e = entry(a.id());
        List<Runnable> after = new ArrayList<>(1);
        boolean localFirst = false;
        synchronized (e) {
            if (engine.unusable() != null) {
                return;
            }
            switch (a.kind()) {
                case Wire.A_INV -> {
                    if ((e.state == WAIT_ACK_INV || e.state == WAIT_ACK_WRITE) && a.ownSeq() == e.ownSeq) {
                        e.acks.remove(a.from());
                        if (e.acks.isEmpty()) {
                            e.move(WRITE_OWNER);
                            localFirst = true;            // the write we waited for goes before other nodes
                        }
                    } else if (!e.state.owner()) {
                        e.addEarlyAck(a.from(), a.ownSeq());
                    }
                }
                case Wire.A_CHG_OWN -> {
                    if (e.state == WAIT_CHG_OWN_ACK && a.from() == e.handoffTo) {
                        dropData(e);
                        e.copyset.clear();
                        e.probOwner = a.from();
                        e.hintSeq = a.ownSeq();
                        e.gaveTo = a.from();
                        e.gaveSeq = a.ownSeq();
                        e.handoffTo = -1;
                        e.ownerDied = false;              // went with the object
                        e.move(INV_COPY);
                    }
                }
                default -> log.warn("set {}: unknown ack kind {}", setId, a.kind());
            }
            process(e, localFirst, after);
        }
        after.forEach(Runnable::run);
    }

    void onOwnerIs(Wire.OwnerIs o) {
        Entry e = entry(o.id());
        List<Runnable> after = new ArrayList<>(1);
        synchronized (e) {
            if (o.ownSeq() >= e.ownSeq && !e.state.owner()) {
                e.ownSeq = o.ownSeq();
                e.probOwner = o.owner();
                e.hintSeq = o.ownSeq();
                e.known = true;
                if (e.state == LOST) {
                    e.move(INV_COPY);
                }
            }
            process(e, false, after);
        }
        after.forEach(Runnable::run);
    }

    /**
     * Tells the home (and, when the home itself owns an unreplicated object, a witness) who owns it now, unless
     * the home is {@code from}, the node that just handed it over and recorded the new owner then.
     */
    private void notifyHome(Entry e, int from) {
        int self = engine.self();
        int home = home(e.id);
        Wire.OwnerIs o = new Wire.OwnerIs(setId, e.id, self, e.ownSeq);
        if (home != self) {
            if (home != from) {                   // a home that granted the object recorded it as it did
                send(home, Wire.OWNER_IS, o);
            }
        } else {
            e.known = true;
            int w = engine.witness();
            if (w >= 0 && spec.replication() == 1) {
                send(w, Wire.OWNER_IS, o);
            }
        }
    }

    // ================================================================== flush, remove, sync

    @Override
    public boolean flush(long id) {
        try {
            await(acquire(id, Acquire.FLUSH, (byte) 0), id, "flush");
            return true;
        } catch (KddmException e) {
            if (e instanceof NowhereToFlush || e.getCause() instanceof NowhereToFlush) {
                return false;
            }
            throw e;
        }
    }

    /** FLUSH completes with null when done, with a dummy failure when there was nowhere to push. */
    private boolean stepFlush(Entry e, Acquire a, List<Runnable> after) {
        if (e.pins() > 0 || e.replicating || e.state.transient_() || e.state.waitingForObject()
                || (e.state.owner() && !engine.synced())) {
            return false;
        }
        int self = engine.self();
        switch (e.state) {
            case INV_COPY, LOST -> after.add(() -> a.future.complete(null));
            case READ_COPY -> {
                // Dropped silently: the owner still lists us and its next write sends an invalidation we simply
                // acknowledge. Telling the owner would race with a new read request of ours taking another path
                // (the drop arriving last would leave us a copy the owner forgot).
                dropData(e);
                e.move(INV_COPY);
                after.add(() -> a.future.complete(null));
            }
            default -> {                                  // an owner
                int to = e.copyset.isEmpty() ? engine.flushTarget(home(e.id)) : e.copyset.first();
                if (to < 0) {
                    after.add(() -> a.future.completeExceptionally(new NowhereToFlush()));
                    return true;
                }
                long seq = e.ownSeq + 1;
                byte kind = e.copyset.isEmpty() ? Wire.G_GHOST : Wire.G_HANDOFF;
                e.copyset.remove(to);
                Wire.Grant g = new Wire.Grant(setId, e.id, kind, export(e.id, cast(e.obj)), e.version, seq, 0,
                        e.copyset.toArray(), e.ownerDied);
                keepBackup(e, g.data());
                e.handoffFrom = e.state;
                e.handoffTo = to;
                e.ownSeq = seq;
                e.move(WAIT_CHG_OWN_ACK);
                send(to, Wire.GRANT, g);
                return false;                             // completes when the ack arrives (the entry is INV_COPY)
            }
        }
        return true;
    }

    /** Marker: flush had nowhere to go (single-node cluster). */
    static final class NowhereToFlush extends KddmException {
        NowhereToFlush() {
            super("no other node to flush to");
        }
    }

    @Override
    public void remove(long id) {
        engine.checkUsable();
        Optional<Handle<T>> h;
        try {
            h = grabIfExists(id);
        } catch (ObjectLostException lost) {
            h = Optional.empty();
        }
        T obj = null;
        if (h.isPresent()) {
            HandleImpl<T> hi = (HandleImpl<T>) h.get();
            Entry e = hi.entry;
            synchronized (e) {
                obj = cast(e.obj);
                e.move(WAIT_OBJ_RM_DONE);
            }
        }
        try {
            List<Integer> others = engine.otherMembers();
            if (!others.isEmpty()) {
                var res = engine.rpc().multicast(others, Wire.REMOVED, new Wire.Removed(setId, id),
                        java.time.Duration.ofMillis(engine.timeoutMillis())).get(engine.timeoutMillis() + 1000,
                        TimeUnit.MILLISECONDS);
                if (!res.failures().isEmpty()) {
                    log.debug("set {}: removal of {} not acknowledged by {}", setId, id, res.failures().keySet());
                }
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new KddmException("remove of object " + id + " interrupted", ie);
        } catch (ExecutionException | TimeoutException ex) {
            throw new KddmException("remove of object " + id + " of set " + setId + " failed: " + ex, ex);
        } finally {
            linker.remove(id, obj);
            forget(id, h.isPresent() ? ((HandleImpl<T>) h.get()).entry : null);
        }
    }

    /** Drops every trace of {@code id} here; waiters start over on a fresh entry. */
    private void forget(long id, Entry pinned) {
        backups.remove(id);
        Entry e = entries.get(id);
        if (e == null) {
            return;
        }
        List<Runnable> after = new ArrayList<>(1);
        synchronized (e) {
            if (e == pinned) {
                e.writePins = 0;
                e.obj = null;                             // the linker's remove ran already
                e.hasData = false;
                e.copyset.clear();
                e.move(INV_COPY);                         // even if other local handles still pin it
            }
            if (e.pins() > 0 || e.state.waitingForObject() || (e.state.transient_() && e != pinned)) {
                // in use or being fetched here: keep the entry, forget only what we knew about the object
                e.probOwner = -1;
                e.hintSeq = -1;
                e.known = false;
                if (e.state == LOST) {
                    e.move(INV_COPY);
                }
                return;
            }
            e.removed = true;
            entries.remove(id, e);
            List<Object> deferred = new ArrayList<>(e.deferred);
            e.deferred.clear();
            process(e, false, after);
            for (Object m : deferred) {
                if (m instanceof Wire.Req r) {
                    after.add(() -> onReq(r));
                } else if (m instanceof Wire.Inv inv) {
                    after.add(() -> onInv(inv));
                }
            }
        }
        after.forEach(Runnable::run);
    }

    void onRemoved(Wire.Removed r) {
        Entry e = entries.get(r.id());
        T obj = null;
        if (e != null) {
            synchronized (e) {
                if (e.hasData) {
                    obj = cast(e.obj);
                    dropData(e);
                    if (e.state == READ_COPY) {
                        e.move(INV_COPY);
                    }
                }
            }
        }
        linker.remove(r.id(), obj);
        forget(r.id(), null);
    }

    @Override
    public void sync(long id) {
        Optional<Handle<T>> h = getIfExists(id);
        if (h.isPresent()) {
            try (Handle<T> r = h.get()) {
                linker.sync(id, r.value());
            }
        }
    }

    @Override
    public void forEachLocal(BiConsumer<Long, T> action) {
        for (Entry e : entries.values()) {
            T v;
            synchronized (e) {
                if (!e.hasData) {
                    continue;
                }
                v = cast(e.obj);
            }
            action.accept(e.id, v);
        }
    }

    @Override
    public ObjState stateOf(long id) {
        Entry e = entries.get(id);
        if (e == null) {
            return INV_COPY;
        }
        synchronized (e) {
            return e.state;
        }
    }

    @Override
    public SetStats stats() {
        int objects = 0;
        int owned = 0;
        for (Entry e : entries.values()) {
            synchronized (e) {
                objects += e.hasData ? 1 : 0;
                owned += e.state.owner() ? 1 : 0;
            }
        }
        return new SetStats(setId, hits.sum(), misses.sum(), invalidations.sum(), transfers.sum(),
                deferredCount.sum(), bytesMoved.sum(), objects, owned, backups.size());
    }

    // ================================================================== views, recovery (Engine drives these)

    /**
     * A new view: forget hints to departed nodes (after a failure, every mere path hint too, so no request
     * circles among nodes that do not own the object), stop waiting for departed nodes' acks, take back
     * hand-offs to them, and mark outstanding requests to be sent again once the view is reconciled.
     */
    void adjust(int[] members, boolean failure) {
        int self = engine.self();
        for (Entry e : entries.values()) {
            List<Runnable> after = new ArrayList<>(1);
            synchronized (e) {
                if (Entry.TRACE) {
                    e.trace("view " + java.util.Arrays.toString(members) + (failure ? " failure" : ""));
                }
                if (e.probOwner >= 0 && (!contains(members, e.probOwner) || (failure && e.hintSeq < 0))) {
                    if (e.hintSeq >= 0) {
                        e.departedHint = e.probOwner;      // evidence for the homes: ownership went to a dead node
                        e.departedHintSeq = e.hintSeq;
                    }
                    e.probOwner = -1;
                    e.hintSeq = -1;
                }
                if (e.state.owner()) {
                    e.copyset.retain(members);
                    if (e.state == WAIT_ACK_INV || e.state == WAIT_ACK_WRITE) {
                        e.acks.retain(members);
                        if (failure) {        // an invalidation sent by a dead former owner may be lost: ask again
                            e.acks.forEach(n -> send(n, Wire.INV, new Wire.Inv(setId, e.id, self, e.ownSeq)));
                        }
                        if (e.acks.isEmpty()) {
                            e.move(WRITE_OWNER);
                        }
                    }
                    if (e.state == WAIT_CHG_OWN_ACK && !contains(members, e.handoffTo)) {
                        e.move(e.handoffFrom == WRITE_GHOST ? WRITE_OWNER : e.handoffFrom);  // the taker died first
                        e.ownSeq++;
                        e.handoffTo = -1;
                    }
                }
                if (e.state.waitingForObject()) {
                    e.resend = true;
                }
                process(e, false, after);
            }
            after.forEach(Runnable::run);
        }
    }

    /**
     * Adds to {@code out} (per receiving home) what the homes of this view must learn from this node: owners
     * claim their objects (always after a failure, else when the home moved), the old home passes its records,
     * and after a failure every copy, backup and known object is reported so the homes can recover the ones
     * whose owner died. Runs once every member's view marker has arrived, so ownership handed over before the
     * view changed has landed, and none moves until the view is reconciled.
     */
    void report(int[] oldMembers, int[] members, boolean failure, Map<Integer, List<Wire.Item>> out) {
        int self = engine.self();
        for (Entry e : entries.values()) {
            synchronized (e) {
                int oldHome = oldMembers.length == 0 ? -1 : engine.homeOf(spec, linker, e.id, oldMembers);
                int newHome = engine.homeOf(spec, linker, e.id, members);
                boolean moved = oldHome != newHome;
                if (e.state.owner()) {
                    if (failure || moved) {
                        add(out, newHome, new Wire.Item(setId, e.id, Wire.R_OWNER, e.version, e.ownSeq, self));
                    }
                } else if (e.state == LOST) {
                    if (failure || moved) {
                        add(out, newHome, new Wire.Item(setId, e.id, Wire.R_LOST, 0, e.ownSeq, self));
                    }
                } else {
                    if (failure && e.hasData) {
                        add(out, newHome, new Wire.Item(setId, e.id, Wire.R_COPY, e.version, e.ownSeq, self));
                    }
                    if (e.probOwner >= 0 && e.hintSeq >= 0 && (failure || (moved && self == oldHome))) {
                        add(out, newHome, new Wire.Item(setId, e.id, Wire.R_HINT, 0, e.hintSeq, e.probOwner));
                    } else if (failure && e.known) {
                        add(out, newHome, new Wire.Item(setId, e.id, Wire.R_HINT, 0, e.ownSeq, -1));
                    }
                }
                if (failure && e.gaveTo >= 0 && !e.state.owner()) {
                    add(out, newHome, new Wire.Item(setId, e.id, Wire.R_HINT, 0, e.gaveSeq, e.gaveTo));
                }
                if (e.departedHint >= 0) {
                    if (failure) {
                        add(out, newHome, new Wire.Item(setId, e.id, Wire.R_HINT, 0, e.departedHintSeq, e.departedHint));
                    }
                    e.departedHint = -1;
                    e.departedHintSeq = -1;
                }
            }
        }
        if (failure) {
            for (var b : backups.entrySet()) {
                int newHome = engine.homeOf(spec, linker, b.getKey(), members);
                add(out, newHome, new Wire.Item(setId, b.getKey(), Wire.R_BACKUP, b.getValue().version(),
                        b.getValue().ownSeq(), self));
            }
        }
    }

    private static boolean contains(int[] sorted, int n) {
        return java.util.Arrays.binarySearch(sorted, n) >= 0;
    }

    private static void add(Map<Integer, List<Wire.Item>> out, int node, Wire.Item item) {
        out.computeIfAbsent(node, k -> new ArrayList<>()).add(item);
    }

    /**
     * As the home of {@code id}, decides from every member's report who owns it now: a live owner, the node a
     * transfer is on its way to, the holder of the newest copy (promoted), or nobody (lost).
     */
    void resolve(long id, List<Wire.Item> items, boolean failure, int[] members) {
        Entry e = entry(id);
        List<Runnable> after = new ArrayList<>(1);
        try {
            resolveLocked(e, id, items, failure, members, after);
        } finally {
            after.forEach(Runnable::run);      // completions of local waiters, whichever branch decided
        }
    }

    private void resolveLocked(Entry e, long id, List<Wire.Item> items, boolean failure, int[] members,
                               List<Runnable> after) {
        synchronized (e) {
            if (Entry.TRACE) {
                e.trace("resolve " + items);
            }
            if (e.state.owner()) {
                e.known = true;                                // we own it: nothing to decide, but a home that
                return;                                        // owns it must know it exists (no first touch)
            }
            long bestSeq = -1;
            int bestNode = -1;
            boolean existed = e.known;
            boolean lost = e.state == LOST;
            long latestTransfer = -1;                          // the newest transfer anyone recorded
            for (Wire.Item it : items) {
                if ((it.kind() == Wire.R_HINT || it.kind() == Wire.R_OWNER) && it.node() >= 0) {
                    latestTransfer = Math.max(latestTransfer, it.ownSeq());
                }
            }
            if (e.probOwner >= 0 && e.hintSeq >= 0 && e.hintSeq >= latestTransfer && contains(members, e.probOwner)) {
                bestSeq = e.hintSeq;                           // a live owner told us (perhaps since the view)
                bestNode = e.probOwner;
            }
            for (Wire.Item it : items) {
                existed = true;
                lost |= it.kind() == Wire.R_LOST;
                boolean live = it.node() >= 0 && contains(members, it.node());
                // after a failure only an owner's own claim proves it alive; else a home's record will do
                boolean counts = live && ((it.kind() == Wire.R_OWNER && (!failure || it.ownSeq() >= latestTransfer))
                        || (!failure && it.kind() == Wire.R_HINT));
                if (counts && (it.ownSeq() > bestSeq || (it.ownSeq() == bestSeq && it.kind() == Wire.R_OWNER))) {
                    bestSeq = it.ownSeq();
                    bestNode = it.node();
                }
            }
            if (!existed) {
                return;
            }
            if (bestNode >= 0 && contains(members, bestNode)) {
                e.probOwner = bestNode;
                e.hintSeq = bestSeq;
                e.ownSeq = Math.max(e.ownSeq, bestSeq);
                e.known = true;
                process(e, false, after);
                return;
            }
            if (!failure && !lost) {
                return;                                        // nothing died: the owner will tell us
            }
            // the owner died: promote the holder of the newest copy
            long bestVersion = -1;
            int holder = -1;
            boolean holderHasCopy = false;
            if (e.hasData) {
                bestVersion = e.version;
                holder = engine.self();
                holderHasCopy = true;
            }
            BackupCopy own = backups.get(id);
            if (own != null && own.version() > bestVersion) {
                bestVersion = own.version();
                holder = engine.self();
                holderHasCopy = false;
            }
            for (Wire.Item it : items) {
                if ((it.kind() == Wire.R_COPY || it.kind() == Wire.R_BACKUP) && contains(members, it.node())) {
                    boolean copy = it.kind() == Wire.R_COPY;
                    if (it.version() > bestVersion || (it.version() == bestVersion && copy && !holderHasCopy)) {
                        bestVersion = it.version();
                        holder = it.node();
                        holderHasCopy = copy;
                    }
                }
            }
            long seq = Math.max(e.ownSeq, bestSeq);
            for (Wire.Item it : items) {
                seq = Math.max(seq, it.ownSeq());
            }
            seq++;                                             // above every transfer anyone has seen
            if (holder < 0) {
                if (!lost) {
                    log.warn("set {}: object {} was lost with its owner (replication factor {})", setId, id,
                            spec.replication());
                }
                dropData(e);
                e.ownSeq = seq;
                e.probOwner = -1;
                e.hintSeq = -1;
                e.known = true;
                e.move(LOST);
                process(e, false, after);
                return;
            }
            List<Integer> readers = new ArrayList<>();
            for (Wire.Item it : items) {
                if (it.kind() == Wire.R_COPY && it.version() == bestVersion && it.node() != holder
                        && contains(members, it.node())) {
                    readers.add(it.node());
                } else if (it.kind() == Wire.R_COPY && it.node() != holder && contains(members, it.node())) {
                    send(it.node(), Wire.INV, new Wire.Inv(setId, id, holder, 0));   // older than the newest: drop it
                }
            }
            if (e.hasData && holder != engine.self()) {
                if (e.version == bestVersion) {
                    readers.add(engine.self());
                } else {
                    dropData(e);
                    e.move(INV_COPY);
                }
            }
            Wire.Grant g = new Wire.Grant(setId, id, Wire.G_PROMOTE, null, bestVersion, seq, 0,
                    readers.stream().mapToInt(Integer::intValue).toArray());
            e.ownSeq = seq;
            e.known = true;
            if (holder == engine.self()) {
                promote(e, g);
            } else {
                e.probOwner = holder;
                e.hintSeq = seq;
                send(holder, Wire.GRANT, g);
            }
            log.info("set {}: object {} recovered on node {} at version {}", setId, id, holder, bestVersion);
            process(e, false, after);
        }
    }

    /** After a view is synced: re-send requests that may have been lost with a departed node. */
    void resendPending() {
        for (Entry e : entries.values()) {
            List<Runnable> after = new ArrayList<>(1);
            synchronized (e) {
                if (!e.deferred.isEmpty() || !e.waiters.isEmpty()) {
                    process(e, false, after);                  // ownership was frozen while the view changed
                }
                if (e.resend && e.state.waitingForObject()) {
                    Acquire first = e.waiters.peek();
                    sendRequest(e, first == null ? 0 : first.flags);
                }
            }
            after.forEach(Runnable::run);
        }
    }

    /** Hands every owned object to other nodes and drops every read copy (a graceful leave). */
    void flushAll() {
        List<CompletableFuture<HandleImpl<?>>> fs = new ArrayList<>();
        for (Entry e : entries.values()) {
            fs.add(acquire(e.id, Acquire.FLUSH, (byte) 0));
        }
        for (CompletableFuture<HandleImpl<?>> f : fs) {
            try {
                f.get(engine.timeoutMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception ex) {
                log.warn("set {}: flush on leave failed: {}", setId, ex.toString());
            }
        }
    }

    /** The node is fenced or closed: fail every local waiter. */
    void failAll(KddmException cause) {
        for (Entry e : entries.values()) {
            List<Acquire> ws;
            synchronized (e) {
                ws = new ArrayList<>(e.waiters);
                e.waiters.clear();
            }
            ws.forEach(a -> a.future.completeExceptionally(cause));
        }
    }

    private <Q> void send(int node, org.kerrighed.rpc.ServiceKey<Q, ?> key, Q msg) {
        engine.send(node, key, msg);
    }

    @Override
    public String toString() {
        return "KddmSet[" + setId + ", " + spec.linker() + "]";
    }
}
