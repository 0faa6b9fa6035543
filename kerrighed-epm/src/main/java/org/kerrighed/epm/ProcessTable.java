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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * This node's side of the cluster's process table: KDDM static set 1200, one {@link Entry} per live process, keyed
 * by pid and homed on the pid's birth node, replicated. A row is written when its process starts (the write claims
 * the pid), rewritten when it stops, continues or changes parent, and removed when it ends; the later writes run in
 * order on the process's own chain ({@link LocalProcess#chainTableOp}), off its path.
 */
final class ProcessTable {
    private static final Logger log = LoggerFactory.getLogger(ProcessTable.class);

    private final Kddm kddm;
    private final int self;
    private final KddmSet<Entry> rows;
    private final Map<Integer, LocalProcess> local;           // this node's processes (the node's map)
    private final AtomicInteger nextLocal = new AtomicInteger();
    private final Executor writes = Executors.newVirtualThreadPerTaskExecutor();

    ProcessTable(Kddm kddm, Map<Integer, LocalProcess> local) {
        this.kddm = kddm;
        this.self = kddm.nodeId();
        this.local = local;
        this.rows = kddm.createStaticSet(EpmWire.TABLE_SET, kddm.objectSpec(Entry.class)
                .withOwner(DefaultOwner.nodeInId())
                .withReplication(SetSpec.SYSTEM_REPLICATION), new ObjectLinker<>(Entry.class));
    }

    /** Where the chained writes of processes run. */
    Executor writes() {
        return writes;
    }

    /**
     * Takes a free pid born here for the process {@code s} asks for, and writes its row (waiting for its backup).
     * Skips pids whose row still names a live process: a node that rejoins under a reused id gives no live pid
     * twice.
     */
    Entry claim(EpmWire.Spawn s) {
        long now = System.currentTimeMillis();
        for (int attempt = 0; attempt < 1000; attempt++) {
            int pid = Pids.make(self, nextLocal.updateAndGet(v -> v >= Pids.MAX_LOCAL ? 1 : v + 1));
            if (local.containsKey(pid)) {
                continue;
            }
            Entry mine = new Entry(pid, self, s.ppid(), s.pgid() == 0 ? pid : s.pgid(), s.sid() == 0 ? pid : s.sid(),
                    s.credentials().uid(), s.credentials().gid(), ProcessState.RUNNING, s.command(), now);
            Entry got = rows.update(Pids.tableId(pid), old -> old == null || stale(old) ? mine : old);
            if (got == mine) {
                return mine;
            }
        }
        throw new KerrighedException("node " + self + " found no free pid (1000 tried)");
    }

    /** A row that names no live process: its node is gone, or it is this node and the process is not here. */
    private boolean stale(Entry e) {
        return !kddm.isMember(e.node()) || e.node() == self && !local.containsKey(e.pid());
    }

    /** Rewrites {@code p}'s row after its earlier writes; never waits. */
    void update(LocalProcess p, UnaryOperator<Entry> change) {
        p.chainTableOp(() -> {
            try {
                Optional<Handle<Entry>> h = rows.grabIfExists(Pids.tableId(p.pid));
                if (h.isEmpty()) {
                    return;
                }
                try (Handle<Entry> handle = h.get()) {
                    if (handle.value() != null && handle.value().node() == self) {
                        handle.set(change.apply(handle.value()));
                    }
                }
            } catch (KddmException e) {
                log.debug("node {}: process table row of {} not updated: {}", self, p.pid, e.getMessage());
            }
        });
    }

    /** Removes {@code p}'s row after its earlier writes; never waits. */
    void removeAfter(LocalProcess p) {
        p.chainTableOp(() -> remove(p.pid));
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

    /** The live node other than this one that runs {@code pid}, from its row, or -1; drops rows whose node is gone. */
    int hostOf(int pid) {
        if (!Pids.isGlobal(pid)) {
            return -1;
        }
        Entry e;
        Optional<Handle<Entry>> h = rows.getIfExists(Pids.tableId(pid));
        if (h.isEmpty()) {
            return -1;
        }
        try (Handle<Entry> handle = h.get()) {
            e = handle.value();
        }
        if (e == null || e.node() == self) {
            return -1;
        }
        if (!kddm.isMember(e.node())) {
            removeLater(pid);
            return -1;
        }
        return e.node();
    }
}
