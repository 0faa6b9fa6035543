package org.kerrighed.rpc.testing;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A rule table of injected transport faults, shared by the nodes of an {@link InProcessCluster}: drop or
 * delay the frames of chosen links. Thread-safe; rules apply to frames sent after they are set.
 */
public final class LinkFaults implements FaultInjector {
    private final Map<Long, FaultAction> rules = new ConcurrentHashMap<>();
    private volatile FaultAction all = null; // applies to every link when set

    private static long key(int from, int to) {
        return ((long) from << 32) | (to & 0xffffffffL);
    }

    /** Drops every frame {@code from} sends to {@code to}. */
    public LinkFaults drop(int from, int to) {
        rules.put(key(from, to), FaultAction.DROP);
        return this;
    }

    /** Delays every frame {@code from} sends to {@code to} by {@code by} (order on the link is kept). */
    public LinkFaults delay(int from, int to, Duration by) {
        rules.put(key(from, to), FaultAction.delay(by));
        return this;
    }

    /** Cuts both directions between {@code a} and {@code b} (frames dropped, sockets left open). */
    public LinkFaults partition(int a, int b) {
        return drop(a, b).drop(b, a);
    }

    /** Applies {@code action} to every link. */
    public LinkFaults everywhere(FaultAction action) {
        this.all = action;
        return this;
    }

    /** Removes every rule. */
    public LinkFaults heal() {
        rules.clear();
        all = null;
        return this;
    }

    @Override
    public FaultAction onSend(int from, int to) {
        FaultAction a = all;
        if (a != null) {
            return a;
        }
        FaultAction r = rules.get(key(from, to));
        return r == null ? FaultAction.DELIVER : r;
    }
}
