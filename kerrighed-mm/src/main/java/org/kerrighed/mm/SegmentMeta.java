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
 * @param attachIncarnations for each attachment, the incarnation of its node that made it ({@code Kddm.incarnation};
 *                           0 when unknown): a node that died and came back under its id is told from the dead one
 */
record SegmentMeta(long id, long key, long size, int pageSize, int replication, long pageSet, IpcPerm perm,
                   Caller creator, Caller lastCaller, int[] attachNodes, long[] attachIncarnations, boolean removed,
                   long atime, long dtime, long ctime) {

    /** Whether an attachment, of node {@code node}'s incarnation {@code incarnation}, is still held. */
    interface Holder {
        boolean live(int node, long incarnation);
    }

    SegmentMeta attached(int node, long incarnation, Caller caller, long now) {
        int[] n = Arrays.copyOf(attachNodes, attachNodes.length + 1);
        n[attachNodes.length] = node;
        long[] inc = Arrays.copyOf(attachIncarnations, attachIncarnations.length + 1);
        inc[attachIncarnations.length] = incarnation;
        return new SegmentMeta(id, key, size, pageSize, replication, pageSet, perm, creator, caller, n, inc, removed,
                now, dtime, ctime);
    }

    /** One attachment of {@code node}'s incarnation {@code incarnation} less (unchanged if it has none). */
    SegmentMeta detached(int node, long incarnation, Caller caller, long now) {
        for (int i = 0; i < attachNodes.length; i++) {
            if (attachNodes[i] == node && attachIncarnations[i] == incarnation) {
                int[] n = attachNodes.clone();
                long[] inc = attachIncarnations.clone();
                n[i] = n[n.length - 1];
                inc[i] = inc[inc.length - 1];
                return new SegmentMeta(id, key, size, pageSize, replication, pageSet, perm, creator, caller,
                        Arrays.copyOf(n, n.length - 1), Arrays.copyOf(inc, inc.length - 1), removed, atime, now,
                        ctime);
            }
        }
        return this;
    }

    /** Without the attachments {@code live} rejects (of nodes, or incarnations of nodes, that died or left). */
    SegmentMeta onlyLive(Holder live, long now) {
        int kept = 0;
        int[] n = new int[attachNodes.length];
        long[] inc = new long[attachNodes.length];
        for (int i = 0; i < attachNodes.length; i++) {
            if (live.live(attachNodes[i], attachIncarnations[i])) {
                n[kept] = attachNodes[i];
                inc[kept++] = attachIncarnations[i];
            }
        }
        return kept == attachNodes.length ? this : new SegmentMeta(id, key, size, pageSize, replication, pageSet,
                perm, creator, lastCaller, Arrays.copyOf(n, kept), Arrays.copyOf(inc, kept), removed, atime, now,
                ctime);
    }

    SegmentMeta markedRemoved(Caller caller, long now) {
        return new SegmentMeta(id, key, size, pageSize, replication, pageSet, perm, creator, caller, attachNodes,
                attachIncarnations, true, atime, dtime, now);
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
