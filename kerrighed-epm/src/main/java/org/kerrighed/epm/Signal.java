package org.kerrighed.epm;

import java.util.Locale;

/**
 * The signals a cluster process can be sent, with their POSIX numbers and default actions. {@link #KILL} and
 * {@link #STOP} cannot be caught or ignored; both also interrupt the process's thread.
 */
public enum Signal {
    HUP(1, Action.TERMINATE),
    INT(2, Action.TERMINATE),
    KILL(9, Action.TERMINATE),
    USR1(10, Action.TERMINATE),
    USR2(12, Action.TERMINATE),
    TERM(15, Action.TERMINATE),
    CHLD(17, Action.IGNORE),
    CONT(18, Action.CONTINUE),
    STOP(19, Action.STOP);

    /** What a signal does to a process that has no handler for it. */
    public enum Action { TERMINATE, IGNORE, STOP, CONTINUE }

    private final int number;
    private final Action defaultAction;

    Signal(int number, Action defaultAction) {
        this.number = number;
        this.defaultAction = defaultAction;
    }

    public int number() {
        return number;
    }

    public Action defaultAction() {
        return defaultAction;
    }

    /** False for KILL and STOP, which no handler or ignore disposition can change. */
    public boolean catchable() {
        return this != KILL && this != STOP;
    }

    /**
     * The signal named {@code s}: a name with or without {@code SIG} ({@code TERM}, {@code sigterm}) or a number.
     *
     * @throws IllegalArgumentException naming the signals known
     */
    public static Signal parse(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.startsWith("SIG")) {
            t = t.substring(3);
        }
        for (Signal sig : values()) {
            if (sig.name().equals(t) || Integer.toString(sig.number).equals(t)) {
                return sig;
            }
        }
        throw new IllegalArgumentException("unknown signal '" + s + "' (known: HUP INT KILL USR1 USR2 TERM CHLD CONT"
                + " STOP, or their numbers)");
    }
}
