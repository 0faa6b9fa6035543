package org.kerrighed.node.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.testing.TestJars;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.scheduler.ClusterScheduler;
import org.kerrighed.scheduler.SchedulerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code krg sched} against two in-process nodes: changes made through one node seen through the other, the
 * listings, the counters, the refusals (one line, exit code 2), and a plugin JAR built here, loaded and unloaded.
 * Each test starts from an empty configuration (the previous test's is cleared and its plugins unloaded).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedCliTest {
    private static final String SECRET = Base64.getEncoder().encodeToString(new byte[]{5, 5, 5, 1, 2, 3, 4, 8, 7, 6,
            21, 22, 23, 24, 25, 26, 27, 28, 29, 30});

    static final TypeRegistrar TYPES = b -> b.range("krg-sched-tests", 30_160, 30_169)
            .register(30_160, Quick.class);

    /** Ends at once. */
    record Quick() implements Program {
        @Override
        public int run(ProcessContext ctx) {
            return 0;
        }
    }

    private CliNodes fixture;

    @BeforeAll
    void startNodes() throws IOException {
        fixture = new CliNodes("cli-sched-", SECRET, TYPES);
    }

    @AfterAll
    void stopNodes() throws IOException {
        fixture.close();
    }

    @BeforeEach
    void captureStreams() {
        fixture.beforeEach();
    }

    @AfterEach
    void clearConfiguration() throws InterruptedException {
        fixture.afterEach();
        ClusterScheduler s = fixture.nodes.get(0).scheduler();
        long v = s.clear();
        for (String plugin : s.config().plugins().keySet()) {
            v = s.unloadPlugin(plugin);
        }
        assertTrue(s.awaitApplied(v, Duration.ofSeconds(10)));
    }

    private int krg(String... args) {
        return fixture.krgVia(0, args);
    }

    /** Runs krg through node 0 and asserts it succeeded. */
    private String ok(String... args) {
        int code = krg(args);
        assertEquals(0, code, String.join(" ", args) + fixture.cli.printed());
        return fixture.cli.stdout();
    }

    /** Runs krg through node 0, asserts it failed with {@code code} and one line on stderr, and returns that line. */
    private String fails(int code, String... args) {
        assertEquals(code, krg(args), String.join(" ", args) + fixture.cli.printed());
        String err = fixture.cli.stderr().strip();
        assertFalse(err.isEmpty(), fixture.cli.printed());
        assertFalse(err.contains("\n"), "one line" + fixture.cli.printed());
        return err;
    }

    @Test
    void createLinkSetUnlinkRemoveRoundTripThroughEitherNode() {
        String out = ok("sched", "create", "probe", "p1", "load", "period=500");
        assertTrue(out.matches("(?s)configuration version \\d+\napplied by every node \\(0, 1\\)\n"), out);
        ok("sched", "create", "scheduler", "s1", "mosix_balancer", "nodes=0,1", "stab_factor=150");
        ok("sched", "link", "s1.local_load", "p1/runnable", "threshold:threshold=1",
                "freq_limit:min_interval=3000");
        SchedulerConfig seen = fixture.nodes.get(1).scheduler().config();
        assertEquals(500, seen.probes().get("p1").periodMillis(), "node 1 sees the change");
        assertEquals("p1/runnable | threshold:threshold=1 | freq_limit:min_interval=3000",
                seen.schedulers().get("s1").links().get("local_load").toString());

        assertEquals(0, fixture.krgVia(1, "sched", "list"), fixture.cli.printed());
        String list = fixture.cli.stdout();
        assertTrue(list.matches("(?s).*\ns1 +mosix_balancer +all +0,1 +local_load +stab_factor=150\n.*"), list);
        assertTrue(list.matches("(?s).*\np1 +load +500 ms +-\n.*"), list);
        assertTrue(list.contains("no plugin"), list);
        assertTrue(list.contains("policy mosix_balancer (built in)"), list);

        String show = ok("sched", "show");
        assertTrue(show.contains("scheduler s1: policy mosix_balancer, processes all, nodes 0,1, stab_factor=150\n"
                + "  local_load <- p1/runnable | threshold:threshold=1 | freq_limit:min_interval=3000\n"), show);
        assertTrue(show.contains("probe p1 (load, every 500 ms)"), show);

        ok("sched", "set", "s1", "stab_factor=", "processes=pids:5,7", "max_moves=2");
        ok("sched", "set", "p1", "period=250");
        show = ok("sched", "show");
        assertTrue(show.contains("scheduler s1: policy mosix_balancer, processes pids:5,7, nodes 0,1, max_moves=2\n"),
                show);
        assertTrue(show.contains("probe p1 (load, every 250 ms)"), show);

        String err = fails(2, "sched", "remove", "p1");
        assertEquals("sched remove: probe p1 feeds s1.local_load: unlink or remove those first", err);
        ok("sched", "unlink", "s1.local_load");
        ok("sched", "remove", "p1");
        assertEquals(0, fixture.krgVia(1, "sched", "remove", "s1"), fixture.cli.printed());
        list = ok("sched", "list");
        assertTrue(list.contains("no scheduler") && list.contains("no probe"), list);
    }

    @Test
    void aChangeInJsonSaysWhatEveryNodeApplied() {
        String out = ok("sched", "defaults", "--json");
        Map<String, Object> m = JsonText.object(out.strip());
        long version = (Long) m.get("version");
        assertEquals(true, m.get("applied"), out);
        assertEquals(Map.of("0", version, "1", version), m.get("nodes"), out);
        assertEquals(version, fixture.nodes.get(1).scheduler().applied().version());
        out = ok("sched", "clear", "--wait", "0");
        assertTrue(out.matches("configuration version \\d+\n"), "no wait: " + out);
    }

    @Test
    @SuppressWarnings("unchecked")
    void showAndListInJsonGiveTheWholeGraph() {
        ok("sched", "defaults");
        Map<String, Object> show = JsonText.object(ok("sched", "show", "--json").strip());
        List<Object> schedulers = (List<Object>) show.get("schedulers");
        assertEquals(List.of("rr", "mosix"), schedulers.stream().map(s -> ((Map<String, Object>) s).get("name"))
                .toList());
        Map<String, Object> mosix = (Map<String, Object>) schedulers.get(1);
        assertEquals("mosix_balancer", mosix.get("policy"));
        Map<String, Object> ports = (Map<String, Object>) mosix.get("ports");
        assertEquals(Map.of("source", "mosix/mean_load", "filters",
                        List.of("threshold:threshold=1.5*mosix/single_process_load",
                                "freq_limit:last_event=migration/last_migration,min_interval=2000")),
                ports.get("local_load"));
        assertEquals(Map.of("source", "mosix/current_load", "filters", List.of("remote_cache:polling=1000")),
                ports.get("remote_load"));
        assertEquals(List.of("migration", "mosix"), ((List<Object>) show.get("probes")).stream()
                .map(p -> ((Map<String, Object>) p).get("name")).toList());

        Map<String, Object> list = JsonText.object(ok("sched", "list", "--json").strip());
        assertEquals(show.get("schedulers"), list.get("schedulers"));
        assertTrue(((List<Object>) list.get("types")).stream()
                .anyMatch(t -> ((String) t).startsWith("policy round_robin (built in)")), list.toString());

        String text = ok("sched", "show");
        assertTrue(text.contains("scheduler mosix: policy mosix_balancer, processes all, nodes all\n"
                + "  local_load <- mosix/mean_load | threshold:threshold=1.5*mosix/single_process_load"
                + " | freq_limit:last_event=migration/last_migration,min_interval=2000\n"), text);
    }

    @Test
    @SuppressWarnings("unchecked")
    void statsCountThePlacementsOfEveryNode() throws Exception {
        ok("sched", "defaults");
        for (int i = 0; i < 4; i++) {
            ClusterProcess p = fixture.nodes.get(0).epm().spawn(new Quick(), SpawnOptions.defaults());
            fixture.started.add(p);
            assertEquals(0, p.waitFor().code());
        }
        Map<String, Object> m = JsonText.object(ok("sched", "stats", "--json").strip());
        List<Object> nodes = (List<Object>) m.get("nodes");
        assertEquals(2, nodes.size(), m.toString());
        long placed = 0;
        for (Object o : nodes) {
            Map<String, Object> n = (Map<String, Object>) o;
            assertEquals(m.get("version"), n.get("version"), "every node applied the defaults: " + m);
            List<Object> scheds = (List<Object>) n.get("schedulers");
            assertEquals(Set.of("rr", "mosix"), scheds.stream().map(s -> ((Map<String, Object>) s).get("scheduler"))
                    .collect(java.util.stream.Collectors.toSet()), m.toString());
            for (Object s : scheds) {
                Map<String, Object> st = (Map<String, Object>) s;
                if (st.get("scheduler").equals("rr") && n.get("node").equals(0L)) {
                    placed += (Long) st.get("placements");
                }
                assertNull(st.get("disabled"), m.toString());
            }
        }
        assertEquals(4, placed, "node 0's rr placed the 4 processes: " + m);
        String text = ok("sched", "stats");
        assertTrue(text.contains("NODE  VERSION  SCHEDULER  POLICY"), text);
        assertTrue(text.matches("(?s).*\n *0 +\\d+ +rr +round_robin +0 +4 +0 +0 +0 +running\n.*"), text);
    }

    @Test
    void refusalsAreOneLineWithExitCode2() {
        assertEquals("sched create scheduler: no policy type 'nope' on node 0 (there are: mosix_balancer,"
                + " round_robin)", fails(2, "sched", "create", "scheduler", "s2", "nope"));
        assertTrue(fails(2, "sched", "create", "probe", "q", "nope").startsWith(
                "sched create probe: no probe type 'nope' on node 0 (there are: "));
        ok("sched", "create", "scheduler", "s3", "mosix_balancer");
        ok("sched", "create", "probe", "dup", "load");
        assertEquals("sched create probe: the name 'dup' is in use: remove it first",
                fails(2, "sched", "create", "probe", "dup", "cpu"));
        assertEquals("sched create scheduler: the name 's3' is in use: remove it first",
                fails(2, "sched", "create", "scheduler", "s3", "round_robin"));
        assertEquals("sched link: policy mosix_balancer of scheduler s3 has no port 'foo' (it has local_load,"
                        + " process_load, remote_load, single_process_load)",
                fails(2, "sched", "link", "s3.foo", "dup/runnable"));
        assertEquals("sched link: no scheduler named 'nobody'", fails(2, "sched", "link", "nobody.x", "dup/runnable"));
        assertEquals("sched link: bad filter 'bogus': no filter type 'bogus': threshold, freq_limit or remote_cache",
                fails(2, "sched", "link", "s3.x", "dup/runnable", "bogus"));
        assertEquals("sched link: bad filter 'threshold:foo=1': filter threshold has no parameter 'foo' (it has"
                + " threshold)", fails(2, "sched", "link", "s3.x", "dup/runnable", "threshold:foo=1"));
        assertEquals("sched link: SCHEDULER.PORT expected, got 's3'", fails(2, "sched", "link", "s3", "dup/runnable"));
        assertEquals("sched set: no probe or scheduler named 'ghost'", fails(2, "sched", "set", "ghost", "a=1"));
        assertEquals("sched remove: no probe or scheduler named 'ghost'", fails(2, "sched", "remove", "ghost"));
        assertEquals("sched create probe: period must be a number of milliseconds, 1-3600000, not 'soon'",
                fails(2, "sched", "create", "probe", "p9", "load", "period=soon"));
        assertTrue(fails(2, "sched", "create", "scheduler", "s4", "round_robin", "nodes=x").startsWith(
                "sched create scheduler: bad node set 'x'"));
        assertEquals("sched unload: no plugin named 'ghost'", fails(2, "sched", "unload", "ghost"));
        Path missing = fixture.dir.resolve("missing-1.0.jar");
        assertEquals("sched load: JAR: no such file: " + missing, fails(2, "sched", "load", missing.toString()));
        assertEquals("sched load: --wait: must be in 0-600, got 601",
                fails(2, "sched", "load", missing.toString(), "--wait", "601"));
        // wrong arguments, found by picocli
        assertEquals(2, krg("sched", "create", "probe", "onlyname"), fixture.cli.printed());
        assertTrue(fixture.cli.stderr().contains("Missing required parameter: 'TYPE'"), fixture.cli.printed());
        assertEquals(2, krg("sched", "set", "s3"), fixture.cli.printed());
        assertEquals(2, krg("sched", "frobnicate"), fixture.cli.printed());
        assertEquals(2, krg("sched", "defaults", "extra"), fixture.cli.printed());
        String list = ok("sched", "list");
        assertFalse(list.contains("s4") || list.contains("p9") || list.contains("q "), "nothing refused was made: "
                + list);
    }

    @Test
    void aPluginJarIsLoadedUsedAndUnloaded() throws Exception {
        Path jar = TestJars.build(fixture.dir.resolve("tiny-policy-1.0.2.jar"), Map.of("tinyplugin.FirstNode", """
                package tinyplugin;

                import org.kerrighed.scheduler.NewProcess;
                import org.kerrighed.scheduler.Policy;
                import org.kerrighed.scheduler.PolicyContext;
                import org.kerrighed.scheduler.PolicyFactory;
                import java.util.Set;

                public final class FirstNode implements PolicyFactory {
                    public String type() {
                        return "first_node";
                    }

                    public String description() {
                        return "places every new process on the first node of its set";
                    }

                    public Policy create() {
                        return new Policy() {
                            public Set<String> ports() {
                                return Set.of();
                            }

                            public int place(NewProcess p, PolicyContext ctx) {
                                return ctx.nodes().length == 0 ? NO_CHOICE : ctx.nodes()[ctx.nodes().length - 1];
                            }
                        };
                    }
                }
                """), Map.of("META-INF/services/org.kerrighed.scheduler.PolicyFactory", "tinyplugin.FirstNode\n"));
        String out = ok("sched", "load", jar.toString());
        assertTrue(out.matches("(?s)plugin tiny-policy \\(sha256 [0-9a-f]{12}\\): first_node\nconfiguration version"
                + " \\d+\napplied by every node \\(0, 1\\)\n"), out);
        assertTrue(fixture.nodes.get(1).scheduler().componentTypes().stream()
                .anyMatch(t -> t.startsWith("policy first_node (plugin tiny-policy)")), "node 1 loaded it");
        String list = ok("sched", "list");
        assertTrue(list.matches("(?s).*\ntiny-policy +[0-9a-f]{12} +first_node +0\n.*"), list);

        ok("sched", "create", "scheduler", "last", "first_node");
        ClusterProcess p = fixture.nodes.get(0).epm().spawn(new Quick(), SpawnOptions.defaults());
        fixture.started.add(p);
        assertEquals(1, p.node(), "the plugin's policy placed it on the last node");
        p.waitFor();

        assertEquals("sched unload: plugin tiny-policy is in use by scheduler last: remove those first",
                fails(2, "sched", "unload", "tiny-policy"));
        ok("sched", "remove", "last");
        ok("sched", "unload", "tiny-policy");
        assertTrue(ok("sched", "list").contains("no plugin"));
        assertTrue(fixture.nodes.get(1).scheduler().componentTypes().stream().noneMatch(t -> t.contains("first_node")),
                "node 1 unloaded it");

        Path broken = TestJars.build(fixture.dir.resolve("broken.jar"), Map.of("tinyplugin.Unrelated",
                        "package tinyplugin; public final class Unrelated { }"),
                Map.of("META-INF/services/org.kerrighed.scheduler.PolicyFactory", "tinyplugin.Missing\n"));
        String err = fails(2, "sched", "load", broken.toString(), "--name", "broken");
        assertTrue(err.startsWith("sched load: plugin broken refused: "), err);
        assertTrue(err.contains("tinyplugin.Missing"), err);
        assertTrue(ok("sched", "list").contains("no plugin"), "nothing recorded");
    }
}
