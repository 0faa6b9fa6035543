package org.kerrighed.scheduler;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * The nodes a scheduler places on and moves between (Kerrighed's {@code node_set}): every live node ({@link #ALL},
 * including nodes that join later), or chosen ones. A node that is not in the set does not run the scheduler's
 * balancing; its processes of the scheduler's set are moved into the set instead.
 */
public record NodeSet(Set<Integer> nodes) {
    public static final NodeSet ALL = new NodeSet(Set.of());

    public NodeSet {
        nodes = Set.copyOf(nodes);
        for (int n : nodes) {
            if (n < 0 || n > 255) {
                throw new IllegalArgumentException("node ids are 0-255, not " + n);
            }
        }
    }

    public boolean all() {
        return nodes.isEmpty();
    }

    public boolean contains(int node) {
        return nodes.isEmpty() || nodes.contains(node);
    }

    /** The nodes of {@code live} (sorted) that are in the set, sorted. */
    public int[] of(int[] live) {
        return nodes.isEmpty() ? live : Arrays.stream(live).filter(nodes::contains).toArray();
    }

    /**
     * Parses {@code all} or a list like {@code 0,1,4}.
     *
     * @throws IllegalArgumentException on anything else
     */
    public static NodeSet parse(String s) {
        return s.equals("all") ? ALL : new NodeSet(ints(s, "node set '" + s + "'"));
    }

    static Set<Integer> ints(String list, String what) {
        Set<Integer> out = new HashSet<>();
        for (String part : list.split(",")) {
            try {
                out.add(Integer.parseInt(part.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad " + what + ": '" + part + "' is not a number");
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return nodes.isEmpty() ? "all" : String.join(",", new TreeSet<>(nodes).stream().map(String::valueOf).toList());
    }
}
