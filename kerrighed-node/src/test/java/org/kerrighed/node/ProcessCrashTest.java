package org.kerrighed.node;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.Capability;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Processes when a node's JVM is SIGKILLed: the processes that ran there are reported killed to their parents
 * (on this node and on another child JVM), the others keep running and are still found by pid, and ps no
 * longer lists the dead node's. Nodes 1-2 are child JVMs ({@link EpmNodeMain}); a node in this JVM drives.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class ProcessCrashTest {
    private JvmCluster c;
    private Node here;

    @BeforeAll
    void start() throws Exception {
        c = new JvmCluster("epm-crash", EpmNodeMain.class);
        c.start(1);
        c.start(2);
        here = Kerrighed.join(c.memberConfig().toBuilder().callTimeout(Duration.ofSeconds(10)).build(),
                EpmNodeMain.TYPES);
    }

    @AfterAll
    void stop() {
        if (here != null) {
            here.close();
        }
        c.close();
    }

    @Test
    void theProcessesOfAKilledJvmAreReportedKilledAndTheOthersLiveOn() throws Exception {
        ClusterProcess onTwo = here.epm().spawn(new EpmNodeMain.Sleep(120_000), SpawnOptions.defaults().onNode(2));
        ClusterProcess parentOnOne = here.epm().spawn(new EpmNodeMain.WaitRemote(2), SpawnOptions.defaults().onNode(1)
                .capabilities(Capabilities.DEFAULT.plus(Capability.DISTANT_FORK)));
        List<ClusterProcess> onOne = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            onOne.add(here.epm().spawn(new EpmNodeMain.Sleep(120_000), SpawnOptions.defaults().onNode(1)));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (here.epm().ps().stream().filter(i -> i.node() == 2).count() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(2, here.epm().ps().stream().filter(i -> i.node() == 2).count(), "two processes on node 2");

        long killedAt = System.nanoTime();
        c.crash(2);
        ExitStatus s = onTwo.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
        System.out.printf("the parent was told %d ms after the SIGKILL: %s%n",
                (System.nanoTime() - killedAt) / 1_000_000, s);
        assertEquals(Signal.KILL, s.signal());
        assertEquals("node 2 failed", s.reason());
        assertEquals(ExitStatus.exited(128 + 9), parentOnOne.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS),
                "the parent on node 1 saw its child on node 2 die");

        List<ProcessInfo> ps = here.epm().ps();
        assertTrue(ps.stream().noneMatch(i -> i.node() == 2), "ps lists no process of the dead node: " + ps);
        assertThrows(NoSuchProcessException.class, () -> here.epm().kill(onTwo.pid(), Signal.TERM));
        for (ClusterProcess p : onOne) {
            assertTrue(p.isAlive());
            here.epm().kill(p.pid(), Signal.TERM);
            assertEquals(Signal.TERM, p.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS).signal());
        }
    }
}
