package org.kerrighed.epm;

/**
 * How a process ended: it exited with {@code code}, or a signal killed it ({@code signal} not null; {@code code}
 * is then 128 + the signal's number, as shells report it). {@code reason} says why when the runtime decided
 * (an uncaught exception, the node it ran on failed); it may be empty.
 */
public record ExitStatus(int code, Signal signal, String reason) {
    public ExitStatus {
        reason = reason == null ? "" : reason;
    }

    public static ExitStatus exited(int code) {
        return new ExitStatus(code, null, "");
    }

    public static ExitStatus exited(int code, String reason) {
        return new ExitStatus(code, null, reason);
    }

    public static ExitStatus killed(Signal signal, String reason) {
        return new ExitStatus(128 + signal.number(), signal, reason);
    }

    /** True when the process returned or called exit (not killed by a signal). */
    public boolean exitedNormally() {
        return signal == null;
    }

    @Override
    public String toString() {
        String s = signal == null ? "exited " + code : "killed by " + signal;
        return reason.isEmpty() ? s : s + " (" + reason + ")";
    }
}
