package org.kerrighed.epm;

/**
 * The code of a cluster process. The runtime calls {@link #run} once, on the process's own platform thread, on
 * the node the process was placed on; its return value is the exit code.
 *
 * <p>A program started on another node travels there as an object: its class must be registered in the
 * cluster's type registry (an application that embeds the library registers its types on every node), or come
 * from an application JAR that {@code krg run} shipped. Its fields are its arguments.
 *
 * <p><b>Safe points.</b> Signals are delivered where the program calls the runtime: {@link ProcessContext}'s
 * methods, and {@link ProcessContext#safepoint()} in a loop that calls nothing else. KILL and STOP also
 * interrupt the thread, so a program blocked in an interruptible call ends at once; a program that neither
 * reaches a safe point nor makes interruptible calls cannot be stopped (the JVM cannot stop a thread by force),
 * and {@code ps} shows it as kill pending.
 */
@FunctionalInterface
public interface Program {
    /**
     * Runs the process.
     *
     * @return the exit code (0 for success)
     * @throws Exception ends the process with exit code 1; the exception is logged with the pid
     */
    int run(ProcessContext ctx) throws Exception;
}
