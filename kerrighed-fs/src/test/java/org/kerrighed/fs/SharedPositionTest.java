package org.kerrighed.fs;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kerrighed.kddm.testing.KddmCluster;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A channel handed to other nodes keeps one position with its origin, as Kerrighed's DVFS shared file positions:
 * reads and writes through the copies on three nodes move it as one.
 */
class SharedPositionTest {
    static final int RECORD = 8;
    static final Map<Integer, ClusterFs> FSS = new ConcurrentHashMap<>();
    static final ServiceKey<FileHandle, String> READ_ONE = ServiceKey.of(31_000, "test.fs.read-one",
            FileHandle.class, String.class);
    static KddmCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new KddmCluster(3, List.of(k -> {
            ClusterFs fs = ClusterFs.start(k, FsConfig.defaults().withChunkSize(64 << 10));
            FSS.put(k.nodeId(), fs);
            k.rpc().register(READ_ONE, HandlerKind.BLOCKING, (ctx, h) -> {
                try (KrgFileChannel ch = fs.fileSystem().open(h)) {
                    return record(ch);
                }
            });
        }), ClusterFs.types());
    }

    @AfterAll
    static void stop() {
        FSS.values().forEach(ClusterFs::close);
        cluster.close();
    }

    static String record(FileChannel ch) throws java.io.IOException {
        ByteBuffer b = ByteBuffer.allocate(RECORD);
        while (b.hasRemaining() && ch.read(b) >= 0) {
            // a whole record, or what is left at the end
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
    }

    static Path records(String name, int n) throws Exception {
        Path p = FSS.get(0).path("/" + name);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append(String.format("r%06d%n", i));
        }
        Files.writeString(p, s, StandardCharsets.US_ASCII);
        return p;
    }

    @Test
    void aHandedChannelReadsOnFromWhereTheOriginIs() throws Exception {
        Path p = records("seq", 10);
        try (KrgFileChannel origin = (KrgFileChannel) FileChannel.open(p, StandardOpenOption.READ)) {
            assertEquals("r000000\n", record(origin));
            FileHandle h = origin.handle();
            assertEquals(RECORD, h.position());
            assertEquals("r000001\n", cluster.kddm(1).rpc().call(1, READ_ONE, h).get(30, TimeUnit.SECONDS));
            assertEquals("r000002\n", cluster.kddm(0).rpc().call(2, READ_ONE, h).get(30, TimeUnit.SECONDS));
            assertEquals("r000003\n", record(origin), "the origin sees the moves made elsewhere");
            assertEquals(4 * RECORD, origin.position());
            FileHandle now = origin.handle();
            assertEquals(h.positionId(), now.positionId(), "one shared position per channel");
            try (KrgFileChannel copy = FSS.get(2).fileSystem().open(now, false)) {
                assertEquals(4 * RECORD, copy.position());
                assertEquals("r000004\n", record(copy));
                assertEquals(4 * RECORD, origin.position(), "an unshared copy moves only itself");
            }
        }
    }

    @Test
    void readersOnEveryNodeTakeEachRecordOnce() throws Exception {
        int n = 300;
        Path p = records("many", n);
        List<String> got = Collections.synchronizedList(new ArrayList<>());
        try (KrgFileChannel origin = (KrgFileChannel) FileChannel.open(p, StandardOpenOption.READ)) {
            FileHandle h = origin.handle();
            List<Thread> ts = new ArrayList<>();
            for (int node = 0; node < 3; node++) {
                KrgFileSystem fs = FSS.get(node).fileSystem();
                ts.add(Thread.ofVirtual().start(() -> {
                    try (KrgFileChannel ch = fs.open(h)) {
                        for (String r = record(ch); !r.isEmpty(); r = record(ch)) {
                            got.add(r);
                        }
                    } catch (java.io.IOException e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
        }
        assertEquals(n, got.size());
        assertEquals(n, got.stream().distinct().count(), "no record read twice");
        assertTrue(got.stream().allMatch(r -> r.length() == RECORD), "no record torn");
    }

    @Test
    void writersOnEveryNodeAppendThroughTheSharedPosition() throws Exception {
        Path p = FSS.get(0).path("/written");
        try (KrgFileChannel origin = (KrgFileChannel) FileChannel.open(p, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            FileHandle h = origin.handle();
            List<Thread> ts = new ArrayList<>();
            for (int node = 0; node < 3; node++) {
                KrgFileSystem fs = FSS.get(node).fileSystem();
                int me = node;
                ts.add(Thread.ofVirtual().start(() -> {
                    try (KrgFileChannel ch = fs.open(h)) {
                        for (int i = 0; i < 40; i++) {
                            ch.write(ByteBuffer.wrap(String.format("n%d-%04d%n", me, i)
                                    .getBytes(StandardCharsets.US_ASCII)));
                        }
                    } catch (java.io.IOException e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            for (Thread t : ts) {
                t.join();
            }
            assertEquals(120L * RECORD, origin.position());
        }
        List<String> lines = Files.readAllLines(FSS.get(1).path("/written"));
        assertEquals(120, lines.size());
        assertEquals(120, lines.stream().distinct().count());
    }

    @Test
    void aChannelItselfCannotTravelAndAProcFileCannotBeHanded() throws Exception {
        Path p = records("bound", 1);
        try (KrgFileChannel ch = (KrgFileChannel) FileChannel.open(p, StandardOpenOption.READ)) {
            ServiceKey<Object, String> echo = ServiceKey.of(31_001, "test.fs.echo", Object.class, String.class);
            Exception e = assertThrows(Exception.class,
                    () -> cluster.kddm(0).rpc().call(1, echo, ch).get(30, TimeUnit.SECONDS));
            assertTrue(String.valueOf(e.getMessage()).contains("handle()") || String.valueOf(e.getCause())
                    .contains("handle()"), e.toString());
        }
    }
}
