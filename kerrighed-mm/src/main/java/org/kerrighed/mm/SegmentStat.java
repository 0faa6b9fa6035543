package org.kerrighed.mm;

import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.IpcPerm;

import java.time.Instant;

/**
 * What {@link SharedMemory#stat} says of a segment, as SysV's {@code shmid_ds}. A snapshot: it does not change
 * when the segment does.
 *
 * @param key               the key it was created with ({@link SharedMemory#PRIVATE} for a private segment); a
 *                          segment marked for removal keeps it here although the key already names nothing
 * @param id                the segment's cluster-wide id
 * @param size              its size in bytes, as asked at creation
 * @param pageSize          the size of its pages (the unit of coherence: a page is read, moved and invalidated whole)
 * @param replication       copies of every written page kept on distinct live nodes
 * @param perm              owner, creator and permission mode
 * @param creator           who created it
 * @param lastCaller        who last attached, detached or removed it
 * @param attachCount       live attachments, cluster-wide
 * @param markedForRemoval  {@link SharedMemory#remove} was called: freed when the last attachment goes
 * @param attachTime        last attach ({@link Instant#EPOCH} if never)
 * @param detachTime        last detach ({@link Instant#EPOCH} if never)
 * @param changeTime        creation or last removal mark
 */
public record SegmentStat(long key, long id, long size, int pageSize, int replication, IpcPerm perm, Caller creator,
                          Caller lastCaller, int attachCount, boolean markedForRemoval, Instant attachTime,
                          Instant detachTime, Instant changeTime) {
}
