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
 * {@code krg bench mm} runs end to end at smoke scale (two node JVMs, one tiny round of every part)
 * and writes a figure for every row. Timings are not checked.
 */
class MmBenchSmokeTest {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void mmBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "mm", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("mm.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"mm\", \"metrics\": ["), json);
        for (String metric : new String[]{"shm_seq_read_gbps", "shm_seq_read_gbps@64k-pages", "shm_seq_read_gbps@long[]",
                "shm_fault_us"}) {
            assertTrue(json.contains("\"name\": \"" + metric + "\""), metric + " missing: " + json);
        }
        assertTrue(json.contains("\"rounds\": 1"), json);
        assertFalse(json.contains("\"ours\": null"), "a row has no figure of ours: " + json);
        assertFalse(json.contains("\"peerValue\": null"), "a row has no figure of its peer: " + json);
    }
}
