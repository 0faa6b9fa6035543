package org.kerrighed.epm;

import java.nio.file.Path;
import java.util.List;

/**
 * One checkpoint written.
 *
 * @param app       the application (its root process's pid)
 * @param version   the version number (1, 2, ...)
 * @param directory the version's directory ({@code .../A/vN})
 * @param pids      the processes saved
 * @param nodes     the nodes they ran on
 * @param bytes     the bytes written (process images and segments)
 * @param freeze    milliseconds from the request to every process frozen and captured
 * @param write     milliseconds writing and syncing the files
 * @param total     milliseconds in all, including the unfreeze or the kill
 * @param leftOut   objects not saved, with the reason (a segment shared with processes outside the application)
 */
public record CheckpointReport(int app, int version, Path directory, List<Integer> pids, List<Integer> nodes,
                               long bytes, double freeze, double write, double total, List<String> leftOut) {
    public CheckpointReport {
        pids = List.copyOf(pids);
        nodes = List.copyOf(nodes);
        leftOut = List.copyOf(leftOut);
    }
}
