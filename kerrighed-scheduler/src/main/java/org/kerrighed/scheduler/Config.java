package org.kerrighed.scheduler;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/** Checks and parsing shared by the configuration records. */
final class Config {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z][a-zA-Z0-9_-]{0,47}");

    private Config() {
    }

    static String checkName(String name, String what) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad " + what + " name '" + name
                    + "': a letter, then up to 47 letters, digits, '_' or '-'");
        }
        return name;
    }

    static long positiveMillis(String v, String what) {
        try {
            long ms = Long.parseLong(v);
            if (ms > 0 && ms <= 3_600_000) {
                return ms;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(what + " must be a number of milliseconds, 1-3600000, not '" + v + "'");
    }

    static boolean bool(String v, String what) {
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(what + " is true or false, not '" + v + "'");
        };
    }

    /** Parses {@code k=v} pairs. */
    static Map<String, String> params(String[] pairs, String what) {
        Map<String, String> out = new HashMap<>();
        for (String p : pairs) {
            int eq = p.indexOf('=');
            if (eq <= 0 || eq == p.length() - 1) {
                throw new IllegalArgumentException("bad parameter '" + p + "' of " + what + ": KEY=VALUE");
            }
            out.put(checkName(p.substring(0, eq), "parameter"), p.substring(eq + 1));
        }
        return out;
    }

    static String join(Map<String, String> params, String sep) {
        StringBuilder b = new StringBuilder();
        new TreeMap<>(params).forEach((k, v) -> b.append(b.isEmpty() ? "" : sep).append(k).append('=').append(v));
        return b.toString();
    }
}
