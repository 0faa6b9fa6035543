package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.kerrighed.fs.FsStatus;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cluster file system when a node's JVM is SIGKILLed: a write whose call returned is intact, a large write
 * goes on when a replica dies, reads go on, and repair restores every copy once the node is back. Nodes 1-3 are
 * child JVMs ({@link FsNodeMain}, 1 MiB chunks, replication 2); a node in this JVM checks.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FsCrashTest {
    private static final long MIB = 1 << 20;
    private JvmCluster c;
    private Node here;

    @BeforeAll
    void start() throws Exception {
        c = new JvmCluster("fs-crash", FsNodeMain.class);
        c.start(1);
        c.start(2);
        c.start(3);
        here = Kerrighed.join(c.memberConfig().toBuilder().callTimeout(Duration.ofSeconds(10))
                .fs(Long.MAX_VALUE, 1 << 20, 2).build(), FsNodeMain.TYPES);
    }

    @AfterAll
    void stop() {
        if (here != null) {
            here.close();
        }
        c.close();
    }

    private long acked(int node, String path) throws Exception {
        String line = c.jvm(node).awaitLine(l -> l.startsWith("ACK " + path + " ")
                && Long.parseLong(l.split(" ")[2]) >= 8 * MIB, Duration.ofSeconds(60));
        return Long.parseLong(line.split(" ")[2]);
    }

    @Test
    @Order(1)
    void aReplicaKilledDuringALargeWriteLosesNothing() throws Exception {
        FsNodeMain.FileSpec f = new FsNodeMain.FileSpec("/big-1", 48 * MIB, 1);
        assertTrue(here.rpc().call(1, FsNodeMain.WRITE, f).get(30, TimeUnit.SECONDS));
        acked(1, f.path());
        c.crash(2);
        c.jvm(1).awaitLine(l -> l.equals("DONE " + f.path()) || l.startsWith("FAILED " + f.path()),
                Duration.ofSeconds(120));
        assertTrue(output(1).contains("DONE " + f.path()), "the write went on");
        assertEquals("OK", FsNodeMain.check(here, f, f.bytes()));
        assertEquals("OK", here.rpc().call(3, FsNodeMain.CHECK, f).get(60, TimeUnit.SECONDS));
    }

    @Test
    @Order(2)
    void theWriterKilledMidWriteKeepsEveryAcknowledgedByte() throws Exception {
        FsNodeMain.FileSpec f = new FsNodeMain.FileSpec("/big-3", 64 * MIB, 3);
        assertTrue(here.rpc().call(3, FsNodeMain.WRITE, f).get(30, TimeUnit.SECONDS));
        acked(3, f.path());
        c.crash(3);
        long last = output(3).lines().filter(l -> l.startsWith("ACK " + f.path() + " "))
                .mapToLong(l -> Long.parseLong(l.split(" ")[2])).max().orElseThrow();
        assertEquals("OK", FsNodeMain.check(here, f, last), "the first " + last + " bytes");
    }

    @Test
    @Order(3)
    void readsGoOnWhileANodeDiesAndRepairCompletesAfterItsReturn() throws Exception {
        c.start(2);
        c.start(3);
        FsNodeMain.FileSpec f = new FsNodeMain.FileSpec("/read-1", 24 * MIB, 7);
        FsNodeMain.write(here, f, at -> { });
        assertTrue(here.rpc().call(2, FsNodeMain.READ_LOOP, f).get(30, TimeUnit.SECONDS));
        c.jvm(2).awaitLine(l -> l.equals("PASS " + f.path() + " 2 OK"), Duration.ofSeconds(60));
        c.crash(1);
        long passesBefore = passes(2, f.path());
        c.jvm(2).awaitLine(l -> l.startsWith("PASS " + f.path() + " ")
                && Long.parseLong(l.split(" ")[2]) >= passesBefore + 3, Duration.ofSeconds(60));
        assertTrue(output(2).lines().filter(l -> l.startsWith("PASS " + f.path() + " "))
                .allMatch(l -> l.endsWith(" OK")), "every read pass was right");
        c.start(1);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        FsStatus s = here.fs().status();
        while (!(s.healthy() && s.nodes().size() == 4) && System.nanoTime() < end) {
            Thread.sleep(200);
            s = here.fs().status();
        }
        assertTrue(s.healthy() && s.nodes().size() == 4, "repaired: " + s);
        for (String p : new String[] {"/big-1", "/read-1"}) {
            FsNodeMain.FileSpec g = p.equals("/big-1") ? new FsNodeMain.FileSpec(p, 48 * MIB, 1) : f;
            assertEquals("OK", here.rpc().call(1, FsNodeMain.CHECK, g).get(60, TimeUnit.SECONDS), p);
        }
    }

    private String output(int node) throws java.io.IOException {
        return java.nio.file.Files.readString(c.jvm(node).log());
    }

    private long passes(int node, String path) throws java.io.IOException {
        return output(node).lines().filter(l -> l.startsWith("PASS " + path + " ")).count();
    }
}
