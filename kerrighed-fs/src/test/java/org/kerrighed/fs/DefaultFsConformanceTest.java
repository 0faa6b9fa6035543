package org.kerrighed.fs;

import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The conformance suite on the default file system: the reference the krg run is held to. */
class DefaultFsConformanceTest extends FsConformanceSuite {
    @TempDir
    static Path tmp;

    @Override
    protected Path newTestDirectory(String name) throws IOException {
        return Files.createDirectory(tmp.resolve(name));
    }

    @Override
    protected Path onNode(Path p, int node) {
        return p;
    }
}
