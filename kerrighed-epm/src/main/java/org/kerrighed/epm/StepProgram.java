package org.kerrighed.epm;

/**
 * A program cut into steps: the runtime calls {@link #step} until it returns true. Between two steps the process
 * may move to another node ({@link Epm#migrate}) or be checkpointed ({@link Epm#checkpoint}): its whole state is
 * the program object (its fields, serialized with Kryo), and the next step runs wherever the process is then.
 * Signals are delivered between steps too, and inside a step where it calls the runtime.
 *
 * <p><b>What travels.</b> Every field, by value: numbers, strings, arrays, collections, records, and objects of
 * registered or application classes. Handles are re-bound on the new node: a {@link ProcessContext}, the node's
 * {@link Epm}, {@link org.kerrighed.ipc.Ipc} and {@link org.kerrighed.mm.SharedMemory}, a
 * {@link org.kerrighed.ipc.ClusterLock} (held locks stay held), cluster atomics (the same objects there), an
 * attached {@link org.kerrighed.mm.Segment} (attached again), pipe ends (opened again, with a direct path), and {@link ClusterProcess} handles on children.
 * A field that cannot travel (a thread, a socket, a local file channel) makes the move fail cleanly: the process
 * goes on where it was.
 *
 * <p><b>Keep steps short</b>: a move waits for the current step to end (the time to the safe point is in the
 * {@link MigrationReport}). A step does not move in the middle, even where it calls the runtime.
 *
 * <pre>{@code
 * final class Count implements StepProgram {
 *     long i, sum;                       // the whole state
 *     public boolean step(ProcessContext ctx) {
 *         for (long end = Math.min(i + 1_000_000, 100_000_000); i < end; i++) sum += i;
 *         if (i < 100_000_000) return false;
 *         ctx.setResult(sum);
 *         return true;
 *     }
 * }
 * }</pre>
 */
public interface StepProgram extends Program {
    /**
     * Runs one step.
     *
     * @return true when the program is done (the process then exits with {@link #exitCode()})
     * @throws Exception ends the process with exit code 1, as {@link Program#run} does
     */
    boolean step(ProcessContext ctx) throws Exception;

    /** The exit code once {@link #step} returned true; 0 unless overridden. */
    default int exitCode() {
        return 0;
    }

    /** Runs the steps to the end; the runtime does this itself, with moves between steps. */
    @Override
    default int run(ProcessContext ctx) throws Exception {
        while (!step(ctx)) {
            ctx.safepoint();
        }
        return exitCode();
    }
}
