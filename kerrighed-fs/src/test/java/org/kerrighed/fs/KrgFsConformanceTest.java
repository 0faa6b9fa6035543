package org.kerrighed.fs;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.kerrighed.kddm.testing.KddmCluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The conformance suite on a krg file system of a 3-node in-process cluster (64 KiB chunks, so small files span
 * several), started once for the class. Each test's directory is made through node 0; the suite reads, lists and
 * writes through nodes 1 and 2 as well.
 */
class KrgFsConformanceTest extends FsConformanceSuite {
    static final Map<Integer, ClusterFs> FSS = new ConcurrentHashMap<>();
    static KddmCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = new KddmCluster(3, List.of(k -> FSS.put(k.nodeId(), ClusterFs.start(k,
                FsConfig.defaults().withChunkSize(64 << 10).withStorage(k.storage().resolve("fs"))))),
                ClusterFs.types());
    }

    @AfterAll
    static void stopCluster() {
        FSS.values().forEach(ClusterFs::close);
        FSS.clear();
        if (cluster != null) {
            cluster.close();
        }
    }

    @Override
    protected Path newTestDirectory(String name) throws IOException {
        return Files.createDirectory(FSS.get(0).path("/" + name));
    }

    @Override
    protected Path onNode(Path p, int node) {
        return FSS.get(node).fileSystem().getPath(p.toString());
    }
}
