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
 * {@code krg bench kddm} runs end to end at smoke scale (three node JVMs, one tiny round of every part)
 * and writes a figure for every row. Timings are not checked.
 */
class KddmBenchSmokeTest {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void kddmBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "kddm", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("kddm.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"kddm\", \"metrics\": ["), json);
        for (String metric : new String[]{"local_hit_get_ns", "local_hit_get_ns@hazelcast-near-cache", "remote_miss_us",
                "ownership_pingpong_us", "read_mostly_ops", "read_mostly_ops@hazelcast-near-cache",
                "replicated_write_us", "replicated_write_owned_us"}) {
            assertTrue(json.contains("\"name\": \"" + metric + "\""), metric + " missing: " + json);
        }
        assertTrue(json.contains("\"rounds\": 1"), json);
        assertFalse(json.contains("\"ours\": null"), "a row has no figure of ours: " + json);
        assertFalse(json.contains("\"peerValue\": null"), "a row has no figure of its peer: " + json);
    }
}
