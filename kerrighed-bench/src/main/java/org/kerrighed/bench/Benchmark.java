package org.kerrighed.bench;

import java.util.List;

/** A side-by-side benchmark run by {@code krg bench NAME}. */
public interface Benchmark {
    /** The name on the command line and in {@code bench-results/NAME.json}. */
    String name();

    /** One line for {@code krg bench --help}. */
    String description();

    /**
     * Runs the rounds, alternating ours and the peer, and returns the rows.
     *
     * @param quick    finish in under two minutes (fewer rounds, shorter ones)
     * @param progress where to report what is happening (a person is watching)
     */
    List<Row> run(boolean quick, Progress progress) throws Exception;
}
