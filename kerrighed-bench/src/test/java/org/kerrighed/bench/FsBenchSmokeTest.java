package org.kerrighed.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.node.cli.Krg;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code krg bench fs} runs end to end at smoke scale (three node JVMs, one round of a 16 MiB file and 20 small
 * files; the nodes check every block they read back) and writes a figure for every row. Timings are not checked.
 */
class FsBenchSmokeTest {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void fsBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "fs", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("fs.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"fs\", \"metrics\": ["), json);
        for (String metric : new String[]{"seq_write_mbps", "seq_read_mbps", "seq_read_mbps@netty-bulk",
                "seq_read_other_node_mbps", "small_file_create_per_s", "raw_replicated_write_mbps",
                "seq_write_mbps@raw-replicated"}) {
            assertTrue(json.contains("\"name\": \"" + metric + "\""), metric + " missing: " + json);
        }
        String zeroCopy = RawReplica.zeroCopyUnavailable();   // the node JVMs get this JVM's flags
        assertEquals(zeroCopy == null, json.contains("\"name\": \"raw_zero_copy_write_mbps\""),
                "the zero-copy row, which can run here unless: " + zeroCopy);
        assertTrue(json.contains("\"rounds\": 1"), json);
        assertFalse(json.contains("\"ours\": null"), "a row has no figure of ours: " + json);
        assertFalse(json.contains("\"peerValue\": null"), "a row has no figure of its peer: " + json);
    }
}
