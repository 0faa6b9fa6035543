package org.kerrighed.node;

import org.junit.jupiter.api.Test;
import org.kerrighed.scheduler.FilterSpec;
import org.kerrighed.scheduler.NodeSet;
import org.kerrighed.scheduler.ProcessSet;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The words of {@code krg sched} and of a scheduler file, parsed: each command, and the errors. */
class SchedChangeTest {
    private static SchedChange parse(String line) {
        return SchedChange.parse(SchedChange.words(line), Path.of("/etc/krg"));
    }

    private static String error(String line) {
        return assertThrows(IllegalArgumentException.class, () -> parse(line)).getMessage();
    }

    @Test
    void everyCommand() {
        assertEquals(new SchedChange.Defaults(), parse("defaults"));
        assertEquals(new SchedChange.Clear(), parse("  clear  "));
        assertEquals(new SchedChange.CreateProbe("p1", "load", 500, false, Map.of("k", "v")),
                parse("create probe p1 load period=500 k=v"));
        assertEquals(new SchedChange.CreateProbe("p1", "load", 1000, false, Map.of()), parse("create probe p1 load"));
        assertEquals(new SchedChange.CreateProbe("p1", "load", 1000, true, Map.of()),
                parse("create probe p1 load on_change=true"));
        assertEquals(new SchedChange.CreateScheduler("s", "mosix_balancer", ProcessSet.parse("groups:7"),
                NodeSet.parse("0,2"), Map.of("stab_factor", "150")),
                parse("create scheduler s mosix_balancer processes=groups:7 nodes=0,2 stab_factor=150"));
        assertEquals(new SchedChange.CreateScheduler("s", "round_robin", ProcessSet.ALL, NodeSet.ALL, Map.of()),
                parse("create scheduler s round_robin"));
        assertEquals(new SchedChange.Link("s", "local_load", "mosix", "mean_load", List.of(
                        FilterSpec.parse("threshold:threshold=1.5*mosix/single_process_load"),
                        FilterSpec.parse("freq_limit:min_interval=2000,last_event=migration/last_migration"))),
                parse("link s.local_load mosix/mean_load threshold:threshold=1.5*mosix/single_process_load"
                        + " freq_limit:min_interval=2000,last_event=migration/last_migration"));
        assertEquals(new SchedChange.Unlink("s", "remote_load"), parse("unlink s.remote_load"));
        assertEquals(new SchedChange.SetParams("s", Map.of("stab_factor", "", "nodes", "all")),
                parse("set s stab_factor= nodes=all"));
        assertEquals(new SchedChange.Remove("s"), parse("remove s"));
        assertEquals(new SchedChange.Load(Path.of("/etc/krg/plugins/pack-1.2.0-SNAPSHOT.jar"), "pack"),
                parse("load plugins/pack-1.2.0-SNAPSHOT.jar"));
        assertEquals(new SchedChange.Load(Path.of("/opt/p.jar"), "mine"), parse("load /opt/p.jar mine"));
        assertEquals(new SchedChange.Unload("pack"), parse("unload pack"));
    }

    @Test
    void pluginNamesComeFromTheFileName() {
        assertEquals("pack-policy", SchedChange.pluginName(Path.of("pack-policy-1.2.0-SNAPSHOT.jar")));
        assertEquals("pack-policy", SchedChange.pluginName(Path.of("lib/pack-policy-2.jar")));
        assertEquals("memaware", SchedChange.pluginName(Path.of("memaware_v3.1.jar")));
        assertEquals("plain", SchedChange.pluginName(Path.of("plain.jar")));
        assertEquals("foo-2fast", SchedChange.pluginName(Path.of("foo-2fast.jar")));
        assertEquals("no plugin name can be made from the file name '1.0.jar': give one (a letter, then up to 47"
                + " letters, digits, '_' or '-')", error("load 1.0.jar"));
    }

    @Test
    void badWordsSayWhatIsExpected() {
        assertEquals("missing arguments: create probe NAME TYPE [period=MS] [on_change=true] [KEY=VALUE...]", error("create probe p"));
        assertEquals("create what? create probe NAME TYPE [period=MS] [on_change=true] [KEY=VALUE...] | create scheduler NAME POLICY"
                + " [processes=SET] [nodes=SET] [KEY=VALUE...]", error("create widget w"));
        assertEquals("too many arguments: defaults", error("defaults now"));
        assertEquals("missing arguments: set NAME KEY=VALUE...", error("set s"));
        assertEquals("KEY=VALUE expected, got 'fast'", error("set s fast"));
        assertEquals("KEY=VALUE expected, got 'k='", error("create probe p load k="));
        assertEquals("k is given twice", error("set s k=1 k=2"));
        assertEquals("SCHEDULER.PORT expected, got 's'", error("unlink s"));
        assertEquals("PROBE/SOURCE expected, got 'mosix'", error("link s.p mosix"));
        assertEquals("bad filter 'threshold': filter threshold needs threshold=N or threshold=N*PROBE/SOURCE",
                error("link s.p mosix/mean_load threshold"));
        assertEquals("period must be a number of milliseconds, 1-3600000, not 'soon'",
                error("create probe p load period=soon"));
        assertEquals("probe p's period must be a number of milliseconds, 1-3600000, not '0'",
                error("create probe p load period=0"));
        assertEquals("bad probe name '1p': a letter, then up to 47 letters, digits, '_' or '-'",
                error("create probe 1p load"));
        assertEquals("bad process set 'some': all, pids:P,..., groups:G,... or sessions:S,...",
                error("create scheduler s rr processes=some"));
        assertEquals("no command: " + String.join(" | ", SchedChange.USAGE),
                assertThrows(IllegalArgumentException.class, () -> SchedChange.parse(List.of())).getMessage());
        assertEquals("unknown command 'start': " + String.join(" | ", SchedChange.USAGE), error("start"));
    }

    @Test
    void aFileHasOneCommandALineAndComments() {
        List<SchedChange.Line> lines = SchedChange.parseScript("""
                # the start-up schedulers
                defaults

                create probe cpu1 cpu period=500   # the JVMs' CPU use
                \tset mosix stab_factor=150
                """, "sched.conf", Path.of("/etc/krg"));
        assertEquals(List.of(2, 4, 5), lines.stream().map(SchedChange.Line::line).toList());
        assertEquals("create probe cpu1 cpu period=500", lines.get(1).text());
        assertEquals(new SchedChange.SetParams("mosix", Map.of("stab_factor", "150")), lines.get(2).change());
        assertEquals("sched.conf:3: PROBE/SOURCE expected, got 'mosix'", assertThrows(IllegalArgumentException.class,
                () -> SchedChange.parseScript("defaults\n\nlink mosix.local_load mosix\n", "sched.conf", null))
                .getMessage());
    }
}
