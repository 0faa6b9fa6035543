package org.kerrighed.node.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Runs {@code krg} in this JVM with {@code System.out} and {@code System.err} captured. A test class installs it
 * before each test and restores the streams after.
 */
final class CapturedCli {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    void install() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    /** Runs krg; the captured output of this run is then in {@link #stdout()} and {@link #stderr()}. */
    int run(String... args) {
        out.reset();
        err.reset();
        int code = Krg.run(args);
        System.out.flush();
        System.err.flush();
        return code;
    }

    String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** What krg printed, for the message of a failed assertion. */
    String printed() {
        return "\n--- stdout ---\n" + stdout() + "--- stderr ---\n" + stderr();
    }
}
