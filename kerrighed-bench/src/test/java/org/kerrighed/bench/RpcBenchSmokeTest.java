package org.kerrighed.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.node.cli.Krg;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code krg bench rpc} runs end to end (one tiny round) and writes its result file. Timings are not checked. */
class RpcBenchSmokeTest {
    @Test
    void rpcBenchWritesEveryRow(@TempDir Path out) throws Exception {
        assertEquals(0, Krg.run("bench", "rpc", "--smoke", "--json", "--out", out.toString()));
        String json = Files.readString(out.resolve("rpc.json"));
        assertTrue(json.startsWith("{\"benchmark\": \"rpc\", \"metrics\": ["), json);
        for (String metric : new String[]{"rtt_p50_64B", "rtt_p99_64B", "rtt_p50_4KiB", "rtt_p50_64B_blocking",
                "rtt_p50_64B_vthread", "throughput_64B"}) {
            assertTrue(json.contains("\"name\": \"" + metric + "\""), metric + " missing: " + json);
        }
    }

    @Test
    void unknownBenchmarkIsAUsageError() {
        assertEquals(2, Krg.run("bench", "nosuch"));
    }
}
