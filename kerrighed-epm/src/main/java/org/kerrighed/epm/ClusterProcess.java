package org.kerrighed.epm;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A handle on a process this node started: its pid and its end. {@link #onExit} completes when the exit notice
 * reaches the node (from wherever the process ran), or at once with {@code killed by KILL} when the node it ran on
 * fails. Thread-safe.
 *
 * <p>For a child of a process, waiting through this handle reaps the child as {@link ProcessContext#waitFor} does;
 * a process started from outside any process has {@link Pids#INIT} as parent, which reaps it.
 */
public final class ClusterProcess {
    private final Epm epm;
    private final int pid;
    private final int node;
    private final Child child;

    ClusterProcess(Epm epm, int pid, int node, Child child) {
        this.epm = epm;
        this.pid = pid;
        this.node = node;
        this.child = child;
    }

    public int pid() {
        return pid;
    }

    /** The node the process was started on. */
    public int node() {
        return node;
    }

    /** Completes with the exit status; never completes exceptionally. */
    public CompletableFuture<ExitStatus> onExit() {
        return child.exit().thenApply(e -> e.status());
    }

    /** True until the exit notice arrived. */
    public boolean isAlive() {
        return !child.exit().isDone();
    }

    /** Waits for the exit (and reaps a child of a process). */
    public ExitStatus waitFor() throws InterruptedException {
        try {
            ExitStatus s = child.exit().get().status();
            child.reap();
            return s;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Waits at most {@code timeout} for the exit; empty if it did not come. */
    public Optional<ExitStatus> waitFor(Duration timeout) throws InterruptedException {
        try {
            ExitStatus s = child.exit().get(timeout.toNanos(), TimeUnit.NANOSECONDS).status();
            child.reap();
            return Optional.of(s);
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The value the process set with {@link ProcessContext#setResult}, once it exited; empty before or if none. */
    public Optional<Object> result() {
        var e = child.exit().getNow(null);
        return e == null ? Optional.empty() : Optional.ofNullable(e.result());
    }

    /** Sends {@code signal} to the process, with the rights of the current caller (see {@link Epm#kill}). */
    public void signal(Signal signal) {
        epm.kill(pid, signal);
    }

    @Override
    public String toString() {
        return "process " + pid + " on node " + node + (isAlive() ? "" : " (" + child.exit().join().status() + ")");
    }
}
