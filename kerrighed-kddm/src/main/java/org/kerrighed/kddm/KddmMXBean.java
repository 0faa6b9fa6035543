package org.kerrighed.kddm;

/** KDDM counters of one node, summed over its sets, plus one line per set ({@code org.kerrighed:type=Kddm,cluster="NAME",node=N}). */
public interface KddmMXBean {
    int getSets();

    long getHits();

    long getMisses();

    long getInvalidations();

    long getTransfers();

    long getDeferred();

    long getBytesMoved();

    /** "set id: hits misses invalidations transfers deferred bytes objects owned backups" per set. */
    String[] getPerSet();
}
