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
 * {@code krg bench migration} runs end to end at smoke scale (two node JVMs, one tiny round per state size, the
 * 64 MiB one included) and writes a figure for every row. Timings are not checked.
 */
class MigrationBenchSmokeTest {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void migrationBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "migration", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("migration.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"migration\", \"metrics\": ["), json);
        for (String size : new String[]{"1KiB", "1MiB", "64MiB", "1MiB_busy"}) {
            for (String suffix : new String[]{"", "@safepoint", "@export", "@transfer", "@commit"}) {
                String metric = "migrate_" + size + "_ms" + suffix;
                assertTrue(json.contains("\"name\": \"" + metric + "\""), metric + " missing: " + json);
            }
        }
        assertTrue(json.contains("\"rounds\": 1"), json);
        assertFalse(json.contains("\"ours\": null"), "a row has no figure of ours: " + json);
        assertFalse(json.contains("\"peerValue\": null"), "a row has no figure of its peer: " + json);
    }
}
