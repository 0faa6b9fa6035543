package org.kerrighed.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.kerrighed.bench.MigrationBenchNode.*;

/**
 * {@code krg bench migration}: moving a process between nodes against one RPC round trip carrying its ghost's bytes.
 *
 * <p>Two node JVMs ({@link MigrationBenchNode}) form a Kerrighed cluster; this JVM steers them over tool connections,
 * and every figure is timed inside the node that makes the call, on a platform thread. A part is a group of rows with
 * its own set-up: its metrics are declared in {@link #run(Scale, Set, Progress)} and it runs in a method of its own
 * (a new part, such as checkpoints, is one more name in {@link #parts()}, its declarations and its method). Each
 * round runs ours and the peer, the side that goes first alternating, and keeps the per-round ratios.
 */
final class MigrationBench implements Benchmark.Parted {
    static final int NODES = 2;
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(3);
    private static final List<String> CHILD_JVM = List.of("-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch",
            "-XX:+UseParallelGC");
    private static final String PEER = "kerrighed-rpc";
    private static final String[] PHASES = {"safepoint", "export", "transfer", "commit"};

    @Override
    public String name() {
        return "migration";
    }

    @Override
    public String description() {
        return "process migration with 1 KiB, 1 MiB and 64 MiB of state, against one RPC round trip of its ghost;"
                + " checkpoints of 64 MiB against a FileChannel write and fsync";
    }

    /**
     * A process's state size, how many times it moves per round, and per warm-up round. Warm-up rounds of the small
     * sizes run ten times as many moves and round trips, so that both paths are compiled by the JIT's last tier before
     * the measured rounds (with as many as a measured round, the move's own code still ran partly interpreted). A full
     * run has eight warm-up rounds: each move calls most of its methods once on each node, so with two (about 1,100
     * moves per node before the 1 MiB rounds) they still ran in the JIT's profiling tier, and the 1 KiB move took
     * 0.52-0.54 ms against 0.28-0.37 ms after eight.
     */
    record Size(String label, int bytes, int moves, int warmupMoves, boolean busy) {
        String metric() {
            return "migrate_" + label + "_ms";
        }
    }

    /** How much to run at a scale (checkpoints: how many of 64 MiB per round). */
    record Plan(int rounds, int warmups, List<Size> sizes, int checkpoints) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(11, 8, sizes(60, 20, 4), 2);
                case QUICK -> new Plan(5, 3, sizes(30, 10, 2), 1);
                case SMOKE -> new Plan(1, 0, sizes(2, 2, 2), 1);
            };
        }

        private static List<Size> sizes(int small, int medium, int large) {
            return List.of(new Size("1KiB", 1 << 10, small, 10 * small, false),
                    new Size("1MiB", 1 << 20, medium, 10 * medium, false),
                    new Size("64MiB", 64 << 20, large, large, false),
                    new Size("1MiB_busy", 1 << 20, medium, 10 * medium, true));
        }
    }

    @Override
    public List<String> parts() {
        return List.of("migrate", "checkpoint");
    }

    @Override
    public List<Row> run(Scale scale, Set<String> parts, Progress progress) throws Exception {
        checkParts(parts);
        Plan p = Plan.of(scale);
        Rounds r = new Rounds();
        if (parts.contains("migrate")) {
            for (Size s : p.sizes()) {
                r.metric(s.metric(), "ms", PEER, s.bytes() >= 1 << 20 && !s.busy() ? Goal.ratioAtMost(1.5) : null);
                for (String phase : PHASES) {
                    r.metric(s.metric() + "@" + phase, "ms", PEER, null);
                }
            }
        }
        if (parts.contains("checkpoint")) {
            r.metric(CHECKPOINT_METRIC, "MB/s", FILE_PEER, Goal.ratioAtLeast(0.7));
            r.metric(CHECKPOINT_METRIC + "@freeze_ms", "ms", FILE_PEER, null);
            r.metric(CHECKPOINT_METRIC + "@write_ms", "ms", FILE_PEER, null);
        }
        Path dir = Files.createTempDirectory("krg-bench-migration-");
        try (BenchCluster c = new BenchCluster("migration", MigrationBenchNode.class, NODES, CHILD_JVM, false, CONTROL,
                CONTROL_TIMEOUT, dir, progress)) {
            if (parts.contains("migrate")) {
                migrate(c, p, r, progress);
            }
            if (parts.contains("checkpoint")) {
                checkpoint(c, p, r, progress);
            }
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /**
     * The process of a size, the size of its last ghost (it varies by a few bytes: counters in the image grow) and
     * where it runs now.
     */
    private static final class MovedProcess {
        final Size size;
        final int pid;
        long ghostBytes;
        int host;

        MovedProcess(Size size, int pid, long ghostBytes, int host) {
            this.size = size;
            this.pid = pid;
            this.ghostBytes = ghostBytes;
            this.host = host;
        }
    }

    /**
     * For each size in turn, node 1 starts an {@link MigrationBenchNode.Idle} process and moves it once to node 2 to
     * learn its ghost's size. Each round then moves it back and forth between the nodes {@code moves} times, each
     * {@code migrate} called on the node the process leaves and timed until it returns; the round's figure is the
     * median, and the medians of the phases its reports give. The peer is as many RPC round trips between the same
     * nodes, half each way, whose request is a {@code byte[]} of the last ghost's size and whose reply is an
     * integer. The process is killed before the next size's starts (each process wakes up every step). The last
     * size, {@code 1MiB_busy}, is a {@link MigrationBenchNode.Busy} process, whose steps are empty: it computes all
     * the time, on whichever node it is, during its peer's round trips too.
     */
    private static void migrate(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        progress.say("migrate: a process per state size, moved back and forth between nodes 1 and 2 (%s moves per"
                + " round); against as many RPC round trips carrying the ghost's bytes", String.join(", ",
                p.sizes().stream().map(s -> s.moves() + " of " + s.label()).toList()));
        for (Size s : p.sizes()) {
            int pid = (int) c.call(1, SPAWN, s.bytes(), s.busy() ? 1 : 0)[0];
            long[] first = c.call(1, MIGRATE, pid, 2);
            MovedProcess m = new MovedProcess(s, pid, first[1], 2);
            progress.say("%s: process %d, ghost of %,d bytes; first move %.1f ms", s.label(), pid, m.ghostBytes,
                    first[0] / 1e6);
            for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
                double[] ours;
                double peer;
                int n = round >= 1 ? s.moves() : s.warmupMoves();
                if (Math.floorMod(round, 2) == 1) {
                    ours = moves(c, m, n);
                    peer = roundTrips(c, m, n);
                } else {
                    peer = roundTrips(c, m, n);
                    ours = moves(c, m, n);
                }
                if (round >= 1) {
                    r.add(s.metric(), ours[0], peer);
                    for (int i = 0; i < PHASES.length; i++) {
                        r.add(s.metric() + "@" + PHASES[i], ours[1 + i], peer);
                    }
                }
                progress.say("%s, %s: migrate %.3f ms (safe point %.3f, export %.3f, transfer %.3f, commit %.3f);"
                                + " RPC round trip of %,d bytes %.3f ms; ratio %.2f",
                        round >= 1 ? "round " + round + "/" + p.rounds() : "warm-up", s.label(), ours[0], ours[1],
                        ours[2], ours[3], ours[4], m.ghostBytes, peer, ours[0] / peer);
            }
            c.call(m.host, KILL, m.pid);
        }
    }

    /**
     * Node 1 starts an {@link MigrationBenchNode.Idle} process with 64 MiB of state and checkpoints it into a fresh
     * directory of its own storage ({@code checkpoints} times a round, the directory deleted each time): the bytes
     * written over the time of {@code checkpoint}, from the call to every file synced and the process unfrozen.
     * The peer writes as many bytes to a fresh file of the same storage with a {@code FileChannel}, 1 MiB a write,
     * and forces it to disk. The page cache is warm for neither (fresh files); both end with an fsync.
     */
    private static void checkpoint(BenchCluster c, Plan p, Rounds r, Progress progress) throws Exception {
        int pid = (int) c.call(1, SPAWN, 64 << 20)[0];
        long[] first = c.call(1, CHECKPOINT, pid);
        long bytes = first[1];
        progress.say("checkpoint: process %d with 64 MiB of state, %,d bytes a checkpoint (first %.1f ms); against"
                + " writing and fsyncing as many bytes to a fresh file", pid, bytes, first[0] / 1e6);
        for (int round = 1 - p.warmups(); round <= p.rounds(); round++) {
            double[] ours;
            double peer;
            if (Math.floorMod(round, 2) == 1) {
                ours = checkpoints(c, pid, p.checkpoints());
                peer = fileWrites(c, bytes, p.checkpoints());
            } else {
                peer = fileWrites(c, bytes, p.checkpoints());
                ours = checkpoints(c, pid, p.checkpoints());
            }
            double oursMbps = bytes / 1e6 / (ours[0] / 1e3);
            double peerMbps = bytes / 1e6 / (peer / 1e3);
            if (round >= 1) {
                r.add(CHECKPOINT_METRIC, oursMbps, peerMbps);
                r.add(CHECKPOINT_METRIC + "@freeze_ms", ours[1], peer);
                r.add(CHECKPOINT_METRIC + "@write_ms", ours[2], peer);
            }
            progress.say("%s: checkpoint %.1f ms = %.0f MB/s (freeze %.1f, write %.1f); file write + fsync %.1f ms ="
                            + " %.0f MB/s; ratio %.2f", round >= 1 ? "round " + round + "/" + p.rounds() : "warm-up",
                    ours[0], oursMbps, ours[1], ours[2], peer, peerMbps, oursMbps / peerMbps);
        }
        c.call(1, KILL, pid);
    }

    private static final String CHECKPOINT_METRIC = "checkpoint_64MiB_mbps";
    private static final String FILE_PEER = "filechannel-fsync";

    /** {@code n} checkpoints: medians of the total, the freeze and the write, ms. */
    private static double[] checkpoints(BenchCluster c, int pid, int n) throws Exception {
        double[][] f = new double[3][n];
        for (int i = 0; i < n; i++) {
            long[] a = c.call(1, CHECKPOINT, pid);
            f[0][i] = a[0] / 1e6;
            f[1][i] = a[2] / 1e6;
            f[2][i] = a[3] / 1e6;
        }
        return new double[]{Rounds.median(Arrays.stream(f[0]).sorted().toArray()),
                Rounds.median(Arrays.stream(f[1]).sorted().toArray()), Rounds.median(Arrays.stream(f[2]).sorted().toArray())};
    }

    /** {@code n} fresh files of {@code bytes} written and synced: the median, ms. */
    private static double fileWrites(BenchCluster c, long bytes, int n) throws Exception {
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = c.call(1, WRITE_FILE, bytes)[0] / 1e6;
        }
        return Rounds.median(Arrays.stream(t).sorted().toArray());
    }

    /** {@code n} migrations of the process, each to the other node: medians of the total and of each phase, ms. */
    private static double[] moves(BenchCluster c, MovedProcess m, int n) throws Exception {
        double[][] figures = new double[1 + PHASES.length][n];
        for (int i = 0; i < n; i++) {
            int target = 3 - m.host;
            long[] f = c.call(m.host, MIGRATE, m.pid, target);
            m.host = target;
            m.ghostBytes = f[1];
            figures[0][i] = f[0] / 1e6;
            for (int k = 0; k < PHASES.length; k++) {
                figures[1 + k][i] = f[2 + k] < 0 ? Double.NaN : f[2 + k] / 1e6;
            }
        }
        double[] medians = new double[figures.length];
        for (int k = 0; k < figures.length; k++) {
            medians[k] = Rounds.median(Arrays.stream(figures[k]).filter(Double::isFinite).sorted().toArray());
        }
        return medians;
    }

    /** {@code n} RPC round trips of the last ghost's size, half from node 1 to 2, half back: their median, ms. */
    private static double roundTrips(BenchCluster c, MovedProcess m, int n) throws Exception {
        long[] there = c.call(1, SEND, 2, m.ghostBytes, (n + 1) / 2);
        long[] back = c.call(2, SEND, 1, m.ghostBytes, n / 2);
        long[] all = new long[there.length + back.length];
        System.arraycopy(there, 0, all, 0, there.length);
        System.arraycopy(back, 0, all, there.length, back.length);
        return Rounds.median(Arrays.stream(all).sorted().asDoubleStream().toArray()) / 1e6;
    }
}
