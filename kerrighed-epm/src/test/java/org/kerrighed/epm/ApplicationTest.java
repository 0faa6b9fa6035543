package org.kerrighed.epm;

import org.kerrighed.epm.testing.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kerrighed.rpc.KerrighedException;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Application JARs on 3 in-process nodes: a JAR built at test time (its classes on no classpath) is installed on
 * node 0 and its programs run elsewhere; the JAR is fetched once per node, children and results of its classes
 * travel as images, and bad JARs and classes are refused.
 */
@Timeout(60)
class ApplicationTest {
    /**
     * A Program main: no argument, exits 7; {@code child N}: a Worker on node N; {@code task N}: a Callable there;
     * {@code lambda N}: tries a lambda there, exits 5 when refused.
     */
    static final String MAIN = """
            package demoapp;

            import org.kerrighed.epm.*;

            public class Main implements Program {
                @Override
                public int run(ProcessContext ctx) throws Exception {
                    if (ctx.args().isEmpty()) {
                        return 7;
                    }
                    int node = Integer.parseInt(ctx.args().get(1));
                    if (ctx.args().get(0).equals("lambda")) {
                        try {
                            ctx.spawn(c -> 0, SpawnOptions.defaults().onNode(node));
                            return 0;
                        } catch (IllegalArgumentException e) {
                            return e.getMessage().contains("a lambda never travels") ? 5 : 6;
                        }
                    }
                    if (ctx.args().get(0).equals("task")) {
                        ClusterExecutorService ex = new ClusterExecutorService(ctx.epm(), SpawnOptions.defaults().onNode(node));
                        ctx.setResult(new Box("square " + ex.submit(new Square(6)).get()));
                        return 0;
                    }
                    ClusterProcess c = ctx.spawn(new Worker(21, new Box("w")), SpawnOptions.defaults().onNode(node));
                    ProcessContext.ChildExit e = ctx.waitAny();
                    Box b = (Box) e.result();
                    ctx.setResult(new Box(b.s() + "@" + c.node()));
                    return e.status().code();
                }
            }
            """;
    /** No no-arg constructor: created without one on the node it travels to. */
    static final String WORKER = """
            package demoapp;

            import org.kerrighed.epm.*;

            class Worker implements Program {
                private final int n;
                private final Box box;

                Worker(int n, Box box) {
                    this.n = n;
                    this.box = box;
                }

                @Override
                public int run(ProcessContext ctx) {
                    ctx.setResult(new Box(box.s() + ctx.node()));
                    return n * 2;
                }
            }
            """;
    static final String BOX = """
            package demoapp;

            public record Box(String s) {
            }
            """;
    static final String SQUARE = """
            package demoapp;

            public record Square(int x) implements java.util.concurrent.Callable<Integer> {
                public Integer call() {
                    return x * x;
                }
            }
            """;
    /** A static main: adds its argument count to the cluster atomic named by its first argument. */
    static final String STATIC_MAIN = """
            package demoapp;

            public class StaticMain {
                public static void main(String[] args) {
                    org.kerrighed.epm.ClusterThread.context().orElseThrow().ipc().atomicLong(args[0])
                            .addAndGet(args.length);
                }
            }
            """;
    static final String NOT_RUNNABLE = """
            package demoapp;

            public class NotRunnable {
                public void main(String[] args) {
                }
            }
            """;
    /** A Program whose class is not public (its constructor is): exits 9. */
    static final String QUIET = """
            package demoapp;

            class Quiet implements org.kerrighed.epm.Program {
                public Quiet() {
                }

                @Override
                public int run(org.kerrighed.epm.ProcessContext ctx) {
                    return 9;
                }
            }
            """;
    static final Map<String, String> SOURCES = Map.of("demoapp.Main", MAIN, "demoapp.Worker", WORKER, "demoapp.Box",
            BOX, "demoapp.Square", SQUARE, "demoapp.StaticMain", STATIC_MAIN, "demoapp.NotRunnable", NOT_RUNNABLE,
            "demoapp.Quiet", QUIET);

    static EpmNodes nodes;
    static Path jar;
    static String app;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        nodes = new EpmNodes(3);
        jar = TestJars.build(dir.resolve("app.jar"), SOURCES, Map.of());
        app = nodes.epm(0).applications().install(jar);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    static SpawnOptions on(int node, String... args) {
        return SpawnOptions.defaults().onNode(node).args(args);
    }

    @Test
    void theAppsClassesAreOnNoClasspath() {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("demoapp.Main"));
        assertEquals(64, app.length());
        assertTrue(nodes.epm(0).applications().has(app));
    }

    @Test
    void aMainRunsOnANodeThatFetchesTheJarOnceAndCachesIt() throws Exception {
        Applications on1 = nodes.epm(1).applications();
        int before = on1.fetches();
        AppMain main = nodes.epm(0).applications().main(app, "demoapp.Main");
        assertEquals(ExitStatus.exited(7), nodes.epm(0).spawn(main, on(1)).waitFor());
        assertTrue(on1.has(app));
        assertTrue(on1.fetches() <= before + 1, "fetched at most once");
        int after = on1.fetches();
        assertEquals(ExitStatus.exited(7), nodes.epm(0).spawn(main, on(1)).waitFor());
        assertEquals(after, on1.fetches(), "the second run uses the cached JAR");
        assertTrue(Files.isRegularFile(nodes.kddm(1).storage().resolve("epm-apps").resolve(app + ".jar")));
    }

    @Test
    void aChildOfAnAppClassRunsOnAThirdNodeAndResultsOfAppClassesComeBack() throws Exception {
        AppMain main = nodes.epm(0).applications().main(app, "demoapp.Main");
        ClusterProcess p = nodes.epm(0).spawn(main, on(1, "child", "2")
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(42), p.waitFor());
        Object result = p.result().orElseThrow();
        assertEquals("demoapp.Box", result.getClass().getName());
        assertEquals("Box[s=w2@2]", result.toString());
        assertTrue(nodes.epm(2).applications().has(app), "node 2 fetched the JAR to read the child's image");
    }

    @Test
    void aTaskOfAnAppClassRunsOnAnotherNodeThroughTheExecutor() throws Exception {
        AppMain main = nodes.epm(0).applications().main(app, "demoapp.Main");
        ClusterProcess p = nodes.epm(0).spawn(main, on(2, "task", "1")
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(0), p.waitFor());
        assertEquals("Box[s=square 36]", p.result().orElseThrow().toString());
    }

    @Test
    void aStaticMainRunsWithTheProcessArguments() throws Exception {
        AppMain main = nodes.epm(0).applications().main(app, "demoapp.StaticMain");
        ClusterProcess p = nodes.epm(0).spawn(main, on(2, "static-main-count", "b", "c"));
        assertEquals(ExitStatus.exited(0), p.waitFor());
        assertEquals(3, nodes.ipc(0).atomicLong("static-main-count").get());
    }

    @Test
    void aProgramClassNeedNotBePublic() throws Exception {
        AppMain main = nodes.epm(0).applications().main(app, "demoapp.Quiet");
        assertEquals(ExitStatus.exited(9), nodes.epm(0).spawn(main, on(1)).waitFor());
    }

    @Test
    void aLambdaOfTheAppDoesNotTravel() throws Exception {
        AppMain main = nodes.epm(0).applications().main(app, "demoapp.Main");
        ClusterProcess p = nodes.epm(0).spawn(main, on(1, "lambda", "2")
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        assertEquals(ExitStatus.exited(5), p.waitFor());
    }

    @Test
    void aMissingOrUnrunnableMainClassIsAClearError() throws Exception {
        Applications apps = nodes.epm(0).applications();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> apps.main(app, "demoapp.Nope"));
        assertEquals("no class demoapp.Nope in application " + app.substring(0, 12), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> apps.main(app, "demoapp.NotRunnable"));
        assertTrue(e.getMessage().contains("is neither a Program (with a public no-arg constructor) nor has a public"
                + " static void main(String[])"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> apps.main(app, "demoapp.Worker"));
        assertTrue(e.getMessage().contains("has no public no-arg constructor"), e.getMessage());

        ClusterProcess p = nodes.epm(0).spawn(new AppMain(app, 0, "demoapp.Nope"), on(1));
        ExitStatus s = p.waitFor();
        assertEquals(1, s.code());
        assertTrue(s.reason().contains("no class demoapp.Nope"), s.reason());
    }

    @Test
    void badJarsAreRefused(@TempDir Path dir) throws Exception {
        Applications apps = nodes.epm(0).applications();
        byte[] bytes = Files.readAllBytes(jar);
        String wrong = "0".repeat(64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> apps.install(new ByteArrayInputStream(bytes), wrong));
        assertTrue(e.getMessage().contains("its checksum is " + app + ", not " + wrong), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> apps.install(new ByteArrayInputStream("not a jar".getBytes()), null));
        assertTrue(e.getMessage().contains("not a JAR file"), e.getMessage());
        assertFalse(apps.has(wrong));
        assertThrows(IllegalArgumentException.class, () -> apps.has("../../etc/passwd"));

        // node 0's copy of a second application goes bad: node 2 refuses what node 0 sends
        String other = apps.install(TestJars.build(dir.resolve("other.jar"), SOURCES, Map.of("version.txt", "2")));
        Path cached = nodes.kddm(0).storage().resolve("epm-apps").resolve(other + ".jar");
        byte[] tampered = Files.readAllBytes(cached);
        tampered[tampered.length / 2] ^= 1;
        Files.write(cached, tampered);
        ExitStatus s = nodes.epm(0).spawn(new AppMain(other, 0, "demoapp.Main"), on(2)).waitFor();
        assertEquals(1, s.code());
        assertTrue(s.reason().contains("fetched from node 0 refused: its checksum is "), s.reason());
        assertFalse(nodes.epm(2).applications().has(other));

        // and node 0 itself notices when it loads it
        KerrighedException k = assertThrows(KerrighedException.class, () -> apps.main(other, "demoapp.Main"));
        assertTrue(k.getMessage().contains("copy of application " + other.substring(0, 12) + " was corrupt"),
                k.getMessage());
        assertFalse(apps.has(other));
    }
}
