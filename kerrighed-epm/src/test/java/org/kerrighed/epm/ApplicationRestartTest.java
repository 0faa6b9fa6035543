package org.kerrighed.epm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.epm.testing.TestJars;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A program of an application JAR restarted from its checkpoint after the nodes that held the JAR died (3 in-process
 * nodes per test, since each crashes one): the checkpoint carries the JAR, and a node that must read a ghost of the
 * application fetches the JAR from any live node that holds it when the node that wrote the ghost is gone.
 */
@Timeout(60)
class ApplicationRestartTest {
    /** Counts 30 steps of 20 ms, then gives its count (an object of the application's class) as its result. */
    static final String COUNTER = """
            package ckptapp;

            import org.kerrighed.epm.*;

            public class Counter implements StepProgram {
                int steps;

                @Override
                public boolean step(ProcessContext ctx) throws InterruptedException {
                    ctx.sleep(java.time.Duration.ofMillis(20));
                    if (++steps < 30) {
                        return false;
                    }
                    ctx.setResult(new Count(steps));
                    return true;
                }
            }
            """;
    static final String COUNT = """
            package ckptapp;

            public record Count(int steps) {
            }
            """;
    static final Capabilities CKPT = Capabilities.DEFAULT.plus(Capability.CHECKPOINTABLE);

    @TempDir
    Path dir;
    EpmNodes nodes;

    @AfterEach
    void stop() {
        if (nodes != null) {
            nodes.close();
        }
    }

    /** Installs the JAR on node {@code holder}, runs its counter on node 1 and checkpoints it, killing it. */
    private CheckpointReport checkpointedCounter(int holder) throws Exception {
        nodes = new EpmNodes(3);
        Path jar = TestJars.build(dir.resolve("ckptapp.jar"), Map.of("ckptapp.Counter", COUNTER, "ckptapp.Count",
                COUNT), Map.of());
        String app = nodes.epm(holder).applications().install(jar);
        AppMain main = nodes.epm(holder).applications().main(app, "ckptapp.Counter");
        ClusterProcess p = nodes.epm(holder).spawn(main, SpawnOptions.defaults().onNode(1).capabilities(CKPT));
        Thread.sleep(100);
        CheckpointReport v = nodes.epm(0).checkpoint(p.pid(), CheckpointOptions.defaults()
                .inDirectory(dir.resolve("ckpt")).thenKill());
        assertEquals(List.of(1), v.nodes());
        Path carried = v.directory().resolve("app-" + app + ".jar");
        assertTrue(Files.isRegularFile(carried), "the checkpoint carries the JAR");
        assertEquals(app, Applications.checksum(carried));
        assertFalse(nodes.epm(2).applications().has(app), "node 2 never ran the application");
        return v;
    }

    private static void assertCountedToTheEnd(Restarted r) throws Exception {
        assertEquals(ExitStatus.exited(0), r.root().waitFor(Duration.ofSeconds(30)).orElseThrow());
        Object result = r.root().result().orElseThrow();
        assertEquals("ckptapp.Count", result.getClass().getName());
        assertEquals("Count[steps=30]", result.toString());
    }

    @Test
    void aRestartAfterEveryHolderOfTheJarDiedInstallsItFromTheCheckpoint() throws Exception {
        CheckpointReport v = checkpointedCounter(1);            // node 1 held the JAR and ran the program
        String app = Applications.checksum(dir.resolve("ckptapp.jar"));
        Files.delete(nodes.kddm(0).storage().resolve("epm-apps").resolve(app + ".jar"));   // fetched to checkpoint
        nodes.crash(1);                                         // no live node holds the JAR now
        int fetches = nodes.epm(2).applications().fetches();
        Restarted r = nodes.epm(2).restart(v.directory(), RestartOptions.defaults().onNodes(List.of(2)));
        assertEquals(Map.of(r.root().pid(), 2), r.nodes());
        assertCountedToTheEnd(r);
        assertEquals(fetches, nodes.epm(2).applications().fetches(), "installed from the checkpoint, not fetched");
    }

    @Test
    void aNodeReadingAGhostFetchesTheJarFromAnotherHolderWhenItsWriterIsGone() throws Exception {
        CheckpointReport v = checkpointedCounter(0);            // node 0 installed it, node 1 fetched it and ran it
        Files.delete(v.directory().resolve("app-" + Applications.checksum(dir.resolve("ckptapp.jar")) + ".jar"));
        nodes.crash(1);                                         // the ghost names node 1 as the JAR's holder
        int fetches = nodes.epm(2).applications().fetches();
        Restarted r = nodes.epm(2).restart(v.directory(), RestartOptions.defaults().onNodes(List.of(2)));
        assertCountedToTheEnd(r);
        assertEquals(fetches + 1, nodes.epm(2).applications().fetches(), "fetched once, from node 0");
    }
}
