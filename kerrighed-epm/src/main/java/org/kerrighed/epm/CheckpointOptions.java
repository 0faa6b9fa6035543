package org.kerrighed.epm;

import java.nio.file.Path;

/**
 * How to checkpoint an application.
 *
 * @param directory    where checkpoints go, on the file system of the node that takes it: version N of
 *                     application A is {@code directory/A/vN}; null for the node's default
 *                     ({@code <storage>/checkpoints})
 * @param kill         end the application (KILL) once the checkpoint is written; else it goes on
 * @param refuseShared refuse the checkpoint when a segment the application uses is attached by processes outside
 *                     it; else such a segment is left out (and named in the report)
 * @param description  free text stored with the checkpoint (may be null)
 */
public record CheckpointOptions(Path directory, boolean kill, boolean refuseShared, String description) {
    /** The node's default directory; the application goes on; shared segments left out. */
    public static CheckpointOptions defaults() {
        return new CheckpointOptions(null, false, false, null);
    }

    public CheckpointOptions inDirectory(Path dir) {
        return new CheckpointOptions(dir, kill, refuseShared, description);
    }

    public CheckpointOptions thenKill() {
        return new CheckpointOptions(directory, true, refuseShared, description);
    }

    public CheckpointOptions refusingShared() {
        return new CheckpointOptions(directory, kill, true, description);
    }

    public CheckpointOptions describedAs(String text) {
        return new CheckpointOptions(directory, kill, refuseShared, text);
    }
}
