package org.kerrighed.bench;

import org.kerrighed.node.cli.Output;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code krg bench NAME [--quick] [--only PART,...] [--json]}: runs a benchmark, prints its table and writes
 * {@code bench-results/NAME.json}. Exit code 0 when it ran (goals met or not: the table says), 1 when it
 * failed to run, 2 for an unknown name.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Runs a benchmark against its peer and writes bench-results/NAME.json.",
                "Ours and the peer run in alternating rounds of the same run; the table",
                "gives medians and the median of the per-round ratios. Benchmarks: rpc",
                "(against raw Netty), membership (against Hazelcast), kddm (against",
                "ConcurrentHashMap, Kerrighed RPC and Hazelcast IMap), mm (shared",
                "memory against local memory and Kerrighed RPC), ipc (locks, barriers",
                "and queues against Hazelcast, the JDK and Kerrighed RPC), epm (distant",
                "fork against Hazelcast's executor service and Kerrighed RPC), migration",
                "(process migration against an RPC round trip of its ghost's bytes), sched",
                "(makespan of CPU-bound processes under the default scheduler on two pinned",
                "cores against Hazelcast's executor service and no scheduler; policy swaps),",
                "sched-sim (the default scheduler on 256 simulated nodes: balance over",
                "time, migrations, time to converge; no peer), fs (the cluster file system's",
                "sequential writes and reads and small-file creation against the local file",
                "system and a raw Netty bulk transfer)."})
public final class BenchCommand implements Callable<Integer> {
    static final Map<String, Benchmark> BENCHMARKS = new LinkedHashMap<>();

    static {
        for (Benchmark b : List.of(new RpcBench(), new MembershipBench(), new KddmBench(), new MmBench(),
                new IpcBench(), new EpmBench(), new MigrationBench(), new SchedBench(), new SchedSimBench(),
                new FsBench())) {
            BENCHMARKS.put(b.name(), b);
        }
    }

    @Parameters(paramLabel = "NAME", description = "the benchmark: ${COMPLETION-CANDIDATES}", completionCandidates = Names.class)
    String name;

    @Option(names = "--quick", description = "fewer, shorter rounds: finishes in under 2 minutes")
    boolean quick;

    @Option(names = "--only", paramLabel = "PART", split = ",",
            description = "run only these parts of the benchmark (ipc: lock, handoff, barrier, queue;"
                    + " migration: migrate, checkpoint; sched: makespan, swap; sched-sim: even, uneven, 2cpu;"
                    + " fs: seq, small)")
    List<String> only;

    @Option(names = "--smoke", hidden = true, description = "one tiny round, to check the benchmark runs (tests)")
    boolean smoke;

    @Option(names = "--json", description = "print the JSON result on stdout instead of the table")
    boolean json;

    @Option(names = "--out", paramLabel = "DIR", description = "where NAME.json goes (default: bench-results under the project root)")
    Path out;

    @ArgGroup(exclusive = false, validate = false, heading = "Options of sched-sim:%n")
    SchedSimBench.Options sim;

    static final class Names extends ArrayList<String> {
        Names() {
            super(BENCHMARKS.keySet());
        }
    }

    @Override
    public Integer call() throws Exception {
        Benchmark b = BENCHMARKS.get(name);
        if (b == null) {
            throw new IllegalArgumentException("NAME: no benchmark '" + name + "'; choose one of " + BENCHMARKS.keySet());
        }
        if (sim != null) {
            if (!(b instanceof SchedSimBench)) {
                throw new IllegalArgumentException("--nodes, --loaded-fraction, --procs-per-node, --seconds and --seed"
                        + " are options of benchmark sched-sim, not " + name);
            }
            b = new SchedSimBench(sim);
        }
        // Hazelcast warns about every connection the benchmark kills; keep its errors only.
        System.setProperty("org.slf4j.simpleLogger.log.com.hazelcast", "error");
        Progress progress = new Progress(System.err);
        progress.say("bench %s%s: ours and the peer in alternating rounds", name, smoke ? " (smoke)" : quick ? " (quick)" : "");
        Benchmark.Scale scale = smoke ? Benchmark.Scale.SMOKE : quick ? Benchmark.Scale.QUICK : Benchmark.Scale.FULL;
        List<Row> rows = only == null ? b.run(scale, progress)
                : b.run(scale, new java.util.LinkedHashSet<>(only), progress);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("benchmark", name);
        List<Object> metrics = new ArrayList<>();
        rows.forEach(r -> metrics.add(r.toJson()));
        result.put("metrics", metrics);
        String text = Output.json(result);
        Path dir = out != null ? out : Path.of(System.getProperty("krg.home", "."), "bench-results");
        Files.createDirectories(dir);
        Path file = dir.resolve(name + ".json");
        Files.writeString(file, text + "\n");
        if (json) {
            System.out.println(text);
        } else {
            System.out.print(table(rows));
            System.out.println("written to " + file);
        }
        return 0;
    }

    /** The rows as a table: medians, the ratio with its per-round range, the goal and whether it is met. */
    static String table(List<Row> rows) {
        List<List<String>> cells = new ArrayList<>();
        for (Row r : rows) {
            String spread = Double.isFinite(r.ratio())
                    ? Row.number(r.ratioMin()) + "-" + Row.number(r.ratioMax()) : "-";
            cells.add(List.of(r.name(), r.unit(), Row.number(r.ours()), r.peer() == null ? "-" : r.peer(),
                    Row.number(r.peerValue()), Row.number(r.ratio()), spread, Integer.toString(r.rounds()),
                    r.goal() == null ? "report" : r.goal().toString(), r.goal() == null ? "" : r.met() ? "yes" : "NO"));
        }
        return Output.table(List.of("METRIC", "UNIT", "OURS", "PEER", "PEER VALUE", "RATIO", "RATIO RANGE", "ROUNDS",
                "GOAL", "MET"), cells);
    }
}
