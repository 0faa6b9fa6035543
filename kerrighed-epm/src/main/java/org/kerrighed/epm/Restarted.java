package org.kerrighed.epm;

import java.util.Map;

/**
 * An application restarted from a checkpoint.
 *
 * @param root   a handle on its root process, a child of the caller (of {@link Pids#INIT} from outside a process)
 * @param pids   each saved process's pid now (the same unless new pids were taken)
 * @param nodes  the node each runs on now, by its pid now
 */
public record Restarted(ClusterProcess root, Map<Integer, Integer> pids, Map<Integer, Integer> nodes) {
    public Restarted {
        pids = Map.copyOf(pids);
        nodes = Map.copyOf(nodes);
    }
}
