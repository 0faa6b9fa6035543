package org.kerrighed.bench;

import java.io.PrintStream;

/** Progress lines on stderr, stamped with the time since the benchmark started. Thread-safe. */
public final class Progress {
    private final PrintStream err;
    private final long start = System.nanoTime();

    public Progress(PrintStream err) {
        this.err = err;
    }

    public synchronized void say(String format, Object... args) {
        err.printf("[%6.1fs] %s%n", (System.nanoTime() - start) / 1e9, String.format(format, args));
        err.flush();
    }
}
