package org.kerrighed.node.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.node.Node;
import org.kerrighed.rpc.TypeRegistrar;

import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster file system's /proc on two real nodes: the process layer's views, generated on read. */
class ProcFsTest {
    static final TypeRegistrar TYPES = b -> b.range("krg-procfs-tests", 30_170, 30_179)
            .register(30_170, Idle.class);
    static CliNodes nodes;

    /** Sleeps until killed. */
    static final class Idle implements Program {
        @Override
        public int run(ProcessContext ctx) throws Exception {
            ctx.sleep(Duration.ofMinutes(5));
            return 0;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        nodes = new CliNodes("procfs", "procfs-secret-0123456789", TYPES);
    }

    @AfterAll
    static void stop() throws Exception {
        nodes.close();
    }

    @Test
    void procShowsProcessesAndNodesFromAnyNode() throws Exception {
        Node n0 = nodes.nodes.get(0);
        Node n1 = nodes.nodes.get(1);
        ClusterProcess p = n0.epm().spawn(new Idle(), SpawnOptions.defaults().onNode(1).name("idler"));
        try {
            Path proc = n0.fs().path("/proc");
            try (Stream<Path> s = Files.list(proc)) {
                List<String> names = s.map(x -> x.getFileName().toString()).toList();
                assertTrue(names.containsAll(List.of("loadavg", "meminfo", "cpuinfo", "nodes",
                        Integer.toString(p.pid()))), names.toString());
            }
            String status = Files.readString(n0.fs().path("/proc/" + p.pid() + "/status"));
            assertTrue(status.contains("Name:\tidler"), status);
            assertTrue(status.contains("Node:\t1"), status);
            assertTrue(status.contains("Pid:\t" + p.pid()), status);
            String load = Files.readString(n1.fs().path("/proc/loadavg"));
            assertTrue(load.matches("\\d+\\.\\d\\d \\d+\\.\\d\\d \\d+\\.\\d\\d \\d+/\\d+\\n"), load);
            assertTrue(Files.readString(n1.fs().path("/proc/nodes/0/loadavg")).endsWith("\n"));
            String mem = Files.readString(n0.fs().path("/proc/meminfo"));
            assertTrue(mem.startsWith("MemTotal:"), mem);
            long cpus = Files.readAllLines(n0.fs().path("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("processor")).count();
            assertEquals(2L * Runtime.getRuntime().availableProcessors(), cpus, "both nodes' processors");
            try (Stream<Path> s = Files.list(n1.fs().path("/proc/nodes"))) {
                assertEquals(List.of("0", "1"), s.map(x -> x.getFileName().toString()).sorted().toList());
            }
            assertThrows(AccessDeniedException.class, () -> Files.writeString(n0.fs().path("/proc/loadavg"), "x"));
            assertThrows(AccessDeniedException.class, () -> Files.delete(n0.fs().path("/proc/meminfo")));
        } finally {
            n0.epm().kill(p.pid(), Signal.KILL);
        }
    }
}
