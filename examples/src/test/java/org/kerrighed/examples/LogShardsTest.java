package org.kerrighed.examples;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.fs.FsStatus;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.HostAndPort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The log job on three real nodes in this JVM (loopback sockets, real membership, the krg file system). */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class LogShardsTest {
    private static final int LINES = 20_000;

    @TempDir
    static Path storage;

    private static final List<Node> nodes = new ArrayList<>();

    @BeforeAll
    static void startNodes() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        String cluster = "logs-" + Long.toHexString(new SecureRandom().nextLong() >>> 20);
        for (int id = 0; id < 3; id++) {
            HostAndPort seed = nodes.isEmpty() ? null : nodes.getFirst().rpc().address();
            nodes.add(Kerrighed.join(SharedWordCount.config(cluster, secret, storage, id, seed), LogShards.TYPES));
        }
    }

    @AfterAll
    static void stopNodes() {
        for (Node n : nodes.reversed()) {
            n.close();
        }
    }

    @Test
    void shardsWrittenOnEveryNodeAddUpToTheSameSummaryAsInMemory() throws Exception {
        Path dir = Files.createDirectories(nodes.getFirst().fs().path("/jobs/t1"));
        Files.writeString(dir.resolve("README"), "not a shard: the glob leaves it out\n");

        LogShards.Report r = LogShards.run(nodes.getFirst(), "t1", LINES, 5, Duration.ofSeconds(90));

        assertEquals(List.of(0, 1, 2), r.shards().stream().map(LogShards.Shard::node).toList(),
                "one writer ran on each node");
        assertNotEquals(0, r.readerNode(), "the aggregator ran on another node than the job");
        LogShards.Summary expected = LogShards.inMemory(List.of(0, 1, 2), LINES, 5).withFiles(3);
        assertEquals(expected, r.summary(), "the shards read back give the summary of the same lines in memory");
        assertEquals(3L * LINES, r.summary().requests());
        assertEquals(LogShards.AccessLog.PATHS.subList(0, 3), r.summary().topPaths(3));

        Path other = nodes.get(2).fs().path("/jobs/t1");
        for (LogShards.Shard s : r.shards()) {
            Path shard = LogShards.shard(other, s.node());
            assertEquals(s.path(), LogShards.shard(dir, s.node()).toString());
            assertEquals(s.bytes(), Files.size(shard), "node 2 sees " + shard + " at its full size");
            assertEquals(LINES, s.lines());
            assertEquals(2, Files.getAttribute(shard, "krg:replication"));
            long inode = (Long) Files.readAttributes(shard, java.nio.file.attribute.BasicFileAttributes.class)
                    .fileKey();
            assertTrue(holdsChunks(s.node(), inode), "the shard written on node " + s.node()
                    + " has its first chunk there");
        }
        FsStatus st = nodes.getFirst().fs().status();
        assertTrue(st.healthy(), st.toString());
        assertEquals(4, st.files(), st.toString());
    }

    @Test
    void aBadJobNameIsRefusedBeforeAnythingStarts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LogShards.run(nodes.getFirst(), "../etc", 10, 1, Duration.ofSeconds(30)));
        assertTrue(e.getMessage().contains("'../etc'"), e.getMessage());
        assertTrue(nodes.getFirst().epm().ps().stream().noneMatch(p -> p.command().contains("../etc")),
                "no job process was started");
    }

    /** True when node {@code node}'s chunk directory holds chunk 0 of inode {@code inode} (docs/fs.md, Layout). */
    private static boolean holdsChunks(int node, long inode) throws Exception {
        try (var files = Files.walk(storage.resolve("node-" + node))) {
            return files.anyMatch(p -> p.getFileName().toString().startsWith("0.")
                    && p.getParent().getFileName().toString().equals(Long.toHexString(inode))
                    && p.getParent().getParent().getFileName().toString().equals("fs"));
        }
    }
}
