package org.kerrighed.kddm;

import java.util.EnumSet;
import java.util.Set;

/**
 * What a set is: its linker (by registered name, with an argument, so nodes that did not create the set can
 * build the same linker), its default-owner policy, its flags and its replication factor.
 *
 * @param linker      name of a linker registered on every node ({@link Kddm#registerLinker}; built in:
 *                    {@code "object"}, {@code "page"}, {@code "directory"})
 * @param linkerArg   the linker's argument (type id of the objects for "object", page size for "page",
 *                    sub-directory for "directory"); may be empty
 * @param owner       default-owner policy
 * @param flags       set flags
 * @param replication copies of every acknowledged write kept on distinct live nodes (1 = no backup)
 */
public record SetSpec(String linker, String linkerArg, DefaultOwner owner, Set<SetFlag> flags, int replication) {
    public SetSpec {
        if (linker == null || linker.isBlank()) {
            throw new IllegalArgumentException("linker: a registered linker name is required");
        }
        linkerArg = linkerArg == null ? "" : linkerArg;
        if (owner == null) {
            owner = DefaultOwner.roundRobin();
        }
        flags = flags == null || flags.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(flags));
        if (replication < 1 || replication > 8) {
            throw new IllegalArgumentException("replication must be 1-8, got " + replication);
        }
    }

    /**
     * The replication factor of the sets the runtime itself builds on (process table, IPC objects, file-system
     * metadata): 2, so one node's death loses nothing. On a one-node cluster their writes run degraded (one copy,
     * a warning) until a second node joins.
     */
    public static final int SYSTEM_REPLICATION = 2;

    public static SetSpec of(String linker, String linkerArg) {
        return new SetSpec(linker, linkerArg, DefaultOwner.roundRobin(), Set.of(), 1);
    }

    public SetSpec withOwner(DefaultOwner o) {
        return new SetSpec(linker, linkerArg, o, flags, replication);
    }

    public SetSpec withFlags(SetFlag... f) {
        Set<SetFlag> s = EnumSet.noneOf(SetFlag.class);
        s.addAll(flags);
        s.addAll(java.util.List.of(f));
        return new SetSpec(linker, linkerArg, owner, s, replication);
    }

    public SetSpec withReplication(int r) {
        return new SetSpec(linker, linkerArg, owner, flags, r);
    }

    public boolean has(SetFlag f) {
        return flags.contains(f);
    }
}
