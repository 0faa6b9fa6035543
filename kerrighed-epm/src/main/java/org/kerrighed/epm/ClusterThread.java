package org.kerrighed.epm;

import org.kerrighed.rpc.Checks;

import java.time.Duration;
import java.util.Optional;

/**
 * A thread of the cluster: a {@link Runnable} run as a process on the node the placement hook picks (or the node
 * {@link SpawnOptions} names), with {@link Thread}'s shape: start, join, interrupt. Threads share state through
 * cluster shared memory and IPC, not through the Java heap: the task travels to its node as a copy, so it must be
 * of a registered type or a class of an application JAR ({@link Applications}). Inside the task,
 * {@link #context()} gives the process's context.
 *
 * <p>Not thread-safe for {@link #start}; the other methods are.
 */
public final class ClusterThread {
    private final Epm epm;
    private final Runnable task;
    private final SpawnOptions options;
    private volatile ClusterProcess process;

    /** A thread that runs {@code task} where the placement hook decides. */
    public ClusterThread(Epm epm, Runnable task) {
        this(epm, task, SpawnOptions.defaults());
    }

    public ClusterThread(Epm epm, Runnable task, SpawnOptions options) {
        this.epm = Checks.notNull(epm, "epm");
        this.task = Checks.notNull(task, "task");
        this.options = Checks.notNull(options, "options");
    }

    /**
     * Starts the thread's process (a child of the calling process, if any).
     *
     * @throws IllegalStateException when already started
     */
    public ClusterThread start() {
        if (process != null) {
            throw new IllegalStateException("cluster thread already started (process " + process.pid() + ")");
        }
        process = epm.spawn(new TaskPrograms.RunnableProgram(task), options.name() != null ? options
                : options.name("thread " + task.getClass().getSimpleName()));
        return this;
    }

    /** The process's context, inside a task run by a cluster thread or executor (empty elsewhere). */
    public static Optional<ProcessContext> context() {
        return Optional.ofNullable(Epm.CURRENT.get());
    }

    /** The process id (0 before start). */
    public int pid() {
        ClusterProcess p = process;
        return p == null ? 0 : p.pid();
    }

    /** The node it was started on (-1 before start). */
    public int node() {
        ClusterProcess p = process;
        return p == null ? -1 : p.node();
    }

    public boolean isAlive() {
        ClusterProcess p = process;
        return p != null && p.isAlive();
    }

    /** Waits until the thread ended (or its node failed). */
    public void join() throws InterruptedException {
        started().waitFor();
    }

    /** Waits at most {@code timeout}; true if it ended. */
    public boolean join(Duration timeout) throws InterruptedException {
        return started().waitFor(timeout).isPresent();
    }

    /**
     * Interrupts the thread's process: its thread's interrupt flag is set, and it is woken from interruptible
     * waits (its context's blocking calls throw {@link InterruptedException}).
     *
     * @throws NoSuchProcessException when it ended already
     */
    public void interrupt() {
        epm.interrupt(started().pid());
    }

    /** How it ended, once it did (exit code 1 when the task threw). */
    public Optional<ExitStatus> exitStatus() {
        ClusterProcess p = process;
        return p == null || p.isAlive() ? Optional.empty() : Optional.of(p.onExit().join());
    }

    private ClusterProcess started() {
        ClusterProcess p = process;
        if (p == null) {
            throw new IllegalStateException("cluster thread not started");
        }
        return p;
    }

    @Override
    public String toString() {
        ClusterProcess p = process;
        return "ClusterThread[" + (p == null ? "not started" : p) + "]";
    }
}
