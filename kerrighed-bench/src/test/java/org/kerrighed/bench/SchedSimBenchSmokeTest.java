package org.kerrighed.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.node.cli.Krg;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code krg bench sched-sim} runs at smoke scale, takes its options, and refuses them for other benchmarks. */
class SchedSimBenchSmokeTest {
    @Test
    void schedSimWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "sched-sim", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("sched-sim.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"sched-sim\", \"metrics\": ["), json);
        for (String suffix : new String[] {"", "@uneven", "@2cpu"}) {
            for (String metric : new String[] {"converge_s", "migrations", "migrations_per_process",
                    "max_over_mean@10s"}) {
                assertTrue(json.contains("\"name\": \"" + metric + suffix + "\""), metric + suffix + " missing: " + json);
            }
        }
        assertTrue(json.contains("\"name\": \"makespan_ratio@uneven\""), json);
    }

    @Test
    void schedSimTakesItsOptions(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "sched-sim", "--only", "even", "--nodes", "8", "--loaded-fraction", "0.25",
                "--procs-per-node", "2", "--seconds", "12", "--seed", "5", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("sched-sim.json"));
        assertTrue(json.contains("\"name\": \"migrations\""), json);
        assertFalse(json.contains("@uneven"), "only part even ran: " + json);
        assertEquals(2, Krg.run("bench", "rpc", "--nodes", "8", "--out", out.toString()),
                "--nodes is an option of sched-sim only");
        assertEquals(2, Krg.run("bench", "sched-sim", "--nodes", "300", "--out", out.toString()));
    }
}
