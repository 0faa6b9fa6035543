package org.kerrighed.epm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A parent's children (a process's, or the node's for the processes it started from outside any process). */
final class Children {
    private final Map<Integer, Child> map = new ConcurrentHashMap<>();
    private final Object changed = new Object();

    Child add(int pid, int node) {
        Child c = new Child(this, pid, node);
        map.put(pid, c);
        return c;
    }

    void put(Child c) {
        map.put(c.pid, c);
    }

    Child get(int pid) {
        return map.get(pid);
    }

    void remove(int pid) {
        map.remove(pid);
    }

    boolean isEmpty() {
        return map.isEmpty();
    }

    List<Child> all() {
        return new ArrayList<>(map.values());
    }

    /** An exited child not yet reaped, or null. */
    Child anyExited() {
        for (Child c : map.values()) {
            if (c.exit().isDone()) {
                return c;
            }
        }
        return null;
    }

    void signalChange() {
        synchronized (changed) {
            changed.notifyAll();
        }
    }

    /** Waits at most {@code millis} for a child's exit (or a spurious wake-up). */
    void awaitChange(long millis) throws InterruptedException {
        synchronized (changed) {
            if (anyExited() == null) {
                changed.wait(millis);
            }
        }
    }
}
