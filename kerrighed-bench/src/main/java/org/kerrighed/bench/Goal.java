package org.kerrighed.bench;

/**
 * What a metric must achieve: {@code on} the per-round ratio (ours / peer) or on our own value,
 * compared with {@code op} ("<=" or ">=") against {@code value}.
 */
public record Goal(String on, String op, double value) {
    public Goal {
        if (!on.equals("ratio") && !on.equals("ours")) {
            throw new IllegalArgumentException("on: must be ratio or ours, got " + on);
        }
        if (!op.equals("<=") && !op.equals(">=")) {
            throw new IllegalArgumentException("op: must be <= or >=, got " + op);
        }
    }

    public static Goal ratioAtMost(double v) {
        return new Goal("ratio", "<=", v);
    }

    public static Goal ratioAtLeast(double v) {
        return new Goal("ratio", ">=", v);
    }

    public static Goal oursAtMost(double v) {
        return new Goal("ours", "<=", v);
    }

    boolean met(double ours, double ratio) {
        double x = on.equals("ratio") ? ratio : ours;
        return op.equals("<=") ? x <= value : x >= value;
    }

    @Override
    public String toString() {
        return on + " " + op + " " + Row.number(value);
    }
}
