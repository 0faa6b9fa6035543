package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.epm.internal.EpmWire.Entry;
import org.kerrighed.kddm.DefaultOwner;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.KerrighedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.function.UnaryOperator;

/**
 * This node's side of the cluster's process table: KDDM static set 1200, one {@link Entry} per live process, keyed
 * by pid and homed on the pid's birth node, replicated. Every write of a row runs on its process's own chain
 * ({@link LocalProcess#chainTableOp}), in order and off the process's path: the first as the process starts, then
 * when it stops, continues or changes parent, and its removal when it ends. A lookup that finds no row (not
 * written yet, or lost) asks the pid's birth node.
 *
 * <p>Pids come from the node's pid map (KDDM static set 1201, Kerrighed's pidmap): blocks of {@value #BLOCK} local
 * pids are reserved there by one replicated write, so a pid is never handed out twice, even by a node that takes
 * over a dead node's id. Once a node id's local pids wrapped around, a pid is claimed by writing its row first
 * (skipping pids whose row names a live process), as the first write of the process.
 */
final class ProcessTable {
    private static final Logger log = LoggerFactory.getLogger(ProcessTable.class);

    private final Kddm kddm;
    private final int self;
    private final KddmSet<Entry> rows;
    private final Map<Integer, LocalProcess> local;           // this node's processes (the node's map)
    private final KddmSet<EpmWire.PidMap> pidMaps;
    private static final int BLOCK = 1024;
    private int blockNext;                                       // guarded by this: the reserved block
    private int blockEnd;
    private boolean wrapped;
    private final Executor writes = Executors.newVirtualThreadPerTaskExecutor();
    private volatile boolean closed;

    /**
     * How long a row write that fails (KDDM recovering from a node's failure, say) is tried again, pausing 50 ms,
     * doubling up to 1 s: a row that kept naming the old node of a move, or a process that ended, would send every
     * later lookup of its pid astray.
     */
    static final java.time.Duration RETRY_BOUND = java.time.Duration.ofSeconds(60);

    /** Tests only: how many of the next row writes fail (as a KDDM recovering from a failure would make them). */
    static final java.util.concurrent.atomic.AtomicInteger FAIL_ROW_WRITES_FOR_TESTS =
            new java.util.concurrent.atomic.AtomicInteger();

    /** A row write that may fail with a {@link KddmException}. */
    private interface RowWrite {
        void run();
    }

    ProcessTable(Kddm kddm, Map<Integer, LocalProcess> local) {
        this.kddm = kddm;
        this.self = kddm.nodeId();
        this.local = local;
        this.rows = kddm.createStaticSet(EpmWire.TABLE_SET, kddm.objectSpec(Entry.class)
                .withOwner(DefaultOwner.nodeInId())
                .withReplication(SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(Entry.class));
        this.pidMaps = kddm.createStaticSet(EpmWire.PID_MAP_SET, kddm.objectSpec(EpmWire.PidMap.class)
                .withOwner(DefaultOwner.nodeInId())
                .withReplication(SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(EpmWire.PidMap.class));
    }

    /** A pid taken for a new process: its row is written ({@code written}) or still to write ({@link #write}). */
    record Claim(Entry entry, boolean written) {
    }

    /** The process layer closes: row writes are not tried again. */
    void close() {
        closed = true;
    }

    /**
     * Runs {@code op}, again while it fails with a {@link KddmException}, for {@link #RETRY_BOUND} at most and
     * until the process layer closes; on the calling thread (a process's chained table operation, or a thread of
     * its own), which it holds meanwhile. True once done; false when given up (logged), or interrupted.
     */
    private boolean retrying(String what, int pid, RowWrite op) {
        return retrying(what, pid, System.nanoTime() + RETRY_BOUND.toNanos(), op);
    }

    /** {@link #retrying(String, int, RowWrite)} until {@code deadline} ({@link System#nanoTime}) at most. */
    private boolean retrying(String what, int pid, long deadline, RowWrite op) {
        long pause = 50;
        for (int attempt = 1; ; attempt++) {
            try {
                if (FAIL_ROW_WRITES_FOR_TESTS.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    throw new KddmException("a row write made to fail (tests)");
                }
                op.run();
                if (attempt > 1) {
                    log.info("node {}: process table row of {} {} at attempt {}", self, pid, what, attempt);
                }
                return true;
            } catch (KddmException e) {
                if (closed || System.nanoTime() + pause * 1_000_000 > deadline) {
                    log.warn("node {}: process table row of {} not {} ({} attempts): {}", self, pid, what, attempt,
                            e.getMessage());
                    return false;
                }
                log.debug("node {}: process table row of {} not {} yet, trying again: {}", self, pid, what,
                        e.getMessage());
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                log.warn("node {}: process table row of {} not {}: interrupted", self, pid, what);
                return false;
            }
            pause = Math.min(pause * 2, 1000);
        }
    }

    /** Where the chained writes of processes run. */
    Executor writes() {
        return writes;
    }

    /**
     * Takes a free pid born here for the process {@code s} asks for. Waits for one replicated write every
     * {@value #BLOCK} pids (a block of the pid map), and for each pid once the node id's pids wrapped around.
     */
    Claim claim(EpmWire.Spawn s) {
        long now = System.currentTimeMillis();
        for (int attempt = 0; attempt < 1000; attempt++) {
            boolean check;
            int pid;
            synchronized (this) {
                pid = nextPid();
                check = wrapped;
            }
            Entry mine = new Entry(pid, self, s.ppid(), s.pgid() == 0 ? pid : s.pgid(), s.sid() == 0 ? pid : s.sid(),
                    s.credentials().uid(), s.credentials().gid(), ProcessState.RUNNING, s.command(), now, 0);
            if (!check) {
                return new Claim(mine, false);
            }
            if (rows.update(Pids.tableId(pid), old -> old == null || stale(old) ? mine : old) == mine) {
                return new Claim(mine, true);
            }
        }
        throw new KerrighedException("node " + self + " found no free pid (1000 tried)");
    }

    /** A new pid born here, for a process restarted under a new pid (its row is written when it is installed). */
    synchronized int newPid() {
        return nextPid();
    }

    /** The next local pid of the reserved block (reserving a block first if it is used up); not one running here. */
    private int nextPid() {
        while (true) {
            if (blockNext >= blockEnd) {
                reserveBlock();
            }
            int pid = Pids.make(self, blockNext++);
            if (!local.containsKey(pid)) {
                return pid;
            }
        }
    }

    private void reserveBlock() {
        EpmWire.PidMap m = pidMaps.update(DefaultOwner.idOnNode(self, 0), old -> {
            int start = old == null ? 1 : old.next();
            boolean w = old != null && old.wrapped();
            if (start > Pids.MAX_LOCAL - BLOCK + 1) {
                start = 1;
                w = true;
            }
            return new EpmWire.PidMap(start + BLOCK, w);
        });
        blockEnd = m.next();
        blockNext = m.next() - BLOCK;
        wrapped = m.wrapped();
    }

    /**
     * Writes the row of a process whose claim did not, as the first write of its chain (unless the process moved
     * meanwhile and its new node wrote first).
     */
    void write(LocalProcess p, Entry row) {
        p.chainTableOp(() -> retrying("written", p.pid, () -> rows.update(Pids.tableId(p.pid),
                old -> old != null && old.moves() > row.moves() || old == null && !isHere(p) ? old : row)));
    }

    /**
     * Whether {@code p} still runs here. A row write tried again (seconds later) that finds no row writes one only
     * then: the process may have moved on and ended meanwhile, its row removed by the node it ended on.
     */
    private boolean isHere(LocalProcess p) {
        return local.get(p.pid) == p;
    }

    /** A row that names no live process: its node is gone, or it is this node and the process is not here. */
    private boolean stale(Entry e) {
        return !kddm.isMember(e.node()) || e.node() == self && !local.containsKey(e.pid());
    }

    /**
     * Makes {@code p}'s row name this node, now (a process restarted here): later lookups come here.
     */
    void takeOver(LocalProcess p, long deadline) {
        Entry row = entry(p, self, p.moves());
        retrying("taken over here", p.pid, deadline, () -> rows.update(Pids.tableId(p.pid), old -> row));
    }

    /**
     * Makes {@code p}'s row name this node (a process that moved here), unless the row already counts as many moves
     * (this node's write came late). The old node's own queued writes may land after it: they write only a row that
     * names their node, and its arrival write counts fewer moves.
     */
    void movedHere(LocalProcess p) {
        java.util.function.BiConsumer<Integer, Integer> hook = beforeMovedHereForTests;
        if (hook != null) {
            hook.accept(self, p.pid);
        }
        writeHere(p);
    }

    /** Tests only: called with this node's id and the pid before a process that moved here has its row rewritten. */
    static volatile java.util.function.BiConsumer<Integer, Integer> beforeMovedHereForTests;

    /**
     * Makes the row of {@code p}, which moved from here to {@code node} (which answered that it runs there), name
     * that node, unless a write of that move or of a later one came first, or the row is gone (the process was taken
     * for lost): the new node writes it too, but may die before it does.
     */
    void movedTo(LocalProcess p, int node) {
        Entry row = entry(p, node, p.moves() + 1);
        retrying("moved to node " + node, p.pid, () -> rows.update(Pids.tableId(p.pid),
                old -> old != null && old.moves() < row.moves() ? row : old));
    }

    private void writeHere(LocalProcess p) {
        Entry row = entry(p, self, p.moves());
        retrying("moved here", p.pid, () -> rows.update(Pids.tableId(p.pid),
                old -> old == null ? isHere(p) ? row : null : old.moves() < row.moves() ? row : old));
    }

    private static Entry entry(LocalProcess p, int node, int moves) {
        return new Entry(p.pid, node, p.ppid, p.pgid, p.sid, p.credentials.uid(), p.credentials.gid(),
                ProcessState.RUNNING, p.command, p.startMillis, moves);
    }

    /** Rewrites {@code p}'s row after its earlier writes; never waits. */
    void update(LocalProcess p, UnaryOperator<Entry> change) {
        p.chainTableOp(() -> retrying("updated", p.pid, () -> {
            Optional<Handle<Entry>> h = rows.grabIfExists(Pids.tableId(p.pid));
            if (h.isEmpty()) {
                return;
            }
            try (Handle<Entry> handle = h.get()) {
                if (handle.value() != null && handle.value().node() == self) {
                    handle.set(change.apply(handle.value()));
                }
            }
        }));
    }

    /** Removes {@code p}'s row after its earlier writes; never waits. */
    void removeAfter(LocalProcess p) {
        p.chainTableOp(() -> retrying("removed", p.pid, () -> rows.remove(Pids.tableId(p.pid))));
    }

    /** Removes the row of {@code pid} (a process that is not this node's) on another thread. */
    void removeLater(int pid) {
        writes.execute(() -> remove(pid));
    }

    /** Removes the row of {@code pid} now. */
    void remove(int pid) {
        try {
            rows.remove(Pids.tableId(pid));
        } catch (KddmException e) {
            log.debug("node {}: process table row of {} not removed: {}", self, pid, e.getMessage());
        }
    }

    /**
     * The node that {@code pid}'s row names, live or not, or -1 when it has no row. Unlike {@link #hostOf}, drops
     * nothing.
     *
     * @throws KddmException when the row cannot be read
     */
    int nodeOf(int pid) {
        Optional<Handle<Entry>> h = rows.getIfExists(Pids.tableId(pid));
        if (h.isEmpty()) {
            return -1;
        }
        try (Handle<Entry> handle = h.get()) {
            return handle.value() == null ? -1 : handle.value().node();
        }
    }

    /**
     * {@link #nodeOf(int)}, read again every 50 ms while it fails, until {@code deadlineNanos} ({@code System.nanoTime}
     * time); an interrupt meanwhile is kept for later.
     *
     * @throws RuntimeException the last failure, once the deadline is past
     */
    int nodeOf(int pid, long deadlineNanos) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return nodeOf(pid);
                } catch (RuntimeException e) {
                    if (System.nanoTime() > deadlineNanos) {
                        throw e;
                    }
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException stop) {
                        interrupted = true;
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The live node other than this one that runs {@code pid}: the one its row names, or its birth node when it has
     * no row; -1 when neither is such a node. Drops rows whose node is gone.
     */
    int hostOf(int pid) {
        if (!Pids.isGlobal(pid)) {
            return -1;
        }
        Entry e = null;
        Optional<Handle<Entry>> h = rows.getIfExists(Pids.tableId(pid));
        if (h.isPresent()) {
            try (Handle<Entry> handle = h.get()) {
                e = handle.value();
            }
        }
        if (e == null) {
            int birth = Pids.birthNode(pid);
            return birth != self && kddm.isMember(birth) ? birth : -1;
        }
        if (e.node() == self) {
            return -1;
        }
        if (!kddm.isMember(e.node())) {
            removeLater(pid);
            return -1;
        }
        return e.node();
    }
}
