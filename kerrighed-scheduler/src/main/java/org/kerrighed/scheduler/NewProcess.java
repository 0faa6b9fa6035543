package org.kerrighed.scheduler;

/**
 * A process about to be started, for {@link Policy#place}.
 *
 * @param ppid its parent's pid
 * @param pgid its process group (0: it leads a new one)
 * @param sid  its session (0: it leads a new one)
 */
public record NewProcess(String command, int ppid, int pgid, int sid, int uid) {
}
