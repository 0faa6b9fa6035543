package org.kerrighed.bench;

import java.util.List;
import java.util.Set;

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

    /** The parts {@code --only} can choose from (each a group of rows), in run order; empty when it runs whole. */
    default List<String> parts() {
        return List.of();
    }

    /**
     * Runs the rounds of {@code parts} only (a non-empty subset of {@link #parts()}) and returns their rows.
     *
     * @throws IllegalArgumentException when a part is not one of {@link #parts()}
     */
    default List<Row> run(Scale scale, Set<String> parts, Progress progress) throws Exception {
        if (!parts().containsAll(parts)) {
            throw new IllegalArgumentException("--only: benchmark " + name() + " has "
                    + (parts().isEmpty() ? "no parts" : "the parts " + parts()) + ", not " + parts);
        }
        return run(scale, progress);
    }

    /**
     * A benchmark of parts that run apart ({@code --only}): run whole, it runs every part; its
     * {@link #run(Scale, Set, Progress)} starts with {@link #checkParts}.
     */
    interface Parted extends Benchmark {
        @Override
        List<String> parts();

        @Override
        default List<Row> run(Scale scale, Progress progress) throws Exception {
            return run(scale, Set.copyOf(parts()), progress);
        }

        @Override
        List<Row> run(Scale scale, Set<String> parts, Progress progress) throws Exception;

        /**
         * Refuses {@code parts} unless it is a non-empty subset of {@link #parts()}.
         *
         * @throws IllegalArgumentException naming the benchmark's parts
         */
        default void checkParts(Set<String> parts) {
            if (parts.isEmpty() || !parts().containsAll(parts)) {
                throw new IllegalArgumentException("--only: the parts of benchmark " + name() + " are " + parts()
                        + ", not " + parts);
            }
        }
    }

    /** How much to run: everything, under two minutes ({@code --quick}), or a few seconds to check it works. */
    enum Scale {
        FULL, QUICK, SMOKE
    }
}
