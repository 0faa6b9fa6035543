package org.kerrighed.mm;

/**
 * A segment's page traffic on this node since its pages were first used here (the KDDM counters of its page set;
 * they are not reset and count every attachment of the segment on this node).
 *
 * @param hits          page accesses served from a local copy (no message)
 * @param faults        page accesses that had to ask another node (KDDM misses): a read fault fetches a copy, a
 *                      write fault takes ownership and invalidates the other copies
 * @param invalidations local page copies dropped because another node wrote the page
 * @param bytesMoved    page bytes this node sent to others (copies, ownership transfers, backups)
 * @param cachedPages   pages with a local copy now
 */
public record SegmentStats(long hits, long faults, long invalidations, long bytesMoved, int cachedPages) {
}
