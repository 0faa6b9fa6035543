package org.kerrighed.scheduler.sim;

/**
 * A process for a {@link Simulator} to run: the CPU it needs and what the scheduler may do with it. It is always
 * runnable (it never sleeps or waits) except while it migrates.
 *
 * @param command     its command, as placement and process sets see it
 * @param cpuSeconds  the CPU time it needs before it exits; {@link Double#POSITIVE_INFINITY} runs until the end
 * @param mayMigrate  it has {@code CAN_MIGRATE}: without it, a move of it fails
 * @param distantFork it has {@code DISTANT_FORK}: without it, {@link Simulator#spawn} starts it on the spawning node
 *                    without asking the schedulers
 * @param pgid        its process group (0: it leads a new one, whose id is its pid)
 * @param sid         its session (0: it leads a new one, whose id is its pid)
 * @param uid         its owner
 * @param heapBytes   heap it holds, added to its node's {@link org.kerrighed.scheduler.NodeSample#heapUsed()}
 */
public record SimProcess(String command, double cpuSeconds, boolean mayMigrate, boolean distantFork, int pgid,
                         int sid, int uid, long heapBytes) {
    public SimProcess {
        if (command == null || command.isEmpty()) {
            throw new IllegalArgumentException("a simulated process needs a command");
        }
        if (!(cpuSeconds > 0)) {
            throw new IllegalArgumentException("cpuSeconds must be positive (or infinite), not " + cpuSeconds);
        }
        if (pgid < 0 || sid < 0 || heapBytes < 0) {
            throw new IllegalArgumentException("pgid, sid and heapBytes cannot be negative");
        }
    }

    /** A process that runs until the end, may migrate and may start on another node. */
    public static SimProcess endless(String command) {
        return cpuBound(command, Double.POSITIVE_INFINITY);
    }

    /** A process that exits after {@code cpuSeconds} of CPU, may migrate and may start on another node. */
    public static SimProcess cpuBound(String command, double cpuSeconds) {
        return new SimProcess(command, cpuSeconds, true, true, 0, 0, 0, 0);
    }

    public SimProcess withMayMigrate(boolean may) {
        return new SimProcess(command, cpuSeconds, may, distantFork, pgid, sid, uid, heapBytes);
    }

    public SimProcess withDistantFork(boolean may) {
        return new SimProcess(command, cpuSeconds, mayMigrate, may, pgid, sid, uid, heapBytes);
    }

    public SimProcess withGroup(int group, int session) {
        return new SimProcess(command, cpuSeconds, mayMigrate, distantFork, group, session, uid, heapBytes);
    }

    public SimProcess withUid(int owner) {
        return new SimProcess(command, cpuSeconds, mayMigrate, distantFork, pgid, sid, owner, heapBytes);
    }

    public SimProcess withHeapBytes(long bytes) {
        return new SimProcess(command, cpuSeconds, mayMigrate, distantFork, pgid, sid, uid, bytes);
    }
}
