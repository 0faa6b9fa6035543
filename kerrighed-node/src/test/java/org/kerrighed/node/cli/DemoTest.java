package org.kerrighed.node.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code krg demo} end to end: three node JVMs, the workload, pi computed by processes on every node (the job
 * checkpointed, killed and restarted, one of its workers migrated mid-run), the default schedulers spreading
 * processes started on one node and placing new ones, KDDM counters moving, a SIGKILL they survive, a clean stop.
 */
class DemoTest {
    @Test
    @SuppressWarnings("unchecked")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void demoRunsTheWorkloadSeesTheKillAndLeavesNoJvmBehind() {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Krg.run("demo", "--json", "--calls", "50", "--rounds", "5");
        } finally {
            System.setOut(out);
        }
        String json = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, json);
        // Every link of the 3 nodes (6), then of the 2 survivors (2), each with no error.
        assertEquals(8, count(json, "\"errors\": 0"), json);
        assertEquals(2, count(json, "\"declared_ms\""), json);      // both survivors saw the kill
        assertEquals(2, count(json, "\"exit_code\": 0"), json);     // both survivors left cleanly
        // KDDM: 3 turns of 5 writes per counter, 3 nodes at once, then one more write by the victim: 31. Every
        // owner had that value after the reads, before the kill and after it.
        assertTrue(json.contains("\"expected\": 31"), json);
        assertEquals(3, count(json, "\"all_expected\": true"), json);
        assertTrue(json.contains("\"survived\": true"), json);
        assertEquals(4, count(json, "\"state\": \"WRITE_OWNER\", \"value\": 31"), "the victim owned the 4 counters" + json);
        // Processes: node 0's job placed its 6 workers round robin and their counts make pi (1,200,000,000 points:
        // the standard error is under 1e-4).
        assertTrue(json.contains("\"worker_nodes\": [0, 1, 2, 0, 1, 2]"), json);
        Map<String, Object> processes = (Map<String, Object>) JsonText.object(json.strip()).get("processes");
        // The job was checkpointed and killed, then restarted with the same pids on the same nodes; unless it ended
        // first (a machine fast enough to count its points before the ps), which the demo says.
        Map<String, Object> restart = (Map<String, Object>) processes.get("restart");
        if (restart.get("stopped") == null) {
            Map<String, Object> checkpoint = (Map<String, Object>) restart.get("checkpoint");
            assertEquals(processes.get("job"), checkpoint.get("app"), json);
            assertEquals(true, checkpoint.get("killed"), json);
            List<Object> saved = (List<Object>) checkpoint.get("pids");
            List<Object> restarted = ((List<Object>) restart.get("processes")).stream()
                    .map(p -> ((Map<String, Object>) p).get("pid")).toList();
            assertEquals(new java.util.HashSet<>(saved), new java.util.HashSet<>(restarted), json);
        }
        // One worker moved mid-run (the one with the most work left): from its node to node 2, or from node 2 to 0;
        // unless it ended first (a machine slow to start the others), which the demo says.
        Map<String, Object> migration = (Map<String, Object>) processes.get("migration");
        List<Object> moves = (List<Object>) migration.get("moves");
        if (moves.isEmpty()) {
            assertNotNull(migration.get("stopped"), json);
        } else {
            Map<String, Object> move = (Map<String, Object>) moves.getFirst();
            assertEquals(migration.get("pid"), move.get("pid"), json);
            assertEquals(move.get("from").equals(2L) ? 0L : 2L, move.get("to"), json);
            assertEquals(move.get("to"), moves.size() == 2 ? ((Map<String, Object>) moves.get(1)).get("from")
                    : migration.get("node"), json);
        }
        // Scheduler: the defaults installed, six CPU-bound processes started on node 0, at least one moved by the
        // mosix balancer (its counters and the processes themselves say so), every step run once; then one process
        // per node placed by rr.
        Map<String, Object> sched = (Map<String, Object>) JsonText.object(json.strip()).get("scheduler");
        assertTrue((Long) sched.get("migrations") >= 1, "the balancer moved a process: " + sched);
        List<Object> spins = (List<Object>) sched.get("processes");
        assertEquals(6, spins.size(), json);
        long moved = 0;
        for (Object o : spins) {
            Map<String, Object> p = (Map<String, Object>) o;
            assertEquals(0L, p.get("started_on"), json);
            assertEquals("exited 0", p.get("status"), json);
            assertEquals(400L, p.get("steps"), json);
            moved += (Long) p.get("moves");
        }
        assertTrue(moved >= 1, "a process found itself on another node: " + sched);
        assertEquals(java.util.Set.of(0L, 1L, 2L), ((List<Object>) sched.get("placed")).stream()
                .map(p -> ((Map<String, Object>) p).get("started_on")).collect(java.util.stream.Collectors.toSet()),
                json);
        assertEquals(3L, sched.get("placements"), json);
        Matcher error = Pattern.compile("\"error\": ([-0-9.eE]+)").matcher(json);
        assertTrue(error.find(), json);
        assertTrue(Double.parseDouble(error.group(1)) < 0.01, "pi off by " + error.group(1));
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
