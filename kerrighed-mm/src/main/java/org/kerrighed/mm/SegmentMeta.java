package org.kerrighed.mm;

import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.IpcPerm;

import java.time.Instant;
import java.util.Arrays;

/**
 * A segment's metadata, the value of its object in the segment table (static set 1002). Immutable: every change
 * makes a new one under a write handle.
 *
 * @param attachNodes one element per attachment: the node that holds it (repeated for several attachments)
 */
record SegmentMeta(long id, long key, long size, int pageSize, int replication, long pageSet, IpcPerm perm,
                   Caller creator, Caller lastCaller, int[] attachNodes, boolean removed, long atime, long dtime,
                   long ctime) {

    SegmentMeta attached(int node, Caller caller, long now) {
        int[] n = Arrays.copyOf(attachNodes, attachNodes.length + 1);
        n[attachNodes.length] = node;
        return new SegmentMeta(id, key, size, pageSize, replication, pageSet, perm, creator, caller, n, removed, now,
                dtime, ctime);
    }

    /** One attachment of {@code node} less (unchanged if it has none). */
    SegmentMeta detached(int node, Caller caller, long now) {
        int[] n = attachNodes.clone();
        for (int i = 0; i < n.length; i++) {
            if (n[i] == node) {
                n[i] = n[n.length - 1];
                return new SegmentMeta(id, key, size, pageSize, replication, pageSet, perm, creator, caller,
                        Arrays.copyOf(n, n.length - 1), removed, atime, now, ctime);
            }
        }
        return this;
    }

    /** Without the attachments of nodes {@code live} rejects (nodes that died or left). */
    SegmentMeta onlyLive(java.util.function.IntPredicate live, long now) {
        int[] n = Arrays.stream(attachNodes).filter(live).toArray();
        return n.length == attachNodes.length ? this : new SegmentMeta(id, key, size, pageSize, replication, pageSet,
                perm, creator, lastCaller, n, removed, atime, now, ctime);
    }

    SegmentMeta markedRemoved(Caller caller, long now) {
        return new SegmentMeta(id, key, size, pageSize, replication, pageSet, perm, creator, caller, attachNodes,
                true, atime, dtime, now);
    }

    /** True when the segment must be freed now: marked for removal and attached nowhere. */
    boolean freeable() {
        return removed && attachNodes.length == 0;
    }

    SegmentStat stat() {
        return new SegmentStat(key, id, size, pageSize, replication, perm, creator, lastCaller, attachNodes.length,
                removed, Instant.ofEpochMilli(atime), Instant.ofEpochMilli(dtime), Instant.ofEpochMilli(ctime));
    }

    String describe() {
        return "segment " + id + (key == SharedMemory.PRIVATE ? " (private)" : " (key 0x" + Long.toHexString(key) + ")");
    }
}
