package org.kerrighed.epm;

import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.ViewListener;
import org.kerrighed.rpc.KerrighedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An application checkpointed every period by the node that asked ({@link Epm#checkpointEvery}), and restarted
 * from its last checkpoint on the surviving nodes when a node it ran on fails (if asked): what is left of it is
 * killed first (the processes of the checkpoint, their descendants now, and the members of the root's process
 * group, so children started since the checkpoint do not run on beside the restarted ones), then it is restarted
 * with the same pids; a restart that fails is tried again, up to {@value #RESTART_ATTEMPTS} times in all, then
 * {@link #onEnd()} fails. Failures that come while a restart runs are checked once it is done: one that hit a node
 * the restarted application runs on restarts it again, one that did not is ignored. Checkpointing stops when the
 * application ends, or on {@link #close()}. Thread-safe.
 *
 * <p>The checkpoints live on this node's file system: if this node fails, nothing restarts the application.
 */
public final class PeriodicCheckpoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeriodicCheckpoint.class);
    static final int RESTART_ATTEMPTS = 3;
    /** Tests only: called on the ticker with each periodic checkpoint, before it is kept or dropped. */
    static volatile java.util.function.Consumer<CheckpointReport> afterCheckpointForTests;

    private final Epm epm;
    private final Kddm kddm;
    private final int app;
    private final Duration period;
    private final CheckpointOptions options;
    private final boolean restartOnFailure;
    private final ViewListener listener = (epoch, members, failed) -> viewChanged(members, failed);
    private final AtomicInteger restarts = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final CompletableFuture<ExitStatus> end = new CompletableFuture<>();
    private final Thread ticker;
    private final Object lock = new Object();
    private volatile CheckpointReport last;                     // written under lock
    private volatile Set<Integer> runsOn = Set.of();           // nodes of the last checkpoint or restart; under lock
    private volatile ClusterProcess current;                   // the root of the last restart
    private volatile boolean closed;
    private final AtomicInteger restartsDue = new AtomicInteger();   // failures noticed, not yet handled
    private final Set<Integer> left = java.util.concurrent.ConcurrentHashMap.newKeySet();   // left, not failed
    private Set<Integer> members;                              // the view listener's thread only

    PeriodicCheckpoint(Epm epm, Kddm kddm, int app, ClusterProcess root, Duration period, CheckpointOptions options,
                       boolean restartOnFailure) {
        this.epm = epm;
        this.kddm = kddm;
        this.app = app;
        this.period = period;
        this.options = options.kill() ? new CheckpointOptions(options.directory(), false, options.refuseShared(),
                options.description()) : options;
        this.restartOnFailure = restartOnFailure;
        this.current = root;
        this.members = memberSet();
        kddm.addViewListener(listener);
        this.ticker = Thread.ofVirtual().name("krg-ckpt-" + app).start(this::tick);
        watch(root);
    }

    /** The application (its root's pid). */
    public int app() {
        return app;
    }

    /** The last checkpoint written, if any. */
    public Optional<CheckpointReport> last() {
        return Optional.ofNullable(last);
    }

    /** How many times the application was restarted after a node failure. */
    public int restarts() {
        return restarts.get();
    }

    /** How many periodic checkpoints failed (logged). */
    public int failures() {
        return failures.get();
    }

    /** A handle on the application's root: the one given, or the one of its last restart; null if unknown. */
    public ClusterProcess root() {
        return current;
    }

    /**
     * Completes with the root's exit status when the application ends for good (not when it is killed by a node
     * failure and restarted), or exceptionally when it could not be restarted after a node failure.
     */
    public CompletableFuture<ExitStatus> onEnd() {
        return end;
    }

    private void watch(ClusterProcess root) {
        if (root != null) {
            root.onExit().thenAccept(s -> endedFor(root));
        }
    }

    /**
     * The application ended for good if {@code root}, its current root, ended while no restart is due: called when
     * the root ends, and when a restart is done (the root may have ended while it was due).
     */
    private void endedFor(ClusterProcess root) {
        if (root == null || root != current || restartsDue.get() > 0 || lostANode() || !root.onExit().isDone()) {
            return;
        }
        if (end.complete(root.onExit().join())) {
            close();
        }
    }

    /**
     * True when a node the application ran on (at its last checkpoint or restart) is no longer a member: a restart
     * follows, so an end of the root now (it died with its node, or ended on a child's reported death) is not
     * final. The view is installed before anyone is told of it, so this holds before the reports of the lost
     * processes arrive.
     */
    private boolean lostANode() {
        return restartOnFailure && last != null && !lost(runsOn).isEmpty();
    }

    /** The nodes of {@code nodes} that failed: no longer members, and not gone by leaving. */
    private Set<Integer> lost(java.util.Collection<Integer> nodes) {
        Set<Integer> out = new HashSet<>();
        for (int n : nodes) {
            if (!kddm.isMember(n) && !left.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    private Set<Integer> memberSet() {
        Set<Integer> m = new HashSet<>();
        for (int n : kddm.members()) {
            m.add(n);
        }
        return m;
    }

    private void tick() {
        while (!closed) {
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (lock) {
                if (closed) {
                    return;
                }
                if (restartsDue.get() > 0 || lostANode()) {
                    continue;                                   // a restart from the last checkpoint is due
                }
                try {
                    CheckpointReport r = epm.checkpoint(app, options);
                    java.util.function.Consumer<CheckpointReport> hook = afterCheckpointForTests;
                    if (hook != null) {
                        hook.accept(r);
                    }
                    Set<Integer> gone = new HashSet<>(runsOn);
                    gone.addAll(r.nodes());
                    gone = lost(gone);
                    if (restartOnFailure && !gone.isEmpty()) {  // it may lack the processes of a node that failed
                        drop(r, gone);
                        continue;
                    }
                    last = r;
                    runsOn = Set.copyOf(r.nodes());
                } catch (NoSuchProcessException gone) {
                    if (!restartOnFailure) {
                        close();
                    }
                } catch (RuntimeException | java.io.IOException e) {
                    failures.incrementAndGet();
                    log.warn("node {}: periodic checkpoint of application {} failed: {}", epm.nodeId(), app,
                            e.getMessage());
                }
            }
        }
    }

    /**
     * A checkpoint taken while a node the application ran on failed: a restart from the last one is queued (the
     * application counts as running on the checkpoint's nodes too), and the checkpoint deleted (renamed out of the
     * versions first, so that a deletion cut short leaves no version behind). Under the lock.
     */
    private void drop(CheckpointReport r, Set<Integer> gone) throws java.io.IOException {
        log.warn("node {}: checkpoint {} of application {} is dropped: node(s) {} it ran on failed while it was taken",
                epm.nodeId(), r.directory(), app, gone);
        Set<Integer> on = new HashSet<>(runsOn);
        on.addAll(r.nodes());
        runsOn = Set.copyOf(on);
        queueRestart(gone);
        java.nio.file.Path dropped = r.directory().resolveSibling("." + r.directory().getFileName() + ".dropped");
        java.nio.file.Files.move(r.directory(), dropped, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Checkpoints.deleteTree(dropped);
    }

    /**
     * Each view: the nodes that left (not failed) are remembered, and every failure queues a restart, which decides
     * under the lock, against the nodes the application runs on then (a checkpoint or restart under way may be about
     * to place it on a failed node), whether it is needed.
     */
    private void viewChanged(Set<Integer> now, Set<Integer> failed) {
        for (int n : members) {
            if (!now.contains(n) && !failed.contains(n)) {
                left.add(n);
            }
        }
        left.removeAll(now);                          // came back: a later departure counts afresh
        members = Set.copyOf(now);
        if (!failed.isEmpty()) {
            queueRestart(failed);
        }
        endedFor(current);                            // a departure by leaving is not a lost node
    }

    private void queueRestart(Set<Integer> failed) {
        if (closed || !restartOnFailure) {
            return;
        }
        restartsDue.incrementAndGet();
        Thread.ofVirtual().name("krg-ckpt-restart-" + app).start(() -> restart(Set.copyOf(failed)));
    }

    /** Restarts the application if it runs (at its last checkpoint or restart) on a node that failed. */
    private void restart(Set<Integer> failed) {
        try {
            synchronized (lock) {
                restartLocked(failed);
            }
        } finally {
            endedFor(current);                        // the root may have ended while the restart was due
        }
    }

    private void restartLocked(Set<Integer> failed) {
        try {
            if (closed || runsOn.stream().noneMatch(failed::contains) && !lostANode()) {
                log.debug("node {}: application {} does not run on failed node(s) {}: not restarted", epm.nodeId(),
                        app, failed);
                return;
            }
            CheckpointReport r = last;
            if (r == null) {
                end.completeExceptionally(new KerrighedException("application " + app + " lost its processes on"
                        + " node(s) " + failed + " before its first checkpoint was complete: it cannot be restarted"));
                close();
                return;
            }
            for (int attempt = 1; !closed; attempt++) {
                try {
                    restartOnce(r, failed);
                    return;
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                    if (attempt >= RESTART_ATTEMPTS) {
                        log.error("node {}: application {} could not be restarted from {} ({} attempts): {}",
                                epm.nodeId(), app, r.directory(), attempt, e.getMessage(), e);
                        end.completeExceptionally(new KerrighedException("application " + app + " could not be"
                                + " restarted from " + r.directory() + " after the failure of node(s) " + failed
                                + ": " + e.getMessage(), e));
                        close();
                        return;
                    }
                    log.warn("node {}: restart {} of application {} from {} failed ({}): trying again",
                            epm.nodeId(), attempt, app, r.directory(), e.getMessage());
                    Thread.sleep(200L * attempt);
                }
            }
            end.completeExceptionally(new KerrighedException("application " + app + " was not restarted after the"
                    + " failure of node(s) " + failed + ": its periodic checkpoint was closed during the restart"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            restartsDue.decrementAndGet();
        }
    }

    /** Kills what is left of the application, waits for it to end, and restarts it from {@code r}. */
    private void restartOnce(CheckpointReport r, Set<Integer> failed) throws InterruptedException {
        Set<Integer> alive = new HashSet<>();
        for (int pid : leftOf(r)) {
            try {
                epm.kill(pid, Signal.KILL);
                alive.add(pid);
            } catch (KerrighedException gone) {
                // died with its node, or ended
            }
        }
        long deadline = System.nanoTime() + epm.callTimeout().toNanos();
        for (int pid : alive) {
            while (epm.status(pid).filter(i -> i.state() != ProcessState.ZOMBIE).isPresent()) {
                if (System.nanoTime() > deadline) {
                    throw new KerrighedException("process " + pid + " did not end after KILL");
                }
                Thread.sleep(10);
            }
        }
        Restarted again = epm.restart(r.directory(), RestartOptions.defaults());
        runsOn = Set.copyOf(again.nodes().values());
        current = again.root();
        restarts.incrementAndGet();
        watch(again.root());
        log.info("node {}: application {} restarted from {} after the failure of node(s) {}", epm.nodeId(), app,
                r.directory(), failed);
    }

    /**
     * The live processes of the application, from one {@code ps}: those of checkpoint {@code r}, their descendants
     * (children started since the checkpoint), and the members of the process group its root leads (their orphans,
     * whose parent died with its node).
     */
    private Set<Integer> leftOf(CheckpointReport r) {
        List<ProcessInfo> ps = epm.ps(true);                 // a node not heard from may run some: try again later
        Set<Integer> roots = new HashSet<>(r.pids());
        for (ProcessInfo p : ps) {
            if (p.pgid() == app) {
                roots.add(p.pid());
            }
        }
        Set<Integer> out = new HashSet<>();
        for (ProcessInfo p : Checkpoints.subtrees(ps, roots)) {
            out.add(p.pid());
        }
        return out;
    }

    /** Stops checkpointing (and restarting); the application goes on. Idempotent. */
    @Override
    public void close() {
        closed = true;
        kddm.removeViewListener(listener);
        epm.periodicClosed(this);
        if (ticker != null && Thread.currentThread() != ticker) {
            ticker.interrupt();
        }
    }

    @Override
    public String toString() {
        return "PeriodicCheckpoint[app " + app + ", every " + period + ", " + restarts.get() + " restart(s)"
                + (closed ? ", closed" : "") + "]";
    }
}
