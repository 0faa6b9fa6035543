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
 * {@code krg bench sched} runs end to end at smoke scale (two node JVMs, one round of tiny batches on each side, one
 * policy swap) and writes a figure for every row, and a peer figure for every row that has a peer. Timings are not
 * checked.
 */
class SchedBenchSmokeTest {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void schedBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "sched", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("sched.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"sched\", \"metrics\": ["), json);
        for (String metric : new String[]{"pinned_cores", "migration_moves", "policy_swap_ms"}) {
            assertTrue(json.contains("{\"name\": \"" + metric + "\", \"unit\": "), metric + " missing: " + json);
        }
        for (String base : new String[]{"makespan_ratio", "makespan_ratio_uneven", "makespan_ratio_migration"}) {
            assertTrue(json.contains("{\"name\": \"" + base + "\", \"unit\": \"x\", \"ours\": "), base + ": " + json);
            assertTrue(json.contains("\"name\": \"" + base + "@scheduler-off\""), base + "@scheduler-off: " + json);
        }
        assertTrue(json.contains("\"rounds\": 1"), json);
        assertFalse(json.contains("\"ours\": null"), "a row has no figure of ours: " + json);
        assertFalse(json.contains("\"peer\": \"hazelcast-executor\", \"peerValue\": null"), json);
        assertFalse(json.contains("\"peer\": \"scheduler-off\", \"peerValue\": null"), json);
    }
}
