package org.kerrighed.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects the per-round figures of a benchmark that alternates ours and the peer, and turns them into
 * {@link Row}s: medians of each side, and the median and range of the per-round ratios (ours / peer of
 * the same round, so slow phases of a noisy machine hit both sides of a ratio alike). Not thread-safe.
 */
public final class Rounds {
    private record Series(String unit, String peer, Goal goal, List<Double> ours, List<Double> peers) {
    }

    private final Map<String, Series> series = new LinkedHashMap<>();

    /** Declares a metric compared with {@code peer}; {@code goal} may be null (reported only). */
    public void metric(String name, String unit, String peer, Goal goal) {
        series.put(name, new Series(unit, peer, goal, new ArrayList<>(), new ArrayList<>()));
    }

    /** Records one round of a declared metric. {@code peer} is NaN for metrics without a peer. */
    public void add(String name, double ours, double peer) {
        Series s = series.get(name);
        if (s == null) {
            throw new IllegalArgumentException("metric " + name + " was not declared");
        }
        s.ours().add(ours);
        s.peers().add(peer);
    }

    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        series.forEach((name, s) -> {
            int n = s.ours().size();
            double[] ratios = new double[n];
            int k = 0;
            for (int i = 0; i < n; i++) {
                double p = s.peers().get(i);
                if (Double.isFinite(p) && p != 0) {
                    ratios[k++] = s.ours().get(i) / p;
                }
            }
            ratios = Arrays.copyOf(ratios, k);
            Arrays.sort(ratios);
            rows.add(new Row(name, s.unit(), median(s.ours()), s.peer(), median(s.peers()),
                    k == 0 ? Double.NaN : median(ratios), k == 0 ? Double.NaN : ratios[0],
                    k == 0 ? Double.NaN : ratios[k - 1], n, s.goal()));
        });
        return rows;
    }

    static double median(List<Double> values) {
        return median(values.stream().filter(Double::isFinite).mapToDouble(Double::doubleValue).sorted().toArray());
    }

    /** Median of sorted values (mean of the two middle ones for an even count); NaN when empty. */
    static double median(double[] sorted) {
        int n = sorted.length;
        if (n == 0) {
            return Double.NaN;
        }
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The {@code p} quantile (0-1) of sorted values, nearest rank. */
    static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1))];
    }
}
