package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.SysvState.Holding;
import org.kerrighed.ipc.internal.SysvState.SemSet;
import org.kerrighed.ipc.internal.SysvState.SemWaiter;
import org.kerrighed.ipc.internal.SysvState.Undo;
import org.kerrighed.ipc.internal.SysvState.UndoIndex;
import org.kerrighed.ipc.sysv.IdentifierRemovedException;
import org.kerrighed.ipc.sysv.SemOp;
import org.kerrighed.ipc.sysv.SemStat;
import org.kerrighed.ipc.sysv.Sysv;
import org.kerrighed.ipc.sysv.SysvException;
import org.kerrighed.ipc.sysv.SysvSemaphores;
import org.kerrighed.ipc.sysv.WouldBlockException;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.IpcPerm;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Semaphore sets: each set is one KDDM object that moves to the node operating on it; its write handle is the
 * set's lock, so a {@code semop} is atomic cluster-wide. A caller that must wait puts its sleeper in the set's
 * waiter list (with its operations) and parks; a successful change wakes the waiters whose operations it makes
 * possible (they re-check under the handle). Undo adjustments are kept in the set, per holder; the undo index
 * says which sets a holder has adjustments in.
 */
final class SysvSemaphoreTable implements SysvSemaphores {
    /** Wake-up code: the set was removed. */
    static final int WAKE_REMOVED = 2;
    /** Wake-up code: a change may let the waiter proceed. */
    static final int WAKE_CHANGED = 1;

    private final SysvService svc;
    private final KddmSet<SemSet> sets;
    /** Holdings known to be in the undo index (saves a grab of the index on every SEM_UNDO semop). */
    private final Set<Holding> indexed = ConcurrentHashMap.newKeySet();

    SysvSemaphoreTable(SysvService svc) {
        this.svc = svc;
        this.sets = svc.semSets;
    }

    private static String name(int id) {
        return "semaphore set " + id;
    }

    private Credentials creds() {
        return svc.ipc().callers().credentials();
    }

    // ------------------------------------------------------------------ get

    @Override
    public int get(int key, int nsems, int flags, int mode) {
        SysvService.checkMode(mode);
        if (nsems < 0 || nsems > Sysv.SEMMSL) {
            throw new SysvException("EINVAL", "a semaphore set has 1 to " + Sysv.SEMMSL + " semaphores, asked "
                    + nsems);
        }
        Credentials c = creds();
        return svc.lookup(svc.semKeys, "semaphore set", key, flags, id -> {
            Optional<Handle<SemSet>> oh = sets.getIfExists(id);
            if (oh.isEmpty()) {
                return false;
            }
            try (Handle<SemSet> h = oh.get()) {
                SemSet s = h.value();
                if (s == null || s.removed) {
                    return false;
                }
                SysvService.checkRequested(s.perm, c, mode, name(id));
                if (nsems > s.values.length) {
                    throw new SysvException("EINVAL", name(id) + " (key " + key + ") has " + s.values.length
                            + " semaphores, fewer than the " + nsems + " asked");
                }
                return true;
            }
        }, () -> {
            if (nsems == 0) {
                throw new SysvException("EINVAL", "a new semaphore set needs nsems >= 1 (key " + key + ")");
            }
            int id = svc.allocate(SysvService.FAMILY_SEM, sets);
            SemSet s = new SemSet();
            s.id = id;
            s.key = key;
            s.perm = IpcPerm.createdBy(c, mode);
            s.creator = svc.ipc().callers().caller();
            s.values = new int[nsems];
            s.lastOp = new Caller[nsems];
            s.ctime = System.currentTimeMillis();
            try (Handle<SemSet> h = sets.grab(id)) {
                h.set(s);
            }
            return id;
        });
    }

    // ------------------------------------------------------------------ semop

    @Override
    public void semop(int id, SemOp... ops) throws InterruptedException {
        semop(id, Long.MAX_VALUE, ops);
    }

    @Override
    public boolean semtimedop(int id, long timeout, TimeUnit unit, SemOp... ops) throws InterruptedException {
        return semop(id, deadline(timeout, unit), ops);
    }

    /** A {@link System#nanoTime()} deadline {@code timeout} from now ({@code Long.MAX_VALUE}: none). */
    static long deadline(long timeout, TimeUnit unit) {
        long nanos = Math.max(0, unit.toNanos(timeout));
        return nanos >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE : System.nanoTime() + nanos;
    }

    static boolean expired(long deadline) {
        return deadline != Long.MAX_VALUE && System.nanoTime() - deadline >= 0;
    }

    private boolean semop(int id, long deadline, SemOp... ops) throws InterruptedException {
        if (ops == null || ops.length == 0 || ops.length > Sysv.SEMOPM) {
            throw new SysvException("EINVAL", "semop on " + name(id) + " takes 1 to " + Sysv.SEMOPM
                    + " operations, got " + (ops == null ? 0 : ops.length));
        }
        Credentials c = creds();
        Caller caller = svc.ipc().callers().caller();
        boolean undo = false;
        boolean alter = false;
        for (SemOp op : ops) {
            undo |= op.undoable();
            alter |= op.delta() != 0;
        }
        Caller holder = undo ? svc.undoHolder(caller) : caller;  // only undoable operations use it
        if (undo) {
            noteUndo(holder, id);
        }
        Sleepers.Sleeper sleeper = null;
        boolean waited = false;
        try {
            while (true) {
                Handle<SemSet> h = grab(id, waited);
                boolean changed = false;
                try {
                    SemSet s = h.value();
                    for (SemOp op : ops) {
                        if (op.num() >= s.values.length) {
                            throw new SysvException("EINVAL", "semop on " + name(id) + ": semaphore " + op.num()
                                    + " does not exist (the set has " + s.values.length + ")");
                        }
                    }
                    s.perm.check(c, alter ? Access.WRITE : Access.READ, name(id));
                    int blocked = tryApply(s, ops, caller, holder, id);
                    if (blocked < 0) {
                        if (sleeper != null) {
                            removeWaiter(s, sleeper.ref());
                        }
                        wakeSatisfiable(s);
                        changed = true;
                        return true;
                    }
                    SemOp b = ops[blocked];
                    if (b.noWaitFlag() || expired(deadline)) {
                        if (sleeper != null) {
                            changed = removeWaiter(s, sleeper.ref());
                        }
                        if (b.noWaitFlag()) {
                            throw new WouldBlockException("EAGAIN", "semop on " + name(id) + " would wait (semaphore "
                                    + b.num() + " is " + s.values[b.num()] + ", operation " + b.delta()
                                    + ") and IPC_NOWAIT was given");
                        }
                        return false;
                    }
                    if (sleeper == null) {
                        sleeper = svc.sleepers().sleeper();
                    }
                    removeWaiter(s, sleeper.ref());
                    int[] nums = new int[ops.length];
                    int[] deltas = new int[ops.length];
                    for (int i = 0; i < ops.length; i++) {
                        nums[i] = ops[i].num();
                        deltas[i] = ops[i].delta();
                    }
                    s.waiters.add(new SemWaiter(sleeper.ref(), nums, deltas, b.num(), b.delta() == 0));
                    changed = true;
                } finally {
                    h.release(changed);
                }
                try {
                    if (!sleeper.await(deadline)) {
                        cancel(id, sleeper.ref());
                        return false;
                    }
                } catch (InterruptedException e) {
                    cancel(id, sleeper.ref());
                    throw e;
                }
                waited = true;
            }
        } finally {
            if (sleeper != null) {
                sleeper.close();
            }
        }
    }

    /**
     * Applies {@code ops} to {@code s} if all can be applied at once (values, undo adjustments of {@code holder},
     * last operator {@code caller}, time) and returns -1; else changes nothing and returns the index of the first
     * operation that must wait.
     */
    private static int tryApply(SemSet s, SemOp[] ops, Caller caller, Caller holder, int id) {
        int[] v = s.values.clone();
        for (int i = 0; i < ops.length; i++) {
            SemOp op = ops[i];
            int cur = v[op.num()];
            if (op.delta() == 0) {
                if (cur != 0) {
                    return i;
                }
            } else if (cur + op.delta() < 0) {
                return i;
            } else if (cur + op.delta() > Sysv.SEMVMX) {
                throw new SysvException("ERANGE", "semop on " + name(id) + ": semaphore " + op.num() + " would be "
                        + (cur + op.delta()) + ", above SEMVMX " + Sysv.SEMVMX);
            } else {
                v[op.num()] = cur + op.delta();
            }
        }
        Undo u = null;
        int[] adj = null;
        for (SemOp op : ops) {
            if (op.undoable() && op.delta() != 0) {
                if (adj == null) {
                    u = findUndo(s, holder);
                    adj = u == null ? new int[s.values.length] : u.adj().clone();
                }
                int a = adj[op.num()] - op.delta();
                if (a < -Sysv.SEMVMX - 1 || a > Sysv.SEMVMX) {
                    throw new SysvException("ERANGE", "semop on " + name(id) + ": the undo adjustment of semaphore "
                            + op.num() + " would be " + a);
                }
                adj[op.num()] = a;
            }
        }
        if (adj != null) {
            s.undos.remove(u);
            s.undos.add(new Undo(holder, adj));
        }
        s.values = v;
        for (SemOp op : ops) {
            s.lastOp[op.num()] = caller;
        }
        s.otime = System.currentTimeMillis();
        return -1;
    }

    private static Undo findUndo(SemSet s, Caller holder) {
        for (Undo u : s.undos) {
            if (u.holder().sameHolder(holder)) {
                return u;
            }
        }
        return null;
    }

    /** True when {@code w}'s operations could all be applied to {@code values} now. */
    private static boolean canApply(int[] values, SemWaiter w) {
        int[] v = values.clone();
        for (int i = 0; i < w.nums().length; i++) {
            int n = w.nums()[i];
            int d = w.deltas()[i];
            if (n >= v.length) {
                return true;                    // it fails at once when it re-checks: wake it
            }
            if (d == 0 ? v[n] != 0 : v[n] + d < 0) {
                return false;
            }
            v[n] += d;
        }
        return true;
    }

    /** Wakes (and drops from the list) the waiters that can proceed now, and those of departed nodes. */
    private void wakeSatisfiable(SemSet s) {
        for (Iterator<SemWaiter> it = s.waiters.iterator(); it.hasNext(); ) {
            SemWaiter w = it.next();
            if (!svc.sleepers().isLive(w.ref())) {
                it.remove();
            } else if (canApply(s.values, w)) {
                it.remove();
                svc.sleepers().wake(w.ref(), WAKE_CHANGED, 0);
            }
        }
    }

    private static boolean removeWaiter(SemSet s, WaiterRef ref) {
        return s.waiters.removeIf(w -> w.ref().equals(ref));
    }

    /** Drops a waiter that gave up (timeout, interrupt); the set may be gone. */
    private void cancel(int id, WaiterRef ref) {
        sets.grabIfExists(id).ifPresent(h -> {
            boolean changed = h.value() != null && removeWaiter(h.value(), ref);
            h.release(changed);
        });
    }

    /** The set's write handle; EINVAL if there is none, EIDRM if it was removed while the caller waited. */
    private Handle<SemSet> grab(int id, boolean waited) {
        Optional<Handle<SemSet>> oh = sets.grabIfExists(id);
        if (oh.isPresent() && oh.get().value() != null && !oh.get().value().removed) {
            return oh.get();
        }
        oh.ifPresent(Handle::closeUnchanged);
        throw gone(id, waited);
    }

    private SysvException gone(int id, boolean waited) {
        return waited ? new IdentifierRemovedException(name(id) + " was removed while the caller waited on it")
                : new SysvException("EINVAL", "no " + name(id) + " (never made, or removed)");
    }

    private <R> R read(int id, Access access, Function<SemSet, R> f) {
        Optional<Handle<SemSet>> oh = sets.getIfExists(id);
        if (oh.isEmpty()) {
            throw gone(id, false);
        }
        try (Handle<SemSet> h = oh.get()) {
            SemSet s = h.value();
            if (s == null || s.removed) {
                throw gone(id, false);
            }
            if (access != null) {
                s.perm.check(creds(), access, name(id));
            }
            return f.apply(s);
        }
    }

    private static void checkNum(SemSet s, int num) {
        if (num < 0 || num >= s.values.length) {
            throw new SysvException("EINVAL", name(s.id) + " has semaphores 0 to " + (s.values.length - 1)
                    + ", not " + num);
        }
    }

    // ------------------------------------------------------------------ control

    @Override
    public int getVal(int id, int num) {
        return read(id, Access.READ, s -> {
            checkNum(s, num);
            return s.values[num];
        });
    }

    @Override
    public int[] getAll(int id) {
        return read(id, Access.READ, s -> s.values.clone());
    }

    @Override
    public Caller getPid(int id, int num) {
        return read(id, Access.READ, s -> {
            checkNum(s, num);
            return s.lastOp[num];
        });
    }

    @Override
    public int getNcnt(int id, int num) {
        return count(id, num, false);
    }

    @Override
    public int getZcnt(int id, int num) {
        return count(id, num, true);
    }

    private int count(int id, int num, boolean zero) {
        return read(id, Access.READ, s -> {
            checkNum(s, num);
            int n = 0;
            for (SemWaiter w : s.waiters) {
                if (w.blockedOn() == num && w.forZero() == zero && svc.sleepers().isLive(w.ref())) {
                    n++;
                }
            }
            return n;
        });
    }

    @Override
    public SemStat stat(int id) {
        return read(id, Access.READ, s -> new SemStat(s.id, s.key, s.perm, s.values.length,
                Instant.ofEpochMilli(s.otime), Instant.ofEpochMilli(s.ctime), s.creator));
    }

    @Override
    public void setVal(int id, int num, int value) {
        change(id, s -> {
            checkNum(s, num);
            checkValue(s, value);
            s.perm.check(creds(), Access.WRITE, name(id));
            s.values[num] = value;
            for (Undo u : s.undos) {
                u.adj()[num] = 0;
            }
            s.lastOp[num] = svc.ipc().callers().caller();
            s.ctime = System.currentTimeMillis();
            wakeSatisfiable(s);
        });
    }

    @Override
    public void setAll(int id, int... values) {
        change(id, s -> {
            if (values.length != s.values.length) {
                throw new SysvException("EINVAL", "SETALL on " + name(id) + " needs " + s.values.length
                        + " values, got " + values.length);
            }
            for (int v : values) {
                checkValue(s, v);
            }
            s.perm.check(creds(), Access.WRITE, name(id));
            s.values = values.clone();
            s.undos.clear();
            Caller me = svc.ipc().callers().caller();
            java.util.Arrays.fill(s.lastOp, me);
            s.ctime = System.currentTimeMillis();
            wakeSatisfiable(s);
        });
    }

    private static void checkValue(SemSet s, int v) {
        if (v < 0 || v > Sysv.SEMVMX) {
            throw new SysvException("ERANGE", "a semaphore of " + name(s.id) + " holds 0 to " + Sysv.SEMVMX
                    + ", not " + v);
        }
    }

    @Override
    public void setPerms(int id, int uid, int gid, int mode) {
        SysvService.checkMode(mode);
        change(id, s -> {
            s.perm.checkOwner(creds(), "IPC_SET on " + name(id));
            s.perm = new IpcPerm(uid, gid, s.perm.cuid(), s.perm.cgid(), mode);
            s.ctime = System.currentTimeMillis();
        });
    }

    @Override
    public void remove(int id) {
        List<SemWaiter> waiters = new ArrayList<>();
        int[] key = new int[1];
        change(id, s -> {
            s.perm.checkOwner(creds(), "IPC_RMID on " + name(id));
            s.removed = true;
            key[0] = s.key;
            waiters.addAll(s.waiters);
            s.waiters.clear();
        });
        svc.forgetKey(svc.semKeys, key[0], id);
        sets.remove(id);
        for (SemWaiter w : waiters) {
            svc.sleepers().wake(w.ref(), WAKE_REMOVED, 0);
        }
    }

    /** Runs {@code f} under the set's write handle; the set is published only if {@code f} returns normally. */
    private void change(int id, java.util.function.Consumer<SemSet> f) {
        Handle<SemSet> h = grab(id, false);
        boolean changed = false;
        try {
            f.accept(h.value());
            changed = true;
        } finally {
            h.release(changed);
        }
    }

    // ------------------------------------------------------------------ undo

    static long indexId(Caller holder) {
        return holder.isProcess() ? (1L << 32) + holder.pid() : holder.node();
    }

    /** Makes sure the undo index says {@code holder} may have adjustments in {@code id}, before it gets some. */
    private void noteUndo(Caller holder, int id) {
        Holding hd = new Holding(holder, id);
        if (indexed.contains(hd)) {
            return;
        }
        try (Handle<UndoIndex> h = svc.undoIndex.grab(indexId(holder))) {
            UndoIndex idx = h.value() == null ? new UndoIndex() : h.value();
            if (!idx.holdings.contains(hd)) {
                idx.holdings.add(hd);
            }
            h.set(idx);
        }
        indexed.add(hd);
        svc.watchThread(holder);
    }

    @Override
    public void holderExited(Caller holder) {
        exited(indexId(holder), svc.sameUndoHolder(holder));
    }

    /**
     * Applies the undo adjustments of the threads of node {@code node}'s incarnations that are gone (run by one
     * member): all its threads' if it is not a member, those of its earlier incarnations if it came back.
     */
    void nodeFailed(int node) {
        exited(node, c -> !c.isProcess() && c.node() == node && svc.incarnationGone(c));
    }

    private void exited(long indexId, java.util.function.Predicate<Caller> holders) {
        Optional<Handle<UndoIndex>> oh = svc.undoIndex.grabIfExists(indexId);
        if (oh.isEmpty()) {
            return;
        }
        Handle<UndoIndex> h = oh.get();
        boolean changed = false;
        try {
            UndoIndex idx = h.value();
            if (idx == null) {
                return;
            }
            List<Holding> mine = idx.holdings.stream().filter(x -> holders.test(x.holder())).toList();
            for (Holding x : mine) {
                applyUndo(x.holder(), x.semId());
            }
            changed = idx.holdings.removeAll(mine);
            indexed.removeAll(mine);
        } finally {
            h.release(changed);
        }
    }

    /** Adds {@code holder}'s adjustments in set {@code id} to its values (clamped to 0..SEMVMX) and forgets them. */
    private void applyUndo(Caller holder, int id) {
        sets.grabIfExists(id).ifPresent(h -> {
            boolean changed = false;
            try {
                SemSet s = h.value();
                Undo u = s == null || s.removed ? null : findUndo(s, holder);
                if (u == null) {
                    return;
                }
                s.undos.remove(u);
                for (int i = 0; i < s.values.length; i++) {
                    if (u.adj()[i] != 0) {
                        s.values[i] = Math.clamp((long) s.values[i] + u.adj()[i], 0, Sysv.SEMVMX);
                        s.lastOp[i] = SysvService.plainHolder(holder);
                    }
                }
                wakeSatisfiable(s);
                changed = true;
            } finally {
                h.release(changed);
            }
        });
    }
}
