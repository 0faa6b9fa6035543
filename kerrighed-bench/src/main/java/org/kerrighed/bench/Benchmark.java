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
     * @param scale    how many rounds, and how long
     * @param progress where to report what is happening (a person is watching)
     */
    List<Row> run(Scale scale, Progress progress) throws Exception;

    /** How much to run: everything, under two minutes ({@code --quick}), or a few seconds to check it works. */
    enum Scale {
        FULL, QUICK, SMOKE
    }
}
