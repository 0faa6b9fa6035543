package org.kerrighed.fs.internal;

import org.kerrighed.kddm.Kddm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where a new chunk's copies go: the writing node first (its writes then cost one network copy, as HDFS places
 * them), then the other live nodes in turn, never two copies on one node, skipping nodes that recently answered
 * that they are out of space.
 */
final class Placement {
    private final Kddm kddm;
    private final ChunkStore store;
    private final AtomicInteger next = new AtomicInteger();

    Placement(Kddm kddm, ChunkStore store) {
        this.kddm = kddm;
        this.store = store;
    }

    /** Up to {@code copies} distinct live nodes (at least one: this one, when no other has room). */
    int[] choose(int copies, int me, Map<Integer, Long> fullUntil) {
        List<Integer> chosen = new ArrayList<>();
        if (store.usedBytes() < store.quota() && !full(me, fullUntil)) {
            chosen.add(me);
        }
        int[] members = kddm.members();
        Arrays.sort(members);
        int start = Math.floorMod(next.getAndIncrement(), Math.max(1, members.length));
        for (int i = 0; i < members.length && chosen.size() < copies; i++) {
            int n = members[(start + i) % members.length];
            if (n != me && !full(n, fullUntil)) {
                chosen.add(n);
            }
        }
        if (chosen.isEmpty()) {
            chosen.add(me);                         // its write then fails with the reason
        }
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Live nodes not in {@code exclude} that may take a copy, in turn. */
    List<Integer> candidates(int[] exclude, Map<Integer, Long> fullUntil) {
        int[] members = kddm.members();
        Arrays.sort(members);
        List<Integer> out = new ArrayList<>();
        int start = Math.floorMod(next.getAndIncrement(), Math.max(1, members.length));
        for (int i = 0; i < members.length; i++) {
            int n = members[(start + i) % members.length];
            if (Arrays.stream(exclude).noneMatch(x -> x == n) && !full(n, fullUntil)) {
                out.add(n);
            }
        }
        return out;
    }

    private static boolean full(int node, Map<Integer, Long> fullUntil) {
        Long until = fullUntil.get(node);
        return until != null && until - System.nanoTime() > 0;
    }
}
