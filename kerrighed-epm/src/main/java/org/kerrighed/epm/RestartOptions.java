package org.kerrighed.epm;

import java.util.List;

/**
 * How to restart an application from a checkpoint.
 *
 * @param nodes   the nodes to run it on: a process goes back to its old node when that node is in this list, else
 *                to one of the list (round robin); empty for every live node
 * @param newPids take new pids for processes whose old pid is in use (else the restart is refused); a program's
 *                fields that hold pids keep the old values, handles ({@link ClusterProcess}) follow
 */
public record RestartOptions(List<Integer> nodes, boolean newPids) {
    public RestartOptions {
        nodes = List.copyOf(nodes);
    }

    /** Any live node; the old pids, refused if one is in use. */
    public static RestartOptions defaults() {
        return new RestartOptions(List.of(), false);
    }

    public RestartOptions onNodes(List<Integer> n) {
        return new RestartOptions(n, newPids);
    }

    public RestartOptions takingNewPids() {
        return new RestartOptions(nodes, true);
    }
}
