package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.epm.internal.EpmWire.Exit;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * This node's side of parents and children: the end of a process here told to its parent's node, exit notices for
 * this node's parents (and for INIT, of the processes this node started), orphans adopted, and the processes of
 * nodes that went away reported killed.
 */
final class Reaper {
    /*
     * Overview: a parent's children live in the parent's `Children` on the parent's node (INIT's, for the processes
     * this node started and the orphans it adopted, in `started`). A child's end travels as one EXIT message to that
     * node. It may arrive before the SPAWN reply that names the child: it then waits in `earlyExits` until the spawn
     * registers the child. Registration, notices and adoption all run under `lock`, so a notice finds its child in
     * exactly one place.
     */
    private static final Logger log = LoggerFactory.getLogger(Reaper.class);
    private static final long EARLY_EXIT_TTL_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final RpcNode rpc;
    private final int self;
    private final Map<Integer, LocalProcess> local;
    private final ProcessTable table;
    private final Applications apps;
    private final SharedMemory shm;
    private final org.kerrighed.ipc.Ipc ipc;
    private final Children started = new Children();          // INIT's children on this node
    private final Object lock = new Object();
    private final Map<Long, EarlyExit> earlyExits = new ConcurrentHashMap<>();
    private final Map<Integer, Long> lostLately = new ConcurrentHashMap<>();   // pids reported lost, when (nanos)
    private volatile Set<Integer> lastMembers = Set.of();
    // Nodes that were members and are no longer (until they join again): only those are gone. A node that is not in
    // this node's view yet (it has just joined, and this node has not installed the view that says so) is not.
    private final Set<Integer> departed = ConcurrentHashMap.newKeySet();
    private Migration migration;                                  // set once, before any message

    private record EarlyExit(Exit exit, long atNanos) {
    }

    /**
     * Tests only: called with this node's id and the pid before a process's parent's node is told where it moved (by
     * its new node, and by its old one).
     */
    static volatile java.util.function.BiConsumer<Integer, Integer> beforeTellingParentForTests;

    Reaper(RpcNode rpc, Map<Integer, LocalProcess> local, ProcessTable table, Applications apps, SharedMemory shm,
           org.kerrighed.ipc.Ipc ipc) {
        this.rpc = rpc;
        this.ipc = ipc;
        this.self = rpc.nodeId();
        this.local = local;
        this.table = table;
        this.apps = apps;
        this.shm = shm;
    }

    void setMigration(Migration m) {
        this.migration = m;
    }

    /** The children of {@code parent}, or INIT's on this node for null. */
    Children childrenOf(LocalProcess parent) {
        return parent != null ? parent.children : started;
    }

    /**
     * Records a child that a spawn started on {@code node}, applying its exit notice if it came first. A child of
     * INIT ({@code parent} null) is reaped as soon as it ends.
     */
    Child register(LocalProcess parent, int pid, int node) {
        synchronized (lock) {
            Child c = childrenOf(parent).add(pid, node);
            EarlyExit early = earlyExits.remove(key(parent == null ? Pids.INIT : parent.pid, pid));
            if (early != null) {
                apply(parent == null, c, early.exit());
            }
            return c;
        }
    }

    /**
     * Ends record {@code c} of a child that its parent was never given (a restart abandoned): a parent waiting for
     * any child is not left waiting for one that never started. The record stays until the child's own exit notice
     * (if it ran) reaps it; dropped now, that notice would wait as an early exit and end the record of the next
     * restart of the same pid.
     */
    void abandoned(Child c, ExitStatus status) {
        synchronized (lock) {
            c.exited(status, null, null);
        }
    }

    /**
     * On the thread of process {@code p}, whose program is over: the cluster locks it still holds are released (its
     * pool thread would otherwise keep them, and pass them on to the next process it runs), and its System V
     * semaphore undo adjustments are applied, as {@code exit} does. Best effort: a failure is logged.
     */
    private void releaseHeld(LocalProcess p) {
        try {
            List<org.kerrighed.ipc.Ipc.HeldLock> held = ipc.handOverLocks(p.pid, java.time.Duration.ZERO);
            if (!held.isEmpty()) {
                log.warn("node {}: process {} ended holding cluster lock(s) {}: released", self, p.pid,
                        held.stream().map(org.kerrighed.ipc.Ipc.HeldLock::name).toList());
            }
        } catch (RuntimeException e) {
            log.warn("node {}: the cluster locks process {} held were not released: {}", self, p.pid, e.toString());
        }
        undo(p.pid);
    }

    /** Applies the System V semaphore undo adjustments of process {@code pid}, which ended or was lost. */
    private void undo(int pid) {
        try {
            ipc.semaphores().holderExited(new Caller(self, pid, 0));
        } catch (RuntimeException e) {
            log.warn("node {}: the semaphore undo adjustments of process {} were not applied: {}", self, pid,
                    e.toString());
        }
    }

    private static long key(int parent, int child) {
        return (long) parent << 32 | (child & 0xffffffffL);
    }

    /**
     * Called on the process's thread once its program is over. Its live children are adopted by INIT on this node:
     * their exit notices come here, so handles on them held on this node still complete. The exit notice goes before
     * the table row is removed: the removal calls every other node, and started first it competes with the notice.
     */
    void exited(LocalProcess p, ExitStatus status) {
        ProcessInfo last = p.info(ProcessState.ZOMBIE, status);
        List<Child> orphans = new ArrayList<>();
        synchronized (lock) {
            local.remove(p.pid);
            for (Child c : p.children.all()) {
                if (!c.exit().isDone()) {
                    c.adoptedBy(started);
                    orphans.add(c);
                }
            }
        }
        for (Child c : orphans) {
            sendOrApply(c.node, EpmWire.REPARENT, new EpmWire.Reparent(c.pid, Pids.INIT, self),
                    () -> reparent(c.pid, Pids.INIT, self));
        }
        int detached = shm.detachAll(new Caller(self, p.pid, 0));
        int closed = p.epm.ipc().closePipeEnds(new Caller(self, p.pid, 0));
        if (detached + closed > 0) {
            log.debug("node {}: process {} ended with {} segment(s) attached and {} pipe end(s) open: released", self,
                    p.pid, detached, closed);
        }
        releaseHeld(p);
        try {
            tellParent(p, status, last);
        } finally {
            table.removeAfter(p);
        }
    }

    /** Sends {@code p}'s exit notice to its parent's node, or applies it here; none for an orphan whose adopter died. */
    private void tellParent(LocalProcess p, ExitStatus status, ProcessInfo last) {
        int parentNode = p.parentNode;
        if (parentNode < 0) {
            return;
        }
        Exit e = new Exit(p.ppid, p.pid, self, status, p.result(), last);
        if (parentNode == self) {
            onExit(e);
            return;
        }
        try {
            rpc.send(parentNode, EpmWire.EXIT, apps.outbound(e));
        } catch (org.kerrighed.rpc.SerializationException | IllegalArgumentException bad) {
            rpc.send(parentNode, EpmWire.EXIT, new Exit(p.ppid, p.pid, self, status, null, last));
            log.warn("node {}: process {}'s result could not be sent ({}); its parent gets none", self, p.pid,
                    bad.getMessage());
        } catch (KerrighedException gone) {
            log.debug("node {}: exit of process {} not sent to node {}: {}", self, p.pid, parentNode, gone.getMessage());
        }
    }

    private <Q> void sendOrApply(int node, ServiceKey<Q, Void> key, Q msg, Runnable here) {
        if (node == self) {
            here.run();
            return;
        }
        try {
            rpc.send(node, key, msg);
        } catch (KerrighedException e) {
            log.debug("node {}: {} to node {} not sent: {}", self, key, node, e.getMessage());
        }
    }

    /** An exit notice for one of this node's parents (or for INIT), from this node. */
    void onExit(Exit exit) {
        onExit(exit, self, false);
    }

    /**
     * An exit notice for one of this node's parents (or for INIT), from node {@code from}. A parent that moved away
     * gets it where it went: this node remembers where for a while, then its row says ({@code byRow}: a node sent it
     * here by the row already, and it is not sent on by the row again).
     */
    void onExit(Exit exit, int from, boolean byRow) {
        Exit e = apps.inbound(exit);
        LocalProcess parent;
        boolean forgotten = false;     // neither the parent nor the child (adopted) is here, nor where the parent went
        synchronized (lock) {
            parent = e.parentPid() == Pids.INIT ? null : local.get(e.parentPid());
            Child c = childrenOf(parent).get(e.childPid());
            if (c != null) {
                apply(parent == null, c, e);
            } else if (parent != null || e.parentPid() == Pids.INIT) {
                long now = System.nanoTime();
                earlyExits.values().removeIf(x -> now - x.atNanos() > EARLY_EXIT_TTL_NANOS);
                lostLately.values().removeIf(at -> now - at > EARLY_EXIT_TTL_NANOS);
                if (lostLately.containsKey(e.childPid())) {
                    // a late notice of a process this node reported lost (its old node ended its copy): kept, it
                    // would end the record of a restart of that pid
                    log.debug("node {}: late exit notice of process {}, reported lost already: dropped", self,
                            e.childPid());
                    return;
                }
                earlyExits.put(key(e.parentPid(), e.childPid()), new EarlyExit(e, now));
                return;
            } else {
                int went = migration.wentTo(e.parentPid());
                if (went >= 0) {                                  // the parent moved there
                    sendOrApply(went, byRow ? EpmWire.EXIT_BY_ROW : EpmWire.EXIT, apps.outbound(e), () -> { });
                    return;
                }
                forgotten = !byRow;
            }
        }
        if (forgotten) {
            forwardByRow(e.parentPid(), from, EpmWire.EXIT_BY_ROW, apps.outbound(e));
        } else if (parent != null) {
            parent.post(Signal.CHLD);
        }
    }

    /**
     * Sends {@code msg} about process {@code pid}, which is not here and whose move this node does not remember, to
     * the node its row names, if it has one and that node is another one than this one and {@code from}, and has not
     * left; drops it otherwise. {@code key} is a by-row service: the receiver does not send it on by the row again.
     */
    private <Q> void forwardByRow(int pid, int from, ServiceKey<Q, Void> key, Q msg) {
        int host;
        try {
            host = table.nodeOf(pid);
        } catch (RuntimeException e) {
            log.debug("node {}: {} for process {} dropped: its row was not read ({})", self, key, pid, e.toString());
            return;
        }
        if (host < 0 || host == self || host == from || departed.contains(host)) {
            return;
        }
        try {
            rpc.send(host, key, msg);
        } catch (KerrighedException e) {
            log.debug("node {}: {} for process {} not forwarded to node {}: {}", self, key, pid, host, e.getMessage());
        }
    }

    private static void apply(boolean reapNow, Child c, Exit e) {
        c.exited(e.status(), e.result(), e.last());
        if (reapNow) {
            c.reap();
        }
    }

    /**
     * {@code p} moved away: it is no longer this node's. Returns the exits of its children that came here after its
     * ghost was written ({@code captured} lists its children then), which {@link #forwardLate} sends on to it. Takes
     * only this reaper's lock: any thread, an I/O thread too.
     */
    List<Exit> leftHere(LocalProcess p, List<ProcessImage.ChildImage> captured) {
        Set<Integer> known = new HashSet<>();
        for (ProcessImage.ChildImage ci : captured) {
            if (ci.status() == null) {
                known.add(ci.pid());
            }
        }
        List<Exit> late = new ArrayList<>();
        synchronized (lock) {
            local.remove(p.pid);
            for (Child c : p.children.all()) {
                ProcessContext.ChildExit e = c.exit().getNow(null);
                if (e != null && known.contains(c.pid)) {
                    late.add(new Exit(p.pid, c.pid, c.node, e.status(), e.result(), c.last));
                }
            }
        }
        return late;
    }

    /** Sends the exits {@link #leftHere} returned on to {@code p}'s new node {@code target}. */
    void forwardLate(LocalProcess p, int target, List<Exit> late) {
        for (Exit e : late) {
            Exit out;
            try {
                out = apps.outbound(e);
            } catch (RuntimeException bad) {                      // as tellParent: the exit goes, without its result
                out = new Exit(e.parentPid(), e.childPid(), e.childNode(), e.status(), null, e.last());
                log.warn("node {}: the result of process {} could not be forwarded to its parent {} on node {} ({});"
                        + " it gets none", self, e.childPid(), p.pid, target, bad.getMessage());
            }
            sendOrApply(target, EpmWire.EXIT, out, () -> { });
        }
    }

    /**
     * {@code p} arrived here from another node (and its row says so): its parent's node learns where it runs, and its
     * children's nodes where their parent is.
     */
    void arrived(LocalProcess p) {
        tellWhere(p, self, p.moves());
    }

    /**
     * {@code p} moved from here to {@code target}, which answered that it runs there: its row is made to name the
     * target and the parent's node is told, as by the target's {@link #arrived}, from this node too, so that neither
     * is lost when the target dies before it does them (a node told of a move to a node that is gone takes the
     * process for lost with it, if the row agrees). Best effort.
     */
    void movedAway(LocalProcess p, int target) {
        table.movedTo(p, target);               // first: a node told of the move checks the row if the target died
        tellParentWhere(p, new EpmWire.Moved(p.ppid, p.pid, target, p.moves() + 1));
    }

    private void tellWhere(LocalProcess p, int node, int moves) {
        tellParentWhere(p, new EpmWire.Moved(p.ppid, p.pid, node, moves));
        for (Child c : p.children.all()) {
            if (!c.exit().isDone()) {
                sendOrApply(c.node, EpmWire.REPARENT, new EpmWire.Reparent(c.pid, p.pid, node),
                        () -> reparent(c.pid, p.pid, node));
            }
        }
    }

    private void tellParentWhere(LocalProcess p, EpmWire.Moved m) {
        java.util.function.BiConsumer<Integer, Integer> hook = beforeTellingParentForTests;
        if (hook != null) {
            hook.accept(self, p.pid);
        }
        int parentNode = p.parentNode;
        if (parentNode == self) {
            moved(m);
        } else if (parentNode >= 0) {
            try {
                rpc.call(parentNode, EpmWire.MOVED, m).get(rpc.config().defaultCallTimeout().toMillis(),
                        TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                log.warn("node {}: node {} (parent {} of process {}) not told that it runs on node {}: {}", self,
                        parentNode, p.ppid, p.pid, m.node(), e.toString());
            }
        }
    }

    /**
     * A child of one of this node's processes (or of INIT here) runs on another node now (a notice of an earlier move
     * than the last one applied is ignored). A child on a node that is no longer a member is reported killed, unless
     * its row names a live node (it moved on: its record says so then).
     */
    Integer moved(EpmWire.Moved m) {
        return moved(m, self, false);
    }

    /**
     * {@link #moved(EpmWire.Moved)}, sent by node {@code from} ({@code byRow}: a node sent it here by the row
     * already). A parent that moved away gets it where it went; a parent that ended had its children adopted here.
     */
    Integer moved(EpmWire.Moved m, int from, boolean byRow) {
        boolean nodeGone = m.node() != self && departed.contains(m.node());
        int rowNode = nodeGone ? rowNode(m.childPid(), System.nanoTime() + rpc.config().defaultCallTimeout().toNanos())
                : -1;
        int went = -1;
        Child lost = null;
        LocalProcess parent;
        boolean found;
        synchronized (lock) {
            parent = m.parentPid() == Pids.INIT ? null : local.get(m.parentPid());
            Child c = childrenOf(parent).get(m.childPid());     // for an absent parent: adopted by INIT here
            found = parent != null || m.parentPid() == Pids.INIT || c != null;
            if (c != null && m.moves() > c.moves) {
                c.node = m.node();
                c.moves = m.moves();
                if (nodeGone) {
                    if (namesNodeNotGone(rowNode, Set.of(m.node()))) {
                        c.node = rowNode;
                    } else if (lostWith(c, Set.of(m.node()), Set.of(m.node()))) {
                        lost = c;
                        if (parent == null) {
                            c.reap();
                        }
                    }
                }
            }
            if (!found) {
                went = migration.wentTo(m.parentPid());
            }
        }
        if (lost != null) {
            reportLost(List.of(lost), Set.of(m.node()));
            if (parent != null) {
                parent.post(Signal.CHLD);
            }
        }
        if (found) {
            return 1;
        }
        if (went >= 0) {                                          // the parent moved too: on to it
            if (byRow) {
                sendOrApply(went, EpmWire.MOVED_BY_ROW, m, () -> { });
            } else {
                rpc.call(went, EpmWire.MOVED, m);
            }
        } else if (!byRow) {
            forwardByRow(m.parentPid(), from, EpmWire.MOVED_BY_ROW, m);   // it moved, and this node forgot where
        }
        return 0;
    }

    /**
     * A REPARENT notice from node {@code from}: applied if its process is here, else sent on where it moved (this
     * node remembers where for a while, then its row says; {@code byRow}: a node sent it here by the row already).
     */
    void reparent(EpmWire.Reparent r, int from, boolean byRow) {
        if (local.containsKey(r.pid())) {
            reparent(r.pid(), r.ppid(), r.parentNode());
            return;
        }
        int went = migration.wentTo(r.pid());
        if (went >= 0) {
            sendOrApply(went, byRow ? EpmWire.REPARENT_BY_ROW : EpmWire.REPARENT, r,
                    () -> reparent(r.pid(), r.ppid(), r.parentNode()));
        } else if (!byRow) {
            forwardByRow(r.pid(), from, EpmWire.REPARENT_BY_ROW, r);
        }
    }

    /** Process {@code pid} of this node now has parent {@code ppid} on {@code parentNode} (-1: nobody to tell). */
    void reparent(int pid, int ppid, int parentNode) {
        LocalProcess p = local.get(pid);
        if (p == null) {
            return;
        }
        boolean parentGone = parentNode >= 0 && parentNode != self && departed.contains(parentNode);
        int newParent = parentGone ? Pids.INIT : ppid;           // its new parent's node is gone already
        p.ppid = newParent;
        p.parentNode = parentGone ? -1 : parentNode;
        table.update(p, e -> e.withParent(newParent));
    }

    /** A new view: nodes that are no longer members are gone ({@code failed}: declared dead, the others left). */
    void viewChanged(java.util.Collection<Integer> members, java.util.Collection<Integer> failed) {
        Set<Integer> gone = new HashSet<>(lastMembers);
        gone.removeAll(members);
        gone.addAll(failed);
        gone.remove(self);                                     // this node's own processes are not lost with it
        lastMembers = Set.copyOf(members);
        departed.addAll(gone);
        departed.removeAll(members);
        departed.remove(self);
        if (!gone.isEmpty()) {
            Set<Integer> dead = Set.copyOf(failed);
            Thread.ofVirtual().name("krg-epm-gone-" + self).start(() -> nodesGone(Set.copyOf(gone), dead));
        }
    }

    /**
     * Reports the processes of nodes that are gone as killed to their parents here, and has INIT adopt this node's
     * processes whose parent was there. A child whose row names a live node instead moved there (the notice of its
     * move is on its way, or was lost with the old node): it is not lost.
     */
    private void nodesGone(Set<Integer> gone, Set<Integer> failed) {
        Map<Integer, Integer> movedOn = movedOn(gone);
        List<Child> lost = new ArrayList<>();
        synchronized (lock) {
            for (Child c : started.all()) {
                if (lostWith(c, gone, failed, movedOn)) {
                    lost.add(c);
                    c.reap();
                }
            }
            for (LocalProcess p : local.values()) {
                boolean told = false;
                for (Child c : p.children.all()) {
                    if (lostWith(c, gone, failed, movedOn)) {
                        lost.add(c);
                        told = true;
                    }
                }
                if (told) {
                    p.post(Signal.CHLD);
                }
            }
        }
        for (LocalProcess p : local.values()) {
            if (p.parentNode >= 0 && gone.contains(p.parentNode)) {
                reparent(p.pid, Pids.INIT, -1);
            }
        }
        reportLost(lost, gone);
    }

    /**
     * The children of this node's parents that ran on a node in {@code gone} but whose row names a node that is not
     * gone: pid to that node. Rows are read within one call timeout; a child whose row was not read is taken for
     * lost.
     */
    private Map<Integer, Integer> movedOn(Set<Integer> gone) {
        List<Integer> pids = new ArrayList<>();
        synchronized (lock) {
            for (Child c : started.all()) {
                if (!c.exit().isDone() && gone.contains(c.node)) {
                    pids.add(c.pid);
                }
            }
            for (LocalProcess p : local.values()) {
                for (Child c : p.children.all()) {
                    if (!c.exit().isDone() && gone.contains(c.node)) {
                        pids.add(c.pid);
                    }
                }
            }
        }
        Map<Integer, Integer> movedOn = new java.util.HashMap<>();
        long deadline = System.nanoTime() + rpc.config().defaultCallTimeout().toNanos();
        for (int pid : pids) {
            int n = rowNode(pid, deadline);
            if (namesNodeNotGone(n, gone)) {
                movedOn.put(pid, n);
            }
        }
        return movedOn;
    }

    /**
     * The node that process {@code pid}'s row names (-1: no row), read again until {@code deadline} when it cannot be
     * read; -1 then too (logged).
     */
    private int rowNode(int pid, long deadline) {
        try {
            return table.nodeOf(pid, deadline);
        } catch (RuntimeException e) {
            log.warn("node {}: row of process {} not read in time ({}): it is taken for lost", self, pid, e.toString());
            return -1;
        }
    }

    /** Whether {@code rowNode} (a row's node, -1: no row) is a node in neither {@code gone} nor those that left. */
    private boolean namesNodeNotGone(int rowNode, Set<Integer> gone) {
        return rowNode >= 0 && !gone.contains(rowNode) && !departed.contains(rowNode);
    }

    private void reportLost(List<Child> lost, Set<Integer> gone) {
        long now = System.nanoTime();
        for (Child c : lost) {
            lostLately.put(c.pid, now);
            table.removeLater(c.pid);
            undo(c.pid);                                   // as if it had exited
        }
        if (!lost.isEmpty()) {
            log.info("node {}: {} process(es) lost with node(s) {} reported killed to their parents", self, lost.size(),
                    gone);
        }
    }

    /** {@link #lostWith(Child, Set, Set)}, unless the child moved on to a live node (then its record says so). */
    private static boolean lostWith(Child c, Set<Integer> gone, Set<Integer> failed, Map<Integer, Integer> movedOn) {
        Integer n = movedOn.get(c.pid);
        if (n != null && !c.exit().isDone() && gone.contains(c.node)) {
            c.node = n;
            return false;
        }
        return lostWith(c, gone, failed);
    }

    /** Ends {@code c} as killed when it ran on a node that is gone; true if it did. */
    private static boolean lostWith(Child c, Set<Integer> gone, Set<Integer> failed) {
        if (c.exit().isDone() || !gone.contains(c.node)) {
            return false;
        }
        c.exited(ExitStatus.killed(Signal.KILL, "node " + c.node + (failed.contains(c.node) ? " failed" : " left")),
                null, null);
        return true;
    }
}
