package org.kerrighed.fs;

import java.io.IOException;
import java.nio.file.attribute.FileAttributeView;

/**
 * The {@code krg} attribute view: a file's replication (the copies kept of each of its chunks) or a directory's
 * default for the files created in it. As attributes: {@code krg:replication}, an {@code Integer}
 * ({@code Files.getAttribute(p, "krg:replication")}, {@code Files.setAttribute(p, "krg:replication", 3)}).
 */
public interface KrgFileAttributeView extends FileAttributeView {
    /** The view's name, {@code "krg"}. */
    String NAME = "krg";

    /** The replication; for a directory 0 means the file system's default. */
    int replication() throws IOException;

    /**
     * Sets the replication of a file (repair adds or drops copies in the background) or a directory's default for
     * new files.
     */
    void setReplication(int copies) throws IOException;

    @Override
    default String name() {
        return NAME;
    }
}
