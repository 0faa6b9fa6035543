package org.kerrighed.fs;

import java.util.List;

/**
 * What the read-only {@code /proc} tree shows, given by the layer that knows it (the process layer, through the
 * node facade). Every method is called when a path under {@code /proc} is listed or read, on the caller's thread,
 * and may block briefly (it usually asks the cluster). Implementations are thread-safe.
 */
public interface ProcSource {
    /** The names in {@code /proc/DIR} ({@code dir} relative to {@code /proc}, "" for {@code /proc} itself), or null
     * when it is not a directory. */
    List<String> list(String dir);

    /** The text of file {@code /proc/FILE}, generated now, or null when there is no such file. */
    String read(String file);
}
