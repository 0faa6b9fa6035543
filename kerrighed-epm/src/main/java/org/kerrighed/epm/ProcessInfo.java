package org.kerrighed.epm;

/**
 * One process as {@code ps} shows it, read on the node it runs on (a zombie: on its parent's node).
 *
 * @param cpuNanos       CPU time of the process's thread
 * @param allocatedBytes bytes the process's thread allocated since it started (the JVM cannot tell how much of
 *                       the shared heap a thread holds, so this is the process's memory figure)
 * @param killPending    KILL was sent and the process has not reached a safe point or an interruptible call since
 * @param exit           how it ended, for a zombie; null otherwise
 */
public record ProcessInfo(int pid, int ppid, int pgid, int sid, int node, int uid, int gid, ProcessState state,
                          long cpuNanos, long allocatedBytes, long startMillis, String command,
                          Capabilities capabilities, boolean killPending, ExitStatus exit) {
}
