package org.kerrighed.bench;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import org.kerrighed.node.Kerrighed;
import org.kerrighed.node.Node;
import org.kerrighed.node.NodeConfig;
import org.kerrighed.node.cli.Krg;
import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.membership.HotplugHook;
import org.kerrighed.rpc.membership.Member;
import org.kerrighed.rpc.membership.View;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code krg bench membership}: failure detection and join, Kerrighed against Hazelcast.
 *
 * <p>Each side has an observer member in this JVM and a member in a JVM of its own that stays; every
 * round adds victims in fresh JVMs, then times, one after the other, how long the observer takes to
 * learn that a victim killed with SIGKILL is gone, and one frozen with SIGSTOP (sockets stay open). Joins
 * are timed in this JVM: for Kerrighed until {@link Kerrighed#join} returns (the node is online for
 * services: our handshake passed and every node ran its hotplug hooks), for Hazelcast until a bare member
 * has joined. The side that goes first alternates between rounds.
 */
final class MembershipBench implements Benchmark {
    private static final Duration DETECT_LIMIT = Duration.ofSeconds(30);
    private static final List<String> CHILD_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    @Override
    public String name() {
        return "membership";
    }

    @Override
    public String description() {
        return "failure detection and join, against Hazelcast";
    }

    /** One side: start a victim JVM, and learn when the observer has seen it leave. */
    private interface Side extends AutoCloseable {
        ChildJvm startVictim(String name) throws Exception;

        /** Completes when the observer has removed the victim started as {@code victim}. */
        CompletableFuture<Long> removal(ChildJvm victim);

        long join() throws Exception;

        @Override
        void close();
    }

    @Override
    public List<Row> run(Scale scale, Progress progress) throws Exception {
        boolean quick = scale != Scale.FULL;
        int rounds = switch (scale) {
            case FULL -> 7;
            case QUICK -> 3;
            case SMOKE -> 1;
        };
        Path dir = Files.createTempDirectory("krg-bench-membership-");
        Rounds r = new Rounds();
        r.metric("failure_detect_ms", "ms", "hazelcast-tuned", Goal.oursAtMost(1000));
        r.metric("freeze_detect_ms", "ms", "hazelcast-tuned", Goal.oursAtMost(5000));
        r.metric("join_ms", "ms", "hazelcast-tuned", null);
        if (!quick) {
            r.metric("failure_detect_ms@hazelcast-default", "ms", "hazelcast-default", null);
        }
        progress.say("starting Kerrighed's and Hazelcast's clusters: an observer here and a member in a JVM of its own");
        try (Ours ours = new Ours(dir); Peer peer = new Peer(dir, true)) {
            for (int round = 1; round <= rounds; round++) {
                boolean oursFirst = round % 2 == 1;
                List<Side> order = oursFirst ? List.of(ours, peer) : List.of(peer, ours);
                // Victims start together (JVM start dominates); each is then measured alone.
                ChildJvm[] killed = new ChildJvm[2];
                ChildJvm[] frozen = new ChildJvm[2];
                for (int s = 0; s < 2; s++) {
                    killed[s] = order.get(s).startVictim("r" + round + "-kill-" + s);
                    frozen[s] = order.get(s).startVictim("r" + round + "-freeze-" + s);
                }
                Thread.sleep(1500);                      // heartbeats in steady state
                double[] kill = new double[2];
                double[] freeze = new double[2];
                for (int s = 0; s < 2; s++) {
                    kill[s] = detect(order.get(s), killed[s], false);
                }
                for (int s = 0; s < 2; s++) {
                    freeze[s] = detect(order.get(s), frozen[s], true);
                }
                double[] join = new double[2];
                for (int s = 0; s < 2; s++) {
                    join[s] = order.get(s).join();
                }
                int o = oursFirst ? 0 : 1;
                r.add("failure_detect_ms", kill[o], kill[1 - o]);
                r.add("freeze_detect_ms", freeze[o], freeze[1 - o]);
                r.add("join_ms", join[o], join[1 - o]);
                progress.say("round %d/%d: SIGKILL ours %.0f ms / hazelcast %.0f ms, SIGSTOP ours %.0f / %.0f ms, join ours %.0f / %.0f ms",
                        round, rounds, kill[o], kill[1 - o], freeze[o], freeze[1 - o], join[o], join[1 - o]);
            }
            if (!quick) {
                progress.say("Hazelcast with default settings: one SIGKILL (it waits for its 60 s heartbeat timeout)");
                try (Peer defaults = new Peer(dir, false)) {
                    ChildJvm oursVictim = ours.startVictim("default-ours");
                    ChildJvm victim = defaults.startVictim("default-hz");
                    Thread.sleep(1500);
                    double o = detect(ours, oursVictim, false);
                    double d = detect(defaults, victim, false, Duration.ofSeconds(150));
                    r.add("failure_detect_ms@hazelcast-default", o, d);
                    progress.say("Hazelcast defaults: SIGKILL detected after %.0f ms", d);
                }
            }
        }
        return r.rows();
    }

    private static double detect(Side side, ChildJvm victim, boolean freeze) throws Exception {
        return detect(side, victim, freeze, DETECT_LIMIT);
    }

    /** Kills or freezes {@code victim} and returns the milliseconds until the observer has removed it. */
    private static double detect(Side side, ChildJvm victim, boolean freeze, Duration limit) throws Exception {
        CompletableFuture<Long> removed = side.removal(victim);
        long t0 = System.nanoTime();
        if (freeze) {
            victim.stop();
        } else {
            victim.kill();
        }
        try {
            long at = removed.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return (at - t0) / 1e6;
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(victim.name() + " was not declared gone within " + limit.toSeconds()
                    + " s; log: " + victim.log(), e);
        } finally {
            victim.kill();
        }
    }

    /** Kerrighed: the observer node here, a node in its own JVM, victims started with {@code krg node start}. */
    private static final class Ours implements Side {
        private final Path dir;
        private final Path secretFile;
        private final String cluster = "bench-" + Long.toHexString(new SecureRandom().nextLong() >>> 1);
        private final Node observer;
        private final ChildJvm stayer;
        private final Map<Long, Integer> idsByPid = new ConcurrentHashMap<>();
        private final Map<Integer, CompletableFuture<Long>> failures = new ConcurrentHashMap<>();

        Ours(Path dir) throws Exception {
            this.dir = dir;
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            secretFile = dir.resolve("secret");
            Files.writeString(secretFile, Base64.getEncoder().encodeToString(secret));
            observer = Kerrighed.join(config(List.of()));
            observer.addHook(new HotplugHook() {
                @Override
                public int priority() {
                    return 0;
                }

                @Override
                public void nodeFailed(Member m, View v) {
                    long now = System.nanoTime();
                    CompletableFuture<Long> f = failures.get(m.nodeId());
                    if (f != null) {
                        f.complete(now);
                    }
                }
            });
            stayer = startVictim("ours-stayer");
        }

        private NodeConfig config(List<HostAndPort> seeds) {
            return NodeConfig.builder().clusterName(cluster).secretFile(secretFile).jmx(false).seeds(seeds).build();
        }

        @Override
        public ChildJvm startVictim(String name) throws Exception {
            ChildJvm j = ChildJvm.start("ours-" + name, Krg.class.getName(), CHILD_JVM,
                    List.of("node", "start", "--exit-on-stdin-eof", "--cluster", cluster, "--secret-file",
                            secretFile.toString(), "--join", observer.rpc().address().toString()), dir);
            String line = j.awaitLine(l -> l.matches("node \\d+ online:.*"), Duration.ofSeconds(60));
            int id = Integer.parseInt(line.split(" ")[1]);
            idsByPid.put(j.pid(), id);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (observer.view().member(id).map(m -> !m.state().name().equals("ONLINE")).orElse(true)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("node " + id + " is not ONLINE in the observer's view");
                }
                Thread.sleep(20);
            }
            return j;
        }

        @Override
        public CompletableFuture<Long> removal(ChildJvm victim) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            failures.put(idsByPid.get(victim.pid()), f);
            return f;
        }

        @Override
        public long join() {
            long t0 = System.nanoTime();
            Node n = Kerrighed.join(config(List.of(observer.rpc().address())));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            n.close();
            return ms;
        }

        @Override
        public void close() {
            stayer.close();
            observer.close();
        }
    }

    /** Hazelcast: an observer member here, a member in its own JVM, bare members as victims. */
    private static final class Peer implements Side {
        private final Path dir;
        private final boolean tuned;
        private final String cluster = "bench-hz-" + Long.toHexString(new SecureRandom().nextLong() >>> 1);
        private final HazelcastInstance observer;
        private final ChildJvm stayer;
        private final Map<Long, UUID> uuidsByPid = new ConcurrentHashMap<>();
        private final Map<UUID, CompletableFuture<Long>> removals = new ConcurrentHashMap<>();
        private final Map<UUID, CompletableFuture<Void>> additions = new ConcurrentHashMap<>();

        Peer(Path dir, boolean tuned) throws Exception {
            this.dir = dir;
            this.tuned = tuned;
            var c = HazelcastPeer.config(cluster, tuned, null);
            c.addListenerConfig(new com.hazelcast.config.ListenerConfig(new MembershipListener() {
                @Override
                public void memberAdded(MembershipEvent e) {
                    additions.computeIfAbsent(e.getMember().getUuid(), u -> new CompletableFuture<>()).complete(null);
                }

                @Override
                public void memberRemoved(MembershipEvent e) {
                    long now = System.nanoTime();
                    CompletableFuture<Long> f = removals.get(e.getMember().getUuid());
                    if (f != null) {
                        f.complete(now);
                    }
                }
            }));
            observer = Hazelcast.newHazelcastInstance(c);
            stayer = startVictim("hz-stayer");
        }

        @Override
        public ChildJvm startVictim(String name) throws Exception {
            ChildJvm j = ChildJvm.start("hz-" + name + (tuned ? "" : "-default"), HazelcastPeer.class.getName(), CHILD_JVM,
                    List.of(cluster, HazelcastPeer.address(observer), tuned ? "tuned" : "default"), dir);
            String[] ready = j.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(60)).split(" ");
            UUID uuid = UUID.fromString(ready[2]);
            uuidsByPid.put(j.pid(), uuid);
            additions.computeIfAbsent(uuid, u -> new CompletableFuture<>()).get(10, TimeUnit.SECONDS);
            return j;
        }

        @Override
        public CompletableFuture<Long> removal(ChildJvm victim) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            removals.put(uuidsByPid.get(victim.pid()), f);
            return f;
        }

        @Override
        public long join() {
            long t0 = System.nanoTime();
            HazelcastInstance hz = Hazelcast.newHazelcastInstance(HazelcastPeer.config(cluster, tuned,
                    HazelcastPeer.address(observer)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            hz.shutdown();
            return ms;
        }

        @Override
        public void close() {
            stayer.close();
            observer.shutdown();
        }
    }
}
