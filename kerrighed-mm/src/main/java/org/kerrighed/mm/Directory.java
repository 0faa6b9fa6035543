package org.kerrighed.mm;

import java.util.Arrays;

/**
 * Object 0 of the directory set (static set 1001): the next segment id to give and the ids of every segment not
 * freed yet (for {@link SharedMemory#list} and for the clean-up after a node's death). Immutable.
 */
record Directory(long nextId, long[] ids) {
    static final Directory EMPTY = new Directory(1, new long[0]);

    Directory withNew(long id) {
        long[] n = Arrays.copyOf(ids, ids.length + 1);
        n[ids.length] = id;
        return new Directory(Math.max(nextId, id + 1), n);
    }

    boolean has(long id) {
        return Arrays.stream(ids).anyMatch(x -> x == id);
    }

    Directory without(long id) {
        return new Directory(nextId, Arrays.stream(ids).filter(x -> x != id).toArray());
    }
}
