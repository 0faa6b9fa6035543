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
 * processes started on one node and placing new ones, KDDM counters moving, a file of the cluster file system
 * written by the node about to be killed and read from the others before and after the SIGKILL, which the counters
 * survive too, a clean stop.
 */
class DemoTest {
    @Test
    @SuppressWarnings("unchecked")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void demoRunsTheWorkloadSeesTheKillAndLeavesNoJvmBehind() {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        ByteArrayOutputStream narrative = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(narrative, true, StandardCharsets.UTF_8));
            code = Krg.run("demo", "--json", "--calls", "50", "--rounds", "5");
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        String json = captured.toString(StandardCharsets.UTF_8);
        String text = narrative.toString(StandardCharsets.UTF_8);
        err.print(text);
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
        checkFileSystem(json, text);
        Matcher error = Pattern.compile("\"error\": ([-0-9.eE]+)").matcher(json);
        assertTrue(error.find(), json);
        assertTrue(Double.parseDouble(error.group(1)) < 0.01, "pi off by " + error.group(1));
        assertTrue(ProcessHandle.current().children().noneMatch(ProcessHandle::isAlive),
                "a node JVM outlived the demo");
    }

    /**
     * File system: node 2 (the victim) wrote 16 MiB with replication 2, so it holds a copy of each of the 4 chunks and
     * the others hold the second copies; node 0 read the same bytes back before the kill, and both survivors after
     * it, with no chunk lost.
     */
    @SuppressWarnings("unchecked")
    private static void checkFileSystem(String json, String text) {
        Map<String, Object> summary = JsonText.object(json.strip());
        Map<String, Object> fs = (Map<String, Object>) summary.get("fs");
        assertEquals(2L, fs.get("writer"), json);
        assertEquals(16L << 20, fs.get("bytes"), json);
        assertEquals(2L, fs.get("replication"), json);
        assertEquals(4L, fs.get("chunks"), json);
        assertEquals(0L, fs.get("lost"), json);
        Map<Object, Object> chunks = new java.util.TreeMap<>();
        for (Object o : (List<Object>) fs.get("storage")) {
            Map<String, Object> n = (Map<String, Object>) o;
            chunks.put(n.get("node"), n.get("chunks"));
        }
        assertEquals(4L, chunks.get(2L), "the writer holds a copy of every chunk: " + chunks);
        assertEquals(8L, chunks.values().stream().mapToLong(c -> (Long) c).sum(), "two copies of 4 chunks: " + chunks);
        String sha = (String) fs.get("sha256");
        List<Object> before = (List<Object>) fs.get("reads");
        assertEquals(0L, ((Map<String, Object>) before.getFirst()).get("node"), json);
        assertEquals(sha, ((Map<String, Object>) before.getFirst()).get("sha256"), json);

        Map<String, Object> after = (Map<String, Object>) summary.get("fs_after_failure");
        List<Object> reads = (List<Object>) after.get("reads");
        assertEquals(List.of(0L, 1L), reads.stream().map(r -> ((Map<String, Object>) r).get("node")).toList(), json);
        for (Object r : reads) {
            assertEquals(sha, ((Map<String, Object>) r).get("sha256"), "a survivor read the bytes written: " + json);
        }
        assertEquals(0L, after.get("lost"), json);
        assertTrue(((List<Object>) after.get("storage")).stream()
                .noneMatch(n -> ((Map<String, Object>) n).get("node").equals(2L)), "the dead node is not listed");

        assertTrue(Pattern.compile("(?m)^\\[ *[0-9.]+s\\] node 2 wrote 16\\.0 MiB in .*, replication 2, SHA-256 "
                + sha.substring(0, 16)).matcher(text).find(), text);
        assertEquals(3, Pattern.compile("(?m)^\\[ *[0-9.]+s\\] node [01] read 16\\.0 MiB in .*: the same SHA-256$")
                .matcher(text).results().count(), text);
        assertTrue(text.contains("NODE  CHUNKS  USED"), text);
        assertTrue(text.contains("4 chunks in all files, 0 under-replicated, 0 lost"), text);
        assertTrue(text.contains("each survivor reads it:"), text);
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
