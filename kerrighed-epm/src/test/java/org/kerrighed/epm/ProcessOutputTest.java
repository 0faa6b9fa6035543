package org.kerrighed.epm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a program prints with {@link ProcessContext#out()} reaches the node's standard output line by line. */
@Timeout(60)
class ProcessOutputTest {
    @Test
    void aFormattedLineIsOneLineAndAnUnendedLineComesOutAtExit() throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int pid;
        try (EpmNodes nodes = new EpmNodes(1)) {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            ClusterProcess p = nodes.epm(0).spawn(ctx -> {
                ctx.out().printf("pi ~ %.2f from %,d points%n", Math.PI, 1_000_000);
                ctx.out().print("no newline");
                return 0;
            }, SpawnOptions.defaults());
            pid = p.pid();
            assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(20)).orElseThrow());
        } finally {
            System.setOut(stdout);
        }
        String prefix = "[" + pid + "] ";
        assertEquals(prefix + "pi ~ 3.14 from 1,000,000 points" + System.lineSeparator() + prefix + "no newline"
                + System.lineSeparator(), captured.toString(StandardCharsets.UTF_8));
    }
}
