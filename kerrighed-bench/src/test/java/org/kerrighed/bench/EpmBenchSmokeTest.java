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
 * {@code krg bench epm} runs end to end at smoke scale (two node JVMs, one tiny round)
 * and writes a figure for every row. Timings are not checked.
 */
class EpmBenchSmokeTest {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void epmBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "epm", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("epm.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"epm\", \"metrics\": ["), json);
        for (String metric : new String[]{"spawn_remote_us", "spawn_remote_us@rpc", "spawn_remote_cpu_us"}) {
            assertTrue(json.contains("\"name\": \"" + metric + "\""), metric + " missing: " + json);
        }
        assertTrue(json.contains("\"rounds\": 1"), json);
        assertFalse(json.contains("\"ours\": null"), "a row has no figure of ours: " + json);
        assertFalse(json.contains("\"peerValue\": null"), "a row has no figure of its peer: " + json);
    }
}
