package org.kerrighed.node.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code krg demo} end to end: three node JVMs, the workload, a SIGKILL, a clean stop. */
class DemoTest {
    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void demoRunsTheWorkloadSeesTheKillAndLeavesNoJvmBehind() {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Krg.run("demo", "--json", "--calls", "50");
        } finally {
            System.setOut(out);
        }
        String json = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, json);
        // Every link of the 3 nodes (6), then of the 2 survivors (2), each with no error.
        assertEquals(8, count(json, "\"errors\": 0"), json);
        assertEquals(2, count(json, "\"declared_ms\""), json);      // both survivors saw the kill
        assertEquals(2, count(json, "\"exit_code\": 0"), json);     // both survivors left cleanly
        assertTrue(ProcessHandle.current().children().noneMatch(ProcessHandle::isAlive),
                "a node JVM outlived the demo");
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
