package org.kerrighed.epm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.fs.ClusterFs;
import org.kerrighed.fs.FsConfig;
import org.kerrighed.fs.KrgFileSystemProvider;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.testing.KddmCluster;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.TypeRegistrar;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A process that reads a cluster file through a channel, moved between nodes while it reads: its channel follows
 * it and keeps its position (the file system's shared position), so it reads every record once.
 */
class FileMigrationTest {
    static final int RECORDS = 300;
    static final Map<Kddm, Epm> EPMS = new ConcurrentHashMap<>();
    static final Map<Kddm, ClusterFs> FSS = new ConcurrentHashMap<>();
    static final TypeRegistrar TYPES = b -> b.range("file-migration-test", 30_200, 30_209)
            .register(30_200, Reader.class);
    static KddmCluster nodes;

    @BeforeAll
    static void start() {
        nodes = new KddmCluster(3, List.of(k -> {
            SharedMemory shm = SharedMemory.start(k);
            Ipc ipc = Ipc.start(k);
            FSS.put(k, ClusterFs.start(k, FsConfig.defaults().withChunkSize(64 << 10)));
            EPMS.put(k, Epm.start(k, shm, ipc));
        }), SharedMemory.types(), Ipc.types(), ClusterFs.types(), Epm.types(), TYPES);
    }

    @AfterAll
    static void stop() {
        EPMS.values().forEach(Epm::close);
        FSS.values().forEach(ClusterFs::close);
        nodes.close();
    }

    static Epm epm(int node) {
        return EPMS.get(nodes.kddm(node));
    }

    /** Reads one 8-byte record a step from {@code path}; result {sum of the records, count, bitmask of nodes}. */
    static final class Reader implements StepProgram {
        String cluster;
        String path;
        FileChannel channel;
        long sum;
        long count;
        long nodesSeen;

        private Reader() {
        }

        Reader(String cluster, String path) {
            this.cluster = cluster;
            this.path = path;
        }

        @Override
        public boolean step(ProcessContext ctx) throws Exception {
            nodesSeen |= 1L << ctx.node();
            if (channel == null) {
                Path p = KrgFileSystemProvider.instance().getFileSystem(URI.create("krg://" + ctx.node() + "@"
                        + cluster + "/")).getPath(path);
                channel = FileChannel.open(p, StandardOpenOption.READ);
            }
            ByteBuffer b = ByteBuffer.allocate(8);
            while (b.hasRemaining()) {
                if (channel.read(b) < 0) {
                    channel.close();
                    ctx.setResult(new long[] {sum, count, nodesSeen});
                    return true;
                }
            }
            sum += Long.parseLong(new String(b.array(), 1, 6, StandardCharsets.US_ASCII));
            count++;
            ctx.sleep(Duration.ofMillis(3));
            return false;
        }
    }

    @Test
    void aReadingProcessMovedAroundReadsEveryRecordOnce() throws Exception {
        StringBuilder s = new StringBuilder();
        long expected = 0;
        for (int i = 0; i < RECORDS; i++) {
            s.append(String.format("v%06d%n", i));
            expected += i;
        }
        ClusterFs fs0 = FSS.get(nodes.kddm(0));
        Files.writeString(fs0.path("/records"), s, StandardCharsets.US_ASCII);
        String cluster = fs0.fileSystem().clusterName();
        ClusterProcess p = epm(0).spawn(new Reader(cluster, "/records"),
                SpawnOptions.defaults().onNode(0).capabilities(MigrationTest.MIGRATABLE));
        int at = 0;
        for (int move = 0; move < 4 && p.isAlive(); move++) {
            Thread.sleep(120);
            int to = (at + 1) % 3;
            try {
                epm(move % 3).migrate(p.pid(), to);
                at = to;
            } catch (MigrationException ended) {
                break;                                     // it finished first
            }
        }
        assertEquals(ExitStatus.exited(0), p.waitFor(Duration.ofSeconds(60)).orElseThrow());
        long[] got = (long[]) p.result().orElseThrow();
        assertEquals(RECORDS, got[1], "every record read once");
        assertEquals(expected, got[0]);
        assertEquals(0b111, got[2] & 0b111, "it ran on every node");
    }
}
