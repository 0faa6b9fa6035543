package org.kerrighed.scheduler.sim;

import org.kerrighed.scheduler.ProcessSample;

import java.util.concurrent.CompletableFuture;

/** A simulated process's state. Used by the simulator's thread only. */
final class Proc {
    final int pid;
    final SimProcess spec;
    final int pgid;
    final int sid;
    /** The node it runs on, or the node it leaves while it migrates. */
    VirtualNode node;
    /** The node it migrates to, or null when it does not migrate. */
    VirtualNode target;
    /** When its migration lands, on the simulator's clock. */
    long arrival;
    /** Completes when its migration lands. */
    CompletableFuture<Void> moved;
    /** CPU seconds it still needs (infinite for an endless process). */
    double remaining;
    /** CPU seconds it used, on every node. */
    double cpu;

    Proc(int pid, SimProcess spec, VirtualNode node) {
        this.pid = pid;
        this.spec = spec;
        this.pgid = spec.pgid() == 0 ? pid : spec.pgid();
        this.sid = spec.sid() == 0 ? pid : spec.sid();
        this.node = node;
        this.remaining = spec.cpuSeconds();
    }

    boolean runnable() {
        return target == null;
    }

    ProcessSample sample() {
        return new ProcessSample(pid, 0, pgid, sid, spec.uid(), runnable(), spec.mayMigrate(), (long) (cpu * 1e9),
                spec.command());
    }
}
