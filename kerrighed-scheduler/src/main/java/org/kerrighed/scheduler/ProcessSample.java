package org.kerrighed.scheduler;

/**
 * One process as probes and policies see it.
 *
 * @param runnable   running or ready to run (not sleeping, stopped or moving)
 * @param mayMigrate its effective capabilities hold {@code CAN_MIGRATE}
 * @param cpuNanos   CPU time it used so far, on every node it ran on
 */
public record ProcessSample(int pid, int ppid, int pgid, int sid, int uid, boolean runnable, boolean mayMigrate,
                            long cpuNanos, String command) {
}
