package org.kerrighed.scheduler;

import java.util.Set;
import java.util.TreeSet;

/**
 * The processes a scheduler applies to (Kerrighed's {@code process_set}): all of them, or chosen processes, process
 * groups or sessions. A new process belongs to a {@link Kind#PIDS} set when its parent does (children follow their
 * parent's scheduler, as in Kerrighed), and to a group or session set by the group or session it joins.
 */
public record ProcessSet(Kind kind, Set<Integer> ids) {
    /** What {@link #ids} names. */
    public enum Kind { ALL, PIDS, GROUPS, SESSIONS }

    public static final ProcessSet ALL = new ProcessSet(Kind.ALL, Set.of());

    public ProcessSet {
        if (kind == null) {
            throw new IllegalArgumentException("a process set needs a kind");
        }
        ids = Set.copyOf(ids);
        if (kind != Kind.ALL && ids.isEmpty()) {
            throw new IllegalArgumentException("a process set of " + kind.name().toLowerCase() + " names at least one");
        }
    }

    /** True when process {@code p} is in the set. */
    public boolean contains(ProcessSample p) {
        return switch (kind) {
            case ALL -> true;
            case PIDS -> ids.contains(p.pid()) || ids.contains(p.ppid());
            case GROUPS -> ids.contains(p.pgid());
            case SESSIONS -> ids.contains(p.sid());
        };
    }

    /** True when new process {@code p} will be in the set. */
    public boolean contains(NewProcess p) {
        return switch (kind) {
            case ALL -> true;
            case PIDS -> ids.contains(p.ppid());
            case GROUPS -> ids.contains(p.pgid());
            case SESSIONS -> ids.contains(p.sid());
        };
    }

    /**
     * Parses {@code all}, {@code pids:1,2}, {@code groups:7} or {@code sessions:7}.
     *
     * @throws IllegalArgumentException on anything else
     */
    public static ProcessSet parse(String s) {
        if (s.equals("all")) {
            return ALL;
        }
        int colon = s.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("bad process set '" + s
                    + "': all, pids:P,..., groups:G,... or sessions:S,...");
        }
        Kind k = switch (s.substring(0, colon)) {
            case "pids" -> Kind.PIDS;
            case "groups" -> Kind.GROUPS;
            case "sessions" -> Kind.SESSIONS;
            default -> throw new IllegalArgumentException("bad process set '" + s
                    + "': all, pids:P,..., groups:G,... or sessions:S,...");
        };
        return new ProcessSet(k, NodeSet.ints(s.substring(colon + 1), "process set '" + s + "'"));
    }

    @Override
    public String toString() {
        return kind == Kind.ALL ? "all" : kind.name().toLowerCase() + ":" + String.join(",",
                new TreeSet<>(ids).stream().map(String::valueOf).toList());
    }
}
