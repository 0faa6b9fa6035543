package org.kerrighed.epm;

import org.kerrighed.rpc.KerrighedException;

/** A task's process did not end normally: it exited with a non-zero code or was killed. */
public class ProcessFailedException extends KerrighedException {
    private final int pid;
    private final ExitStatus status;

    public ProcessFailedException(int pid, ExitStatus status) {
        super("process " + pid + " " + status);
        this.pid = pid;
        this.status = status;
    }

    public int pid() {
        return pid;
    }

    public ExitStatus status() {
        return status;
    }
}
