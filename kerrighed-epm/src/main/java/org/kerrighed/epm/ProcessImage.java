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
     * far, its children, the locks it holds, how many times it moved or restarted, and whether it is stopped.
     */
    record State(Program program, Object result, int pending, List<Signal> ignored, Map<Signal, SignalHandler> handlers,
                 long cpuNanos, long allocatedBytes, List<ChildImage> children, List<Ipc.HeldLock> locks,
                 int moves, boolean stopped) {
    }

    /** One child: where it runs, or how it ended (a zombie not yet waited for). */
    record ChildImage(int pid, int node, ExitStatus status, Object result, ProcessInfo last) {
    }
}
