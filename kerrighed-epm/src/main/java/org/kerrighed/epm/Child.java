package org.kerrighed.epm;

import java.util.concurrent.CompletableFuture;

/**
 * A parent's record of one child: where it runs, and its end once the exit notice came. Until its parent reaps it,
 * an exited child is a zombie, listed by {@code ps} on the parent's node.
 */
final class Child {
    private volatile Children owner;               // the parent's; INIT's (the node's) once adopted
    final int pid;
    volatile int node;
    volatile int moves;              // the moves of the last notice that set node (set under the reaper's lock)
    volatile ProcessInfo last;       // the child's last figures, sent with its exit notice (for ps)
    private final CompletableFuture<ProcessContext.ChildExit> exit = new CompletableFuture<>();

    Child(Children owner, int pid, int node) {
        this.owner = owner;
        this.pid = pid;
        this.node = node;
    }

    CompletableFuture<ProcessContext.ChildExit> exit() {
        return exit;
    }

    /** Waits for the child's end. */
    void await() throws InterruptedException {
        try {
            exit.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a child's end is never exceptional", e);
        }
    }

    /** Records the child's end (first call wins) and wakes its parent's waiters. */
    void exited(ExitStatus status, Object result, ProcessInfo info) {
        last = info;
        if (exit.complete(new ProcessContext.ChildExit(pid, status, result))) {
            owner.signalChange();
        }
    }

    /** Moves the child to {@code adopter} (its parent ended: init on the parent's node adopts it). */
    void adoptedBy(Children adopter) {
        owner.remove(pid);
        owner = adopter;
        adopter.put(this);
    }

    /** Forgets the child (its parent waited for it). */
    void reap() {
        owner.remove(pid);
    }
}
