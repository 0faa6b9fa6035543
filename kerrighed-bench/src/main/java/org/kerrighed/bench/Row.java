package org.kerrighed.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One line of a benchmark's result: our median and the peer's over the rounds, the median of the
 * per-round ratios ours / peer with its spread, and whether the goal (if any) is met. Rows without a peer
 * have NaN peer figures and are written with nulls.
 */
public record Row(String name, String unit, double ours, String peer, double peerValue, double ratio,
                  double ratioMin, double ratioMax, int rounds, Goal goal) {

    /** Whether the goal holds; true when there is no goal (a reported figure). */
    public boolean met() {
        return goal == null || goal.met(ours, ratio);
    }

    /** The row as the JSON object of {@code bench-results/NAME.json}. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("unit", unit);
        m.put("ours", finite(ours));
        m.put("peer", peer);
        m.put("peerValue", finite(peerValue));
        m.put("ratio", finite(ratio));
        m.put("ratioMin", finite(ratioMin));
        m.put("ratioMax", finite(ratioMax));
        m.put("rounds", rounds);
        if (goal == null) {
            m.put("goal", null);
        } else {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("on", goal.on());
            g.put("op", goal.op());
            g.put("value", goal.value());
            m.put("goal", g);
        }
        m.put("met", goal == null ? null : met());
        return m;
    }

    private static Object finite(double v) {
        return Double.isFinite(v) ? round(v) : null;
    }

    private static double round(double v) {
        double a = Math.abs(v);
        double scale = a >= 100 ? 10 : a >= 1 ? 1000 : 100_000;
        return Math.round(v * scale) / scale;
    }

    /** A number as a person reads it: no trailing zeros, three significant decimals at most. */
    static String number(double v) {
        if (!Double.isFinite(v)) {
            return "-";
        }
        double r = round(v);
        if (r == Math.rint(r) && Math.abs(r) < 1e15) {
            return Long.toString((long) r);
        }
        String s = Math.abs(r) >= 100 ? String.format("%.1f", r) : Math.abs(r) >= 1 ? String.format("%.3f", r)
                : String.format("%.4f", r);
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }
}
