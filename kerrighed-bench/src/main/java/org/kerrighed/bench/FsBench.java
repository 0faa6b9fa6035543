package org.kerrighed.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.kerrighed.bench.FsBenchNode.*;

/**
 * {@code krg bench fs}: the cluster file system through {@code java.nio.file}, against the local file system and a
 * raw Netty bulk transfer.
 *
 * <p>Three node JVMs ({@link FsBenchNode}) form a Kerrighed cluster with the default file-system settings (chunks
 * of 4 MiB, replication 2); this JVM is no member and steers them over a tool connection. Node 1 writes a fresh
 * file through {@code FileChannel.open(krgPath, CREATE_NEW, WRITE)} in large writes and reads it back, against the
 * same bytes written to and read from a fresh file in its storage directory (the same disk), each write after a
 * {@code sync} and a scratch file written and deleted, so that both start with no dirty pages and with memory the
 * page cache has just freed; node 3 reads the krg file too (some of its chunks are on node 3, the rest come from
 * node 1); node 3 receives the same number of bytes from node 1 over a raw Netty connection; node 1 also writes the
 * same bytes with {@link RawReplica}, the bare work of a write with replication 2 (a local file and a plain socket
 * to nodes 2 and 3 in turn, no file system around it), with the JDK's copies and, where the kernel allows, with
 * {@code sendfile}/{@code splice}: the reference that says how far any replicated write can go here (part {@code seq});
 * node 1 creates small files in one directory on both file systems (part {@code small}). Every side's file is
 * deleted once read. Each round runs both sides, the side that goes first alternating, and keeps the per-round
 * ratios. After the rounds of part {@code seq}, node 1 times the steps of one 4 MiB write apart (progress lines).
 */
final class FsBench implements Benchmark.Parted {
    static final int NODES = 3;
    private static final int WRITER = 1;
    private static final int OTHER = 3;
    private static final Duration CONTROL_TIMEOUT = Duration.ofMinutes(8);
    private static final List<String> CHILD_JVM = List.of("-Xms512m", "-Xmx1g", "-XX:+UseParallelGC");
    private static final String LOCAL_PEER = "local-filechannel";
    private static final String BULK_PEER = "netty-bulk";
    /** {@link RawReplica}'s two ways, as peers and as rows of their own against the local write. */
    private static final String[] RAW_PEERS = {"raw-replicated", "raw-zero-copy"};
    private static final String[] RAW_ROWS = {"raw_replicated_write_mbps", "raw_zero_copy_write_mbps"};

    @Override
    public String name() {
        return "fs";
    }

    @Override
    public String description() {
        return "cluster file system sequential writes and reads, and small-file creation, against the local file"
                + " system and a raw Netty bulk transfer";
    }

    /**
     * How much to run at a scale: rounds, the sequential file's bytes (and the warm-up round's), the small files per
     * round (and the warm-up round's), the tries of each step of the write's time split.
     */
    record Plan(int rounds, long bytes, long warmupBytes, int smallFiles, int warmupSmallFiles, int splits) {
        static Plan of(Scale s) {
            return switch (s) {
                case FULL -> new Plan(5, 1L << 30, 256L << 20, 2000, 500, 20);
                case QUICK -> new Plan(3, 256L << 20, 64L << 20, 500, 100, 10);
                case SMOKE -> new Plan(1, 16L << 20, 0, 20, 0, 2);
            };
        }
    }

    /**
     * One side's sequential write and read, from {@link FsBenchNode}'s {@code PREPARE}, {@code WRITE} and
     * {@code READ}, and the CPU nanoseconds the node JVMs used during the write (all of them together).
     */
    private record Seq(long[] prepare, long[] write, long[] read, long writeCpu) {
        double writeMbps(long bytes) {
            return mbps(bytes, write[0]);
        }

        double readMbps(long bytes) {
            return mbps(bytes, read[0]);
        }

        String describeWrite(long bytes) {
            return String.format("write %.0f MB/s (per 4 MiB write: p50 %.2f ms, p99 %.2f ms; CPU of the node JVMs:"
                    + " %.2f s per GiB)", writeMbps(bytes), write[1] / 1e6, write[2] / 1e6,
                    writeCpu / 1e9 / ((double) bytes / (1L << 30)));
        }

        String describe(long bytes) {
            return String.format("write %.0f MB/s (per 4 MiB write: p50 %.2f ms, p99 %.2f ms, max %.2f ms; CPU of"
                            + " the node JVMs: %.2f s per GiB; before it: sync %.0f ms, scratch file %.0f MB/s), read"
                            + " %.0f MB/s (per read p50 %.2f ms)", writeMbps(bytes), write[1] / 1e6, write[2] / 1e6,
                    write[3] / 1e6, writeCpu / 1e9 / ((double) bytes / (1L << 30)), prepare[0] / 1e6,
                    mbps(2 * bytes, prepare[1]), readMbps(bytes), read[1] / 1e6);
        }
    }

    @Override
    public List<String> parts() {
        return List.of("seq", "small");
    }

    @Override
    public List<Row> run(Scale scale, Set<String> parts, Progress progress) throws Exception {
        checkParts(parts);
        Plan p = Plan.of(scale);
        boolean seq = parts.contains("seq");
        boolean small = parts.contains("small");
        Rounds r = new Rounds();
        if (seq) {
            r.metric("seq_write_mbps", "MB/s", LOCAL_PEER, Goal.ratioAtLeast(0.3));
            r.metric(RAW_ROWS[0], "MB/s", LOCAL_PEER, null);
            r.metric("seq_write_mbps@" + RAW_PEERS[0], "MB/s", RAW_PEERS[0], null);
            r.metric("seq_read_mbps", "MB/s", LOCAL_PEER, Goal.ratioAtLeast(0.3));
            r.metric("seq_read_mbps@" + BULK_PEER, "MB/s", BULK_PEER, null);
            r.metric("seq_read_other_node_mbps", "MB/s", BULK_PEER, null);
        }
        if (small) {
            r.metric("small_file_create_per_s", "files/s", LOCAL_PEER, null);
        }
        Path dir = Files.createTempDirectory("krg-bench-fs-");
        try (BenchCluster c = new BenchCluster("fs", FsBenchNode.class, NODES, CHILD_JVM, false, CONTROL,
                CONTROL_TIMEOUT, dir, progress)) {
            int port = (int) c.call(WRITER, BULK_SERVE)[0];
            int[] raws = seq ? rawSides(c, progress) : new int[0];
            for (int k = 1; k < raws.length; k++) {
                r.metric(RAW_ROWS[k], "MB/s", LOCAL_PEER, null);
            }
            if (seq) {
                progress.say("storage of every node under %s (the local side's files too: the same file system);"
                        + " page cache: writes go into it and nothing is forced; before each side's write, a sync (no"
                        + " dirty pages) and a scratch file of twice its bytes written and deleted (the write reuses"
                        + " memory the page cache has just freed); reads follow the write at once (from the page"
                        + " cache, both sides)", dir);
            }
            if (p.warmupBytes() > 0) {
                progress.say("warm-up (not counted)%s%s", seq ? ": " + (p.warmupBytes() >> 20) + " MiB each side"
                        : "", small ? ", " + p.warmupSmallFiles() + " small files" : "");
                round(c, 0, true, seq ? p.warmupBytes() : 0, small ? p.warmupSmallFiles() : 0, port, raws, null,
                        progress);
            }
            if (seq) {
                progress.say("each round: node %d writes and reads %d MiB in %d MiB calls, ours (krg, replication 2)"
                                + " and local; node %d reads our file; node %d receives as many bytes from node %d over"
                                + " Netty", WRITER, p.bytes() >> 20, WRITE_SIZE >> 20, OTHER, OTHER, WRITER);
            }
            if (small) {
                progress.say("each round: node %d creates %d files of %d bytes in one directory, ours and local",
                        WRITER, p.smallFiles(), SMALL_FILE_BYTES);
            }
            for (int round = 1; round <= p.rounds(); round++) {
                round(c, round, round % 2 == 1, seq ? p.bytes() : 0, small ? p.smallFiles() : 0, port, raws, r,
                        progress);
            }
            if (seq) {
                split(c, p.splits(), progress);
            }
        } catch (Exception | Error e) {
            progress.say("failed; the node JVMs' logs are in %s", dir);
            throw e;
        }
        return r.rows();
    }

    /**
     * One round ({@code r} null: a warm-up, not recorded), each part's sides in turn, ours first when
     * {@code oursFirst}: with {@code bytes} (0: none), both sides' sequential write and read, with node 3's read of
     * our file and the Netty transfer on the other side of them; with {@code smallFiles} (0: none), both sides'
     * small files.
     */
    private static void round(BenchCluster c, int round, boolean oursFirst, long bytes, int smallFiles, int port,
                              int[] raws, Rounds r, Progress progress) throws Exception {
        String label = r == null ? "warm-up" : "round " + round;
        int[] order = oursFirst ? new int[]{OURS, LOCAL} : new int[]{LOCAL, OURS};
        if (bytes > 0) {
            seqRound(c, round, oursFirst, order, raws, bytes, port, label, r, progress);
        }
        if (smallFiles > 0) {
            long[] smallOurs = null;
            long[] smallLocal = null;
            for (int side : order) {
                long[] s = c.call(WRITER, SMALL, side, round, smallFiles);
                if (side == OURS) {
                    smallOurs = s;
                } else {
                    smallLocal = s;
                }
            }
            double oursPerS = smallFiles / (smallOurs[0] / 1e9);
            double localPerS = smallFiles / (smallLocal[0] / 1e9);
            progress.say("%s, small files: ours %.0f/s (per file p50 %.2f ms, p99 %.2f ms), local %.0f/s (p50 %.3f"
                    + " ms)", label, oursPerS, smallOurs[1] / 1e6, smallOurs[2] / 1e6, localPerS, smallLocal[1] / 1e6);
            if (r != null) {
                r.add("small_file_create_per_s", oursPerS, localPerS);
            }
        }
    }

    private static void seqRound(BenchCluster c, int round, boolean oursFirst, int[] order, int[] raws, long bytes,
                                 int port, String label, Rounds r, Progress progress) throws Exception {
        long bulk = oursFirst ? 0 : bulk(c, port, bytes);
        Seq ours = null;
        Seq local = null;
        long[] other = null;
        double held = 0;
        int[] sides = new int[order.length + raws.length];   // the raw writes after both sides, or before them
        for (int i = 0; i < raws.length; i++) {
            sides[oursFirst ? order.length + i : raws.length - 1 - i] = raws[i];
        }
        System.arraycopy(order, 0, sides, oursFirst ? 0 : raws.length, order.length);
        Seq[] raw = new Seq[raws.length];
        for (int side : sides) {
            long[] prepared = c.call(WRITER, PREPARE, 2 * bytes);
            long cpu = -cpu(c);
            long[] w = c.call(WRITER, WRITE, side, round, bytes);
            cpu += cpu(c);
            if (side >= RAW_COPY) {
                raw[side - RAW_COPY] = new Seq(prepared, w, null, cpu);
                c.call(WRITER, DELETE, side, round);
                continue;
            }
            long[] rd = c.call(WRITER, READ, side, round, bytes);
            if (side == OURS) {
                held = (double) c.call(OTHER, HELD)[0] / bytes;
                other = c.call(OTHER, READ, side, round, bytes);
                ours = new Seq(prepared, w, rd, cpu);
            } else {
                local = new Seq(prepared, w, rd, cpu);
            }
            c.call(WRITER, DELETE, side, round);
        }
        if (oursFirst) {
            bulk = bulk(c, port, bytes);
        }
        double otherMbps = mbps(bytes, other[0]);
        double bulkMbps = mbps(bytes, bulk);
        progress.say("%s, ours: %s", label, ours.describe(bytes));
        progress.say("%s, local: %s", label, local.describe(bytes));
        progress.say("%s: node %d reads our file at %.0f MB/s (%.0f%% of its bytes in its own store); Netty bulk"
                + " node %d -> node %d: %.0f MB/s", label, OTHER, otherMbps, Math.min(100, 100 * held), WRITER, OTHER,
                bulkMbps);
        for (int k = 0; k < raws.length; k++) {
            progress.say("%s, %s: %s", label, RAW_PEERS[k], raw[k].describeWrite(bytes));
        }
        if (r != null) {
            r.add("seq_write_mbps", ours.writeMbps(bytes), local.writeMbps(bytes));
            for (int k = 0; k < raws.length; k++) {
                r.add(RAW_ROWS[k], raw[k].writeMbps(bytes), local.writeMbps(bytes));
            }
            r.add("seq_write_mbps@" + RAW_PEERS[0], ours.writeMbps(bytes), raw[0].writeMbps(bytes));
            r.add("seq_read_mbps", ours.readMbps(bytes), local.readMbps(bytes));
            r.add("seq_read_mbps@" + BULK_PEER, ours.readMbps(bytes), bulkMbps);
            r.add("seq_read_other_node_mbps", otherMbps, bulkMbps);
        }
    }

    /**
     * Starts {@link RawReplica}'s servers on the other nodes and connects node {@link #WRITER} to them; the raw sides
     * to run: {@code RAW_COPY}, and {@code RAW_ZERO_COPY} when every node can splice.
     */
    private static int[] rawSides(BenchCluster c, Progress progress) throws Exception {
        long[] ports = new long[NODES];
        boolean zeroCopy = true;
        ports[0] = RAW_CONNECT;
        for (int n = 1; n <= NODES; n++) {
            if (n != WRITER) {
                long[] served = c.call(n, RAW_SERVE);
                ports[n < WRITER ? n : n - 1] = served[0];
                zeroCopy &= served[1] == 1;
            }
        }
        c.call(WRITER, ports);
        if (!zeroCopy) {
            progress.say("no %s row: splice(2) cannot run in the node JVMs (%s)", RAW_ROWS[1],
                    "Linux only, and --add-opens java.base/sun.nio.ch=ALL-UNNAMED");
        }
        return zeroCopy ? new int[]{RAW_COPY, RAW_ZERO_COPY} : new int[]{RAW_COPY};
    }

    /** Times the steps of a 4 MiB write of ours on node 1 apart (p50 of {@code times} tries each), and says them. */
    private static void split(BenchCluster c, int times, Progress progress) throws Exception {
        long[] s = c.call(WRITER, SPLIT, 2, times);
        progress.say("where a 4 MiB write's time goes (node %d, p50 of %d tries each): local file create+write+close"
                        + " %.2f ms; RPC of 4 MiB to node 2: %.2f ms, with node 2 writing them to a file: %.2f ms;"
                        + " krg 1-byte write into an existing chunk %.2f ms; krg 4 MiB write over an existing chunk"
                        + " %.2f ms; krg 4 MiB write of a new chunk %.2f ms; the local write overlapped with the 4 MiB"
                        + " sent to node 2 as %d KiB calls in flight together, each written to a file there: %.2f ms",
                WRITER, times, s[0] / 1e6, s[1] / 1e6, s[2] / 1e6, s[3] / 1e6, s[4] / 1e6, s[5] / 1e6,
                SPLIT_PIECE >> 10, s[6] / 1e6);
    }

    /**
     * The CPU nanoseconds all node JVMs have used so far (the write's figure includes its untimed {@code sync}'s
     * wait, which uses next to no CPU, and the nodes' background work, a few milliseconds per second).
     */
    private static long cpu(BenchCluster c) throws Exception {
        long sum = 0;
        for (int n = 1; n <= NODES; n++) {
            sum += c.call(n, CPU)[0];
        }
        return sum;
    }

    /** Node {@link #OTHER} receives {@code bytes} from node {@link #WRITER}'s bulk server; nanoseconds. */
    private static long bulk(BenchCluster c, int port, long bytes) throws Exception {
        return c.call(OTHER, BULK_READ, port, bytes, WRITE_SIZE)[0];
    }

    private static double mbps(long bytes, long nanos) {
        return bytes / (nanos / 1e9) / 1e6;
    }
}
