package org.kerrighed.epm;

import org.kerrighed.kddm.DefaultOwner;

/**
 * Cluster-wide process ids, encoded as Kerrighed encodes them: {@code pid = node << 22 | 1 << 21 | local}, so
 * the node where a process was born is read from its pid ({@link #birthNode}) and any node finds the process's
 * table entry without a broadcast. Bit 21 marks a global pid; {@link #INIT} (1) is the cluster's reaper, which
 * adopts orphans and processes started by a node rather than by a process. A process keeps its pid wherever it
 * runs.
 */
public final class Pids {
    /** The pid of the cluster's reaper: parent of orphans and of processes started from outside any process. */
    public static final int INIT = 1;
    static final int NODE_SHIFT = 22;
    static final int GLOBAL_BIT = 1 << 21;
    /** The largest local part of a pid. */
    public static final int MAX_LOCAL = GLOBAL_BIT - 1;

    private Pids() {
    }

    /** The pid of the {@code local}-th process born on {@code node}. */
    public static int make(int node, int local) {
        if (node < 0 || node > 255) {
            throw new IllegalArgumentException("node must be 0-255, got " + node);
        }
        if (local < 1 || local > MAX_LOCAL) {
            throw new IllegalArgumentException("local must be 1-" + MAX_LOCAL + ", got " + local);
        }
        return node << NODE_SHIFT | GLOBAL_BIT | local;
    }

    /** True for a pid made by {@link #make}. */
    public static boolean isGlobal(int pid) {
        return pid > 0 && (pid & GLOBAL_BIT) != 0;
    }

    /** The node where {@code pid} was born. */
    public static int birthNode(int pid) {
        checkGlobal(pid);
        return pid >>> NODE_SHIFT;
    }

    /** The local part of {@code pid}. */
    public static int local(int pid) {
        checkGlobal(pid);
        return pid & MAX_LOCAL;
    }

    /** The id of {@code pid}'s object in the process table: its home is the birth node. */
    static long tableId(int pid) {
        return DefaultOwner.idOnNode(birthNode(pid), pid);
    }

    private static void checkGlobal(int pid) {
        if (!isGlobal(pid)) {
            throw new IllegalArgumentException("not a cluster pid: " + pid);
        }
    }

    /** {@code "14681298 (node 3, #1234)"}: the pid with what it encodes. */
    public static String describe(int pid) {
        return isGlobal(pid) ? pid + " (node " + birthNode(pid) + ", #" + local(pid) + ")" : Integer.toString(pid);
    }
}
