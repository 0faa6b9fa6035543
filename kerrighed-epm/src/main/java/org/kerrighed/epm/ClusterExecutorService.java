package org.kerrighed.epm;

import org.kerrighed.rpc.Checks;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An {@link java.util.concurrent.ExecutorService} whose tasks run as cluster processes, each on the node the
 * placement hook picks (or the node the options name). A task starts as soon as it is submitted: there is no
 * queue and no bound, the cluster's scheduler balances the load. Tasks travel as copies, so they must be of
 * registered types or classes of an application JAR ({@link Applications}), and so must their results (or be JDK
 * value types).
 *
 * <p>A task whose process does not end normally (the task threw, a signal killed it, its node failed) completes
 * its future with an {@link ExecutionException} whose cause is a {@link ProcessFailedException}. Cancelling
 * with interruption sends KILL to the task's process. {@link #shutdownNow} sends KILL to every running task and
 * returns an empty list (nothing ever waits in a queue). Thread-safe.
 */
public final class ClusterExecutorService extends AbstractExecutorService {
    private final Epm epm;
    private final SpawnOptions options;
    private final Set<ClusterProcess> running = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private volatile boolean shutdown;

    /** An executor whose tasks are placed by the placement hook, with default options. */
    public ClusterExecutorService(Epm epm) {
        this(epm, SpawnOptions.defaults());
    }

    public ClusterExecutorService(Epm epm, SpawnOptions options) {
        this.epm = Checks.notNull(epm, "epm");
        this.options = Checks.notNull(options, "options");
    }

    @Override
    public void execute(Runnable command) {
        Checks.notNull(command, "command");
        if (command instanceof TaskFuture<?> f) {
            f.start();
        } else {
            start(new TaskPrograms.RunnableProgram(command), command);
        }
    }

    private ClusterProcess start(Program program, Object task) {
        if (shutdown) {
            throw new RejectedExecutionException("the cluster executor is shut down");
        }
        ClusterProcess p;
        try {
            p = epm.spawn(program, options.name() != null ? options : options.name("task " + task.getClass().getSimpleName()));
        } catch (RuntimeException e) {
            throw new RejectedExecutionException("task " + task + " could not start: " + e.getMessage(), e);
        }
        running.add(p);
        p.onExit().whenComplete((s, t) -> {
            running.remove(p);
            checkTerminated();
        });
        return p;
    }

    @Override
    protected <T> RunnableFuture<T> newTaskFor(Callable<T> callable) {
        return new TaskFuture<>(new TaskPrograms.CallableProgram(callable), callable, false, null);
    }

    @Override
    protected <T> RunnableFuture<T> newTaskFor(Runnable runnable, T value) {
        return new TaskFuture<>(new TaskPrograms.RunnableProgram(runnable), runnable, true, value);
    }

    /**
     * Starts every task, returns the first successful result and kills the others (a completion service would
     * run each task inside a wrapper that cannot travel).
     */
    @Override
    public <T> T invokeAny(java.util.Collection<? extends Callable<T>> tasks)
            throws InterruptedException, ExecutionException {
        try {
            return invokeAny(tasks, Long.MAX_VALUE, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public <T> T invokeAny(java.util.Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException, ExecutionException, TimeoutException {
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("no tasks");
        }
        CompletableFuture<T> first = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        List<RunnableFuture<T>> started = new ArrayList<>();
        try {
            for (Callable<T> t : tasks) {
                TaskFuture<T> f = (TaskFuture<T>) newTaskFor(t);
                f.whenComplete((v, ex) -> {
                    if (ex == null) {
                        first.complete(v);
                    } else if (failed.incrementAndGet() == tasks.size()) {
                        first.completeExceptionally(ex);
                    }
                });
                started.add(f);
                execute(f);
            }
            return first.get(timeout, unit);
        } finally {
            for (RunnableFuture<T> f : started) {
                f.cancel(true);
            }
        }
    }

    @Override
    public void shutdown() {
        shutdown = true;
        checkTerminated();
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        for (ClusterProcess p : running) {
            try {
                p.signal(Signal.KILL);
            } catch (NoSuchProcessException ended) {
                // it ended meanwhile
            }
        }
        checkTerminated();
        return new ArrayList<>();
    }

    private void checkTerminated() {
        if (shutdown && running.isEmpty()) {
            terminated.complete(null);
        }
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return terminated.isDone();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        try {
            terminated.get(timeout, unit);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A submitted task: its future completes from its process's exit. */
    private final class TaskFuture<T> extends CompletableFuture<T> implements RunnableFuture<T> {
        private final Program program;
        private final Object task;
        private final boolean fixedValue;
        private final T value;
        private volatile ClusterProcess process;

        TaskFuture(Program program, Object task, boolean fixedValue, T value) {
            this.program = program;
            this.task = task;
            this.fixedValue = fixedValue;
            this.value = value;
        }

        void start() {
            ClusterProcess p = ClusterExecutorService.this.start(program, task);
            process = p;
            p.onExit().whenComplete((s, t) -> finish(p, s));
        }

        @SuppressWarnings("unchecked")
        private void finish(ClusterProcess p, ExitStatus s) {
            if (s.exitedNormally() && s.code() == 0) {
                complete(fixedValue ? value : (T) p.result().orElse(null));
            } else {
                completeExceptionally(new ProcessFailedException(p.pid(), s));
            }
        }

        @Override
        public void run() {
            start();
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = completeExceptionally(new CancellationException("task cancelled"));
            ClusterProcess p = process;
            if (cancelled && mayInterruptIfRunning && p != null && p.isAlive()) {
                try {
                    p.signal(Signal.KILL);
                } catch (NoSuchProcessException ended) {
                    // it ended meanwhile
                }
            }
            return cancelled;
        }
    }
}
