package org.kerrighed.ipc.sysv;

import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.kerrighed.ipc.sysv.Sysv.IPC_CREAT;
import static org.kerrighed.ipc.sysv.Sysv.IPC_EXCL;
import static org.kerrighed.ipc.sysv.Sysv.IPC_NOWAIT;
import static org.kerrighed.ipc.sysv.Sysv.MSG_EXCEPT;
import static org.kerrighed.ipc.sysv.Sysv.MSG_NOERROR;

class SysvMessageQueuesTest {
    private static SysvCluster c;

    @BeforeAll
    static void start() {
        c = new SysvCluster(3);
    }

    @AfterAll
    static void stop() {
        c.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String s(Message m) {
        return m.type() + ":" + new String(m.body(), StandardCharsets.UTF_8);
    }

    @Test
    void keysAndStat() throws Exception {
        int id = c.msg(0).get(2001, IPC_CREAT, 0644);
        assertEquals(id, c.msg(1).get(2001, 0, 0));
        assertThrows(KeyExistsException.class, () -> c.msg(2).get(2001, IPC_CREAT | IPC_EXCL, 0600));
        assertThrows(NoSuchKeyException.class, () -> c.msg(2).get(2002, 0, 0600));
        c.msg(1).send(id, 4, b("four"), 0);
        MsgStat st = c.msg(2).stat(id);
        assertEquals(1, st.qnum());
        assertEquals(4, st.cbytes());
        assertEquals(Sysv.MSGMNB, st.qbytes());
        assertEquals(1, st.lastSender().node());
        assertEquals(0644, st.perm().mode());
        c.msg(0).setMaxBytes(id, 100);
        assertEquals(100, c.msg(1).stat(id).qbytes());
    }

    @Test
    void typeSelectionAndOrder() throws Exception {
        int id = c.msg(0).get(2010, IPC_CREAT, 0600);
        String[] sent = {"3:a", "1:b", "2:c", "1:d", "5:e", "2:f"};
        for (int i = 0; i < sent.length; i++) {
            String[] p = sent[i].split(":");
            c.msg(i % 3).send(id, Long.parseLong(p[0]), b(p[1]), 0);
        }
        assertEquals(6, c.msg(2).stat(id).qnum());
        assertEquals("1:b", s(c.msg(2).receive(id, 100, 1, 0)));
        assertEquals("1:d", s(c.msg(1).receive(id, 100, -2, 0)));        // lowest type <= 2
        assertEquals("2:c", s(c.msg(0).receive(id, 100, -2, 0)));
        assertEquals("5:e", s(c.msg(1).receive(id, 100, 3, MSG_EXCEPT)));
        assertEquals("3:a", s(c.msg(2).receive(id, 100, 0, 0)));
        assertEquals("ENOMSG", assertThrows(WouldBlockException.class,
                () -> c.msg(2).receive(id, 100, 7, IPC_NOWAIT)).errno());
        assertEquals("2:f", s(c.msg(0).receive(id, 100, 0, IPC_NOWAIT)));
        assertEquals(0, c.msg(1).stat(id).qnum());
        assertEquals(0, c.msg(1).stat(id).cbytes());
    }

    @Test
    void truncationOrE2big() throws Exception {
        int id = c.msg(1).get(2020, IPC_CREAT, 0600);
        c.msg(0).send(id, 1, b("0123456789"), 0);
        MessageTooBigException e = assertThrows(MessageTooBigException.class, () -> c.msg(2).receive(id, 4, 0, 0));
        assertEquals("E2BIG", e.errno());
        assertEquals(1, c.msg(0).stat(id).qnum());                      // it stays
        assertEquals("1:0123", s(c.msg(2).receive(id, 4, 0, MSG_NOERROR)));
        assertEquals(0, c.msg(0).stat(id).qnum());
    }

    @Test
    void blockingSendWhenFull() throws Exception {
        int id = c.msg(0).get(2030, IPC_CREAT, 0600);
        c.msg(0).setMaxBytes(id, 100);
        c.msg(2).send(id, 1, new byte[60], 0);
        assertEquals("EAGAIN", assertThrows(WouldBlockException.class,
                () -> c.msg(1).send(id, 2, new byte[60], IPC_NOWAIT)).errno());
        assertFalse(c.msg(1).send(id, 2, new byte[60], 0, 100, TimeUnit.MILLISECONDS));
        assertEquals("EINVAL", assertThrows(SysvException.class, () -> c.msg(1).send(id, 2, new byte[101], 0))
                .errno());
        var sender = SysvCluster.start("sender", () -> {
            c.msg(1).send(id, 2, new byte[60], 0);
            return null;
        });
        sender.awaitParked();
        assertEquals(Thread.State.WAITING, sender.thread().getState());
        assertEquals(1, c.msg(2).receive(id, 100, 0, 0).type());
        sender.get();
        assertEquals(2, c.msg(2).receive(id, 100, 0, 0).type());
    }

    @Test
    void blockingReceiveWokenFromAnotherNode() throws Exception {
        int id = c.msg(2).get(2040, IPC_CREAT, 0600);
        var receiver = SysvCluster.start("receiver", () -> s(c.msg(0).receive(id, 100, 7, 0)));
        receiver.awaitParked();
        c.msg(1).send(id, 6, b("no"), 0);
        receiver.awaitParked();                                        // type 6 does not match
        c.msg(1).send(id, 7, b("yes"), 0);
        assertEquals("7:yes", receiver.get());
        assertEquals("6:no", s(c.msg(0).receive(id, 100, 0, IPC_NOWAIT)));

        var timed = SysvCluster.start("timed", () -> c.msg(1).receive(id, 100, 0, 0, 200, TimeUnit.MILLISECONDS));
        timed.awaitParked();
        assertEquals(Thread.State.TIMED_WAITING, timed.thread().getState());
        assertTrue(timed.get().isEmpty());

        var interrupted = SysvCluster.start("interrupted", () -> c.msg(1).receive(id, 100, 0, 0));
        interrupted.awaitParked();
        interrupted.thread().interrupt();
        assertInstanceOf(InterruptedException.class, interrupted.failure());
    }

    @Test
    void removeWakesWaiters() throws Exception {
        int id = c.msg(0).get(2050, IPC_CREAT, 0600);
        var receiver = SysvCluster.start("rm", () -> c.msg(1).receive(id, 100, 0, 0));
        receiver.awaitParked();
        c.msg(2).remove(id);
        assertInstanceOf(IdentifierRemovedException.class, receiver.failure());
        assertEquals("EINVAL", assertThrows(SysvException.class, () -> c.msg(1).send(id, 1, b("x"), 0)).errno());
        assertThrows(NoSuchKeyException.class, () -> c.msg(0).get(2050, 0, 0));
    }

    @Test
    void permissions() throws Exception {
        int id = c.msg(0).get(2060, IPC_CREAT, 0620);                 // group may send, not receive
        Credentials group = new Credentials(1000, 0);
        c.as(1, group, () -> {
            c.msg(1).send(id, 1, b("hi"), 0);
            assertThrows(PermissionDeniedException.class, () -> c.msg(1).receive(id, 10, 0, IPC_NOWAIT));
            assertThrows(PermissionDeniedException.class, () -> c.msg(1).stat(id));
            assertThrows(PermissionDeniedException.class, () -> c.msg(1).setMaxBytes(id, 10));
            assertThrows(PermissionDeniedException.class, () -> c.msg(1).remove(id));
        });
        c.as(2, new Credentials(1001, 1001), () ->
                assertThrows(PermissionDeniedException.class, () -> c.msg(2).send(id, 1, b("no"), 0)));
        assertEquals("1:hi", s(c.msg(2).receive(id, 10, 0, 0)));
    }

    @Test
    void concurrentSendersAndReceiversLoseNothing() throws Exception {
        int id = c.msg(1).get(2070, IPC_CREAT, 0600);
        c.msg(1).setMaxBytes(id, 200);                                  // small: senders block at times
        int perSender = 30;
        long transfersBefore = transfersAwayFromMaster();
        List<SysvCluster.Started<List<String>>> receivers = new ArrayList<>();
        List<SysvCluster.Started<List<String>>> senders = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            int node = n;
            senders.add(SysvCluster.start("s" + n, () -> {
                for (int i = 0; i < perSender; i++) {
                    c.msg(node).send(id, node + 1, b(node + "-" + i), 0);
                }
                return List.of();
            }));
            receivers.add(SysvCluster.start("r" + n, () -> {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < perSender; i++) {
                    got.add(new String(c.msg((node + 1) % 3).receive(id, 100, node + 1, 0).body(),
                            StandardCharsets.UTF_8));
                }
                return got;
            }));
        }
        for (var s : senders) {
            s.get();
        }
        for (int n = 0; n < 3; n++) {
            List<String> got = receivers.get(n).get();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < perSender; i++) {
                expected.add(n + "-" + i);
            }
            assertEquals(expected, got, "type " + (n + 1) + " in send order, each once");
        }
        assertEquals(0, c.msg(0).stat(id).qnum());
        assertEquals(transfersBefore, transfersAwayFromMaster(), "the queue stays on its master, node 1");
    }

    /** Ownership transfers of message queues to nodes 0 and 2. */
    private static long transfersAwayFromMaster() {
        long sum = 0;
        for (int n : new int[]{0, 2}) {
            sum += c.kddm(n).stats().stream().filter(s -> s.setId() == 1185).mapToLong(s -> s.transfers()).sum();
        }
        return sum;
    }
}
