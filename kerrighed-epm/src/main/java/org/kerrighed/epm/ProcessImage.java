package org.kerrighed.epm;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.access.Credentials;

import java.util.List;
import java.util.Map;

/**
 * What a ghost holds of a process: its identity (read first, so that handles in its state can be bound to the
 * process being rebuilt) and its state.
 */
final class ProcessImage {
    private ProcessImage() {
    }

    /** Who the process is: kept across moves and restarts. */
    record Identity(int pid, int ppid, int parentNode, int pgid, int sid, String command, List<String> args,
                    Map<String, String> env, Credentials credentials, Capabilities capabilities, long startMillis) {
    }

    /**
     * Where the process is: its program (the state), its result so far, its signals, its CPU and allocation so
     * far, its children, the locks it holds, how many times it moved or restarted, whether it is stopped, and the
     * ids of the group signals it took lately (so that one reaching it again on its new node is not taken twice).
     */
    record State(Program program, Object result, int pending, List<Signal> ignored, Map<Signal, SignalHandler> handlers,
                 long cpuNanos, long allocatedBytes, List<ChildImage> children, List<Ipc.HeldLock> locks,
                 int moves, boolean stopped, List<Long> groupSignals) {
    }

    /**
     * One child: where it runs (as of its {@code moves}-th move, the last one its parent was told of), or how it ended
     * (a zombie not yet waited for).
     */
    record ChildImage(int pid, int node, int moves, ExitStatus status, Object result, ProcessInfo last) {
    }
}
