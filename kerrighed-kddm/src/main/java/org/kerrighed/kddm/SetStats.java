package org.kerrighed.kddm;

/**
 * Counters of one set on one node since it was instantiated here.
 *
 * @param hits            get/grab/find served from the local copy without a message
 * @param misses          get/grab that had to ask another node (or first-touch at the home)
 * @param invalidations   local copies dropped because another node wrote
 * @param transfers       ownership received by this node
 * @param deferred        requests from other nodes that waited for a local pin or transition
 * @param bytesMoved      object bytes sent by this node (copies, transfers, backups) for sets whose linker ships
 *                        raw bytes ({@code byte[]} wire forms, as pages and files do); objects shipped with Kryo
 *                        are not sized here (the RPC layer's byte counters include them)
 * @param objects         objects with local data now
 * @param owned           objects this node owns now
 * @param backups         backup copies held for other owners
 */
public record SetStats(long setId, long hits, long misses, long invalidations, long transfers, long deferred,
                       long bytesMoved, int objects, int owned, int backups) {
}
