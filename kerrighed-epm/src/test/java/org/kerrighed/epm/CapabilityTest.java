package org.kerrighed.epm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.epm.TestPrograms.ExitWith;
import org.kerrighed.epm.TestPrograms.ForkTo;
import org.kerrighed.epm.TestPrograms.Sleeper;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.mm.SharedMemory;

import java.time.Duration;
import java.util.EnumSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Capabilities (Kerrighed's rules, each action's check) and credentials (who may signal or change whom). */
@Timeout(60)
class CapabilityTest {
    static EpmNodes nodes;

    @BeforeAll
    static void start() {
        nodes = new EpmNodes(3);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    static final Capabilities FORK = Capabilities.DEFAULT.plus(Capability.DISTANT_FORK);

    // ------------------------------------------------------------------ the rules, without a cluster

    @Test
    void kerrighedsInitialSetsAndTheChildRule() {
        Capabilities k = Capabilities.KERRIGHED_INITIAL;
        assertEquals(EnumSet.of(Capability.CHANGE_KERRIGHED_CAP), k.effectiveSet());
        assertEquals(EnumSet.allOf(Capability.class), k.permittedSet());
        Capabilities parent = new Capabilities(Capabilities.ALL, Capabilities.ALL,
                Capabilities.mask(EnumSet.of(Capability.CAN_MIGRATE, Capability.DISTANT_FORK)),
                Capabilities.mask(EnumSet.of(Capability.CAN_MIGRATE)));
        Capabilities child = parent.forChild();
        assertEquals(EnumSet.of(Capability.CAN_MIGRATE), child.permittedSet());
        assertEquals(EnumSet.of(Capability.CAN_MIGRATE), child.effectiveSet(), "inh-eff ∩ inh-perm");
    }

    @Test
    void changesMustRespectTheSubsetRulesAndCanOnlyDrop() {
        Capabilities c = Capabilities.KERRIGHED_INITIAL.change(new Capabilities(
                Capabilities.edit(0, "CHANGE_KERRIGHED_CAP,CAN_MIGRATE"), Capabilities.ALL, 0, Capabilities.ALL));
        assertTrue(c.has(Capability.CAN_MIGRATE), "raising within permitted is allowed");
        Capabilities narrow = new Capabilities(0, Capability.CAN_MIGRATE.bit(), 0, 0);
        Capabilities dropped = narrow.change(new Capabilities(Capabilities.ALL, Capabilities.ALL, 0, 0));
        assertEquals(Capability.CAN_MIGRATE.bit(), dropped.permitted(), "intersected with the permitted set");
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Capabilities(Capability.CAN_MIGRATE.bit(), 0, 0, 0).validate());
        assertTrue(e.getMessage().contains("effective must be a subset of permitted"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Capabilities(0, 1, 2, 0).validate());
    }

    @Test
    void editSpecsAndParsing() {
        int m = Capabilities.edit(0, "+CAN_MIGRATE,+cap_distant_fork");
        assertEquals(EnumSet.of(Capability.CAN_MIGRATE, Capability.DISTANT_FORK), Capabilities.set(m));
        assertEquals(EnumSet.of(Capability.DISTANT_FORK), Capabilities.set(Capabilities.edit(m, "-CAN_MIGRATE")));
        assertEquals(EnumSet.of(Capability.CHANGE_KERRIGHED_CAP), Capabilities.set(Capabilities.edit(m, "=CHANGE_KERRIGHED_CAP")));
        assertEquals(6, Capabilities.edit(0, "06"));
        assertEquals(0, Capabilities.edit(m, "0"));
        assertThrows(IllegalArgumentException.class, () -> Capabilities.edit(0, "+NOPE"));
        assertThrows(IllegalArgumentException.class, () -> Capabilities.edit(0, "0777"));
        assertThrows(IllegalArgumentException.class, () -> Capabilities.edit(0, "+CAN_MIGRATE,DISTANT_FORK"));
        assertEquals("CM----", new Capabilities(3, 3, 0, 3).letters());
    }

    // ------------------------------------------------------------------ each action's check

    @Test
    void distantForkNeedsTheCapability() throws Exception {
        assertEquals(ExitStatus.exited(3), nodes.epm(0).spawn(new ForkTo(1),
                SpawnOptions.defaults().onNode(0)).waitFor(), "refused without DISTANT_FORK");
        assertEquals(ExitStatus.exited(0), nodes.epm(0).spawn(new ForkTo(1),
                SpawnOptions.defaults().onNode(0).capabilities(FORK)).waitFor());
        assertEquals(ExitStatus.exited(0), nodes.epm(0).spawn(new ForkTo(0),
                SpawnOptions.defaults().onNode(0)).waitFor(), "its own node needs nothing");
    }

    @Test
    void withoutDistantForkAutomaticPlacementStaysLocal() throws Exception {
        ClusterProcess p = nodes.epm(1).spawn((Program) ctx -> {
            for (int i = 0; i < 6; i++) {
                if (ctx.spawn(new ExitWith(0), SpawnOptions.defaults()).node() != ctx.node()) {
                    return 1;
                }
            }
            return 0;
        }, SpawnOptions.defaults().onNode(1));
        assertEquals(ExitStatus.exited(0), p.waitFor());
    }

    @Test
    void changingCapabilitiesNeedsChangeKerrighedCapAndCredentials() throws Exception {
        Capabilities without = new Capabilities(0, Capabilities.ALL, 0, Capabilities.ALL);
        ClusterProcess target = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2));
        // a process without CHANGE_KERRIGHED_CAP may not change even itself
        ClusterProcess p = nodes.epm(1).spawn((Program) ctx -> {
            try {
                ctx.setCapabilities(Capabilities.FULL);
                return 1;
            } catch (CapabilityException e) {
                return 0;
            }
        }, SpawnOptions.defaults().onNode(1).capabilities(without));
        assertEquals(ExitStatus.exited(0), p.waitFor());
        // the node (a tool) may: drop DISTANT_FORK and USE_REMOTE_MEMORY from the remote target
        Capabilities now = nodes.epm(1).setCapabilities(target.pid(), Capabilities.KERRIGHED_INITIAL);
        assertEquals(Capabilities.KERRIGHED_INITIAL, now);
        assertEquals(Capabilities.KERRIGHED_INITIAL, nodes.epm(0).status(target.pid()).orElseThrow().capabilities());
        // another user's process may not change it
        ClusterProcess other = nodes.epm(1).spawn((Program) ctx -> {
            try {
                ctx.epm().setCapabilities(target.pid(), Capabilities.KERRIGHED_INITIAL);
                return 1;
            } catch (PermissionDeniedException e) {
                return e instanceof CapabilityException ? 2 : 0;
            }
        }, SpawnOptions.defaults().onNode(1).credentials(new Credentials(1000, 1000)));
        assertEquals(ExitStatus.exited(0), other.waitFor());
        target.signal(Signal.KILL);
        target.waitFor();
    }

    @Test
    void aCapabilityInUseCannotBeDropped() throws Exception {
        ClusterProcess p = nodes.epm(2).spawn((Program) ctx -> {
            try (AutoCloseable use = ctx.useCapability(Capability.DISTANT_FORK)) {
                try {
                    ctx.setCapabilities(Capabilities.DEFAULT);           // drops DISTANT_FORK: refused
                    return 1;
                } catch (CapabilityInUseException e) {
                    // expected
                }
            }
            return ctx.setCapabilities(Capabilities.DEFAULT).has(Capability.DISTANT_FORK) ? 2 : 0;
        }, SpawnOptions.defaults().onNode(2).capabilities(FORK));
        assertEquals(ExitStatus.exited(0), p.waitFor());
        ClusterProcess q = nodes.epm(0).spawn((Program) ctx -> {
            try {
                ctx.useCapability(Capability.CAN_MIGRATE);
                return 1;
            } catch (CapabilityException e) {
                return 0;
            }
        }, SpawnOptions.defaults().onNode(0));
        assertEquals(ExitStatus.exited(0), q.waitFor());
    }

    @Test
    void sharedMemoryNeedsUseRemoteMemory() throws Exception {
        long seg = nodes.epm(0).shm().open(4242, 4096, SharedMemory.CREATE | 0666);
        Program attach = ctx -> {
            try (var s = ctx.shm().attach(seg)) {
                return 0;
            } catch (CapabilityException e) {
                return 3;
            }
        };
        assertEquals(ExitStatus.exited(0), nodes.epm(1).spawn(attach, SpawnOptions.defaults().onNode(1)).waitFor());
        assertEquals(ExitStatus.exited(3), nodes.epm(1).spawn(attach, SpawnOptions.defaults().onNode(1)
                .capabilities(Capabilities.KERRIGHED_INITIAL)).waitFor());
        Program attachAndLeave = ctx -> {
            ctx.shm().attach(seg).putLong(0, ctx.pid());            // never detaches: its exit does
            return 0;
        };
        assertEquals(ExitStatus.exited(0), nodes.epm(2).spawn(attachAndLeave, SpawnOptions.defaults().onNode(2))
                .waitFor());
        assertEquals(0, nodes.epm(0).shm().stat(seg).attachCount(), "a process's segments are detached at its exit");
        nodes.epm(0).shm().remove(seg);
    }

    @Test
    void seeLocalProcStatChoosesTheNodesOwnLoadOverTheClusters() throws Exception {
        Program look = ctx -> ctx.epm().machineLoad().node() == -1 ? 10 : ctx.epm().machineLoad().node();
        assertEquals(ExitStatus.exited(10), nodes.epm(2).spawn(look, SpawnOptions.defaults().onNode(2)).waitFor());
        assertEquals(ExitStatus.exited(2), nodes.epm(2).spawn(look, SpawnOptions.defaults().onNode(2)
                .capabilities(Capabilities.DEFAULT.plus(Capability.SEE_LOCAL_PROC_STAT))).waitFor());
        NodeLoad cluster = nodes.epm(0).clusterLoad();
        assertEquals(-1, cluster.node());
        assertEquals(3 * Runtime.getRuntime().availableProcessors(), cluster.cpus());
    }

    // ------------------------------------------------------------------ credentials

    @Test
    void onlyRootOrTheOwnerMaySignalAProcess() throws Exception {
        Credentials alice = new Credentials(1000, 100);
        Credentials bob = new Credentials(2000, 100);
        ClusterProcess alices = nodes.epm(0).spawn(new Sleeper(60_000), SpawnOptions.defaults().onNode(2).credentials(alice));
        Program bobKills = ctx -> {
            try {
                ctx.kill(alices.pid(), Signal.TERM);
                return 1;
            } catch (PermissionDeniedException e) {
                return 0;
            }
        };
        assertEquals(ExitStatus.exited(0), nodes.epm(1).spawn(bobKills, SpawnOptions.defaults().onNode(1)
                .credentials(bob)).waitFor());
        assertTrue(alices.isAlive());
        Program aliceKills = ctx -> {
            ctx.kill(alices.pid(), Signal.TERM);
            return 0;
        };
        assertEquals(ExitStatus.exited(0), nodes.epm(1).spawn(aliceKills, SpawnOptions.defaults().onNode(1)
                .credentials(alice)).waitFor());
        assertEquals(Signal.TERM, alices.waitFor().signal());
    }

    @Test
    void childrenInheritCredentialsAndOnlyRootMayChangeThem() throws Exception {
        Credentials alice = new Credentials(1000, 100);
        ClusterProcess p = nodes.epm(1).spawn((Program) ctx -> {
            ClusterProcess child = ctx.spawn((Program) c -> c.credentials().uid() == 1000 ? 0 : 1,
                    SpawnOptions.defaults());
            if (ctx.waitFor(child.pid()).code() != 0) {
                return 1;
            }
            try {
                ctx.spawn(new ExitWith(0), SpawnOptions.defaults().credentials(Credentials.ROOT));
                return 2;
            } catch (PermissionDeniedException expected) {
                // a non-root parent cannot give its child root
            }
            try {
                ctx.setCredentials(Credentials.ROOT);
                return 3;
            } catch (PermissionDeniedException expected) {
                return 0;
            }
        }, SpawnOptions.defaults().onNode(1).credentials(alice));
        assertEquals(ExitStatus.exited(0), p.waitFor());
        ClusterProcess root = nodes.epm(0).spawn((Program) ctx -> {
            ctx.setCredentials(alice);
            return nodes.epm(0).status(ctx.pid()).orElseThrow().uid() == 1000 ? 0 : 1;
        }, SpawnOptions.defaults().onNode(0));
        assertEquals(ExitStatus.exited(0), root.waitFor());
    }

    @Test
    void theProcessIsTheCallerOfIpcAndSharedMemory() throws Exception {
        ClusterProcess p = nodes.epm(1).spawn((Program) ctx -> {
            var lock = ctx.ipc().lock("cap-test-lock");
            lock.lock();
            try {
                var c = ctx.ipc().callers().caller();
                return c.isProcess() && c.pid() == ctx.pid() ? 0 : 1;
            } finally {
                lock.unlock();
            }
        }, SpawnOptions.defaults().onNode(1));
        assertEquals(ExitStatus.exited(0), p.waitFor());
        assertFalse(nodes.ipc(1).callers().caller().isProcess(), "other threads are not processes");
        Thread.sleep(Duration.ofMillis(1));
    }
}
