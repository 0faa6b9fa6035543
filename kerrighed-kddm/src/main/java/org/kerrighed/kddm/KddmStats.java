package org.kerrighed.kddm;

import java.util.List;

/** Counters of every set instantiated on one node: the reply of {@link Kddm#STATS} (what {@code krg kddm stats} shows). */
public record KddmStats(int node, List<SetStats> sets) {
    public KddmStats {
        sets = List.copyOf(sets);
    }
}
