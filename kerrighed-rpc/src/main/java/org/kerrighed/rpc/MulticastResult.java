package org.kerrighed.rpc;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Per-node outcome of a multicast: the replies of the nodes that answered and the failure of each that did
 * not (link closed, deadline, remote error). Every addressed node appears in exactly one of the two maps.
 */
public record MulticastResult<R>(Map<Integer, R> replies, Map<Integer, Throwable> failures) {
    public MulticastResult {
        replies = Collections.unmodifiableMap(new TreeMap<>(replies)); // values may be null (Void replies)
        failures = Collections.unmodifiableMap(new TreeMap<>(failures));
    }

    public boolean allSucceeded() {
        return failures.isEmpty();
    }

    /** The addressed nodes, sorted. */
    public Set<Integer> nodes() {
        TreeSet<Integer> all = new TreeSet<>(replies.keySet());
        all.addAll(failures.keySet());
        return all;
    }
}
