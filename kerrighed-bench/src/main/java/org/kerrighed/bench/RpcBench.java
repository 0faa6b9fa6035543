package org.kerrighed.bench;

import org.kerrighed.node.launch.ChildJvm;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TransportKind;
import org.kerrighed.rpc.internal.Transport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code krg bench rpc}: Kerrighed RPC against a raw Netty request/response echo, both between this JVM
 * and a server JVM on loopback, same transport, one I/O thread per side, same calling pattern on both
 * sides. Each round runs every pattern on ours and on the peer, the side that goes first alternating
 * between rounds.
 */
final class RpcBench implements Benchmark {
    static final ServiceKey<byte[], byte[]> ECHO = ServiceKey.of(950, "bench.echo", byte[].class, byte[].class);
    static final ServiceKey<byte[], byte[]> ECHO_BLOCKING = ServiceKey.of(951, "bench.echo-blocking", byte[].class, byte[].class);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Override
    public String name() {
        return "rpc";
    }

    @Override
    public String description() {
        return "Kerrighed RPC against raw Netty echo between two JVMs";
    }

    static RpcConfig config(String cluster, byte[] secret, int id) {
        return RpcConfig.builder().clusterName(cluster).nodeId(id).bind(new HostAndPort("127.0.0.1", 0))
                .secret(secret).ioThreads(1).transport(TransportKind.AUTO).jmx(false).build();
    }

    /** One side of the comparison: the same operations on Kerrighed RPC or on the Netty echo. */
    private interface Side {
        /** Sends one request; {@code done} runs on the I/O thread with the reply, or {@code failed} gets the error. */
        void send(boolean virtualThread, byte[] payload, Runnable done, CompletableFuture<?> failed);

        /** Sends one request and blocks the calling thread until its reply. */
        void callAndWait(byte[] payload) throws Exception;
    }

    private static final class Ours implements Side {
        private final RpcNode node;

        Ours(RpcNode node) {
            this.node = node;
        }

        @Override
        public void send(boolean virtualThread, byte[] payload, Runnable done, CompletableFuture<?> failed) {
            node.call(1, virtualThread ? ECHO_BLOCKING : ECHO, payload, TIMEOUT).whenCompleteAsync((r, e) -> {
                if (e != null) {
                    failed.completeExceptionally(e);
                } else {
                    done.run();
                }
            }, RpcNode.ON_IO_THREAD);
        }

        @Override
        public void callAndWait(byte[] payload) throws Exception {
            node.call(1, ECHO, payload, TIMEOUT).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private static final class Peer implements Side {
        private final NettyEcho.Client client;

        Peer(NettyEcho.Client client) {
            this.client = client;
        }

        @Override
        public void send(boolean virtualThread, byte[] payload, Runnable done, CompletableFuture<?> failed) {
            client.send(virtualThread ? NettyEcho.ON_VIRTUAL_THREAD : NettyEcho.ON_IO_THREAD, payload, done);
        }

        @Override
        public void callAndWait(byte[] payload) throws Exception {
            CompletableFuture<Void> f = new CompletableFuture<>();
            client.send(NettyEcho.ON_IO_THREAD, payload, () -> f.complete(null));
            f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public List<Row> run(Scale scale, Progress progress) throws Exception {
        int rounds = switch (scale) {
            case FULL -> 11;
            case QUICK -> 5;
            case SMOKE -> 1;
        };
        int calls = switch (scale) {
            case FULL -> 20_000;
            case QUICK -> 4000;
            case SMOKE -> 200;
        };
        int throughputCalls = calls * 10;
        int warmups = scale == Scale.FULL ? 3 : scale == Scale.QUICK ? 2 : 1;
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        String cluster = "bench-" + Long.toHexString(new SecureRandom().nextLong() >>> 1);
        Path dir = Files.createTempDirectory("krg-bench-rpc-");
        Path secretFile = dir.resolve("secret");
        Files.writeString(secretFile, Base64.getEncoder().encodeToString(secret));

        Rounds r = new Rounds();
        r.metric("rtt_p50_64B", "us", "netty", Goal.ratioAtMost(1.25));
        r.metric("rtt_p99_64B", "us", "netty", Goal.ratioAtMost(1.25));
        r.metric("rtt_p50_4KiB", "us", "netty", Goal.ratioAtMost(1.25));
        r.metric("rtt_p50_64B_blocking", "us", "netty", Goal.ratioAtMost(1.25));
        r.metric("rtt_p50_64B_vthread", "us", "netty", null);
        r.metric("throughput_64B", "calls/s", "netty", Goal.ratioAtLeast(0.8));

        RpcNode client = RpcNode.start(config(cluster, secret, 0));
        Transport transport = Transport.create(TransportKind.AUTO, 1, "netty-echo-client");
        progress.say("starting the server JVM (Kerrighed RPC node and raw Netty echo, transport %s)", transport.kind());
        try (ChildJvm server = ChildJvm.start("rpc-bench-server", RpcBenchServer.class.getName(),
                List.of("-Xmx512m", "-XX:+UseParallelGC"), List.of(cluster, secretFile.toString(),
                        client.address().toString()), dir)) {
            String[] ready = server.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(60)).split(" ");
            client.addPeer(1, HostAndPort.parse(ready[1]));
            try (NettyEcho.Client netty = new NettyEcho.Client(transport, "127.0.0.1", Integer.parseInt(ready[2]))) {
                Side ours = new Ours(client);
                Side peer = new Peer(netty);
                progress.say("warming up both sides (JIT)");
                for (int i = 0; i < warmups; i++) {
                    for (Side s : List.of(ours, peer)) {
                        oneInFlight(s, false, new byte[64], calls);
                        oneInFlight(s, true, new byte[64], calls / 4);
                        oneInFlight(s, false, new byte[4096], calls / 4);
                        blocking(s, new byte[64], calls / 4);
                        throughput(s, new byte[64], throughputCalls / 4, 64);
                    }
                }
                for (int round = 1; round <= rounds; round++) {
                    boolean oursFirst = round % 2 == 1;
                    Side a = oursFirst ? ours : peer;
                    Side b = oursFirst ? peer : ours;
                    long[][] small = pair(oursFirst, oneInFlight(a, false, new byte[64], calls),
                            oneInFlight(b, false, new byte[64], calls));
                    r.add("rtt_p50_64B", p(small[0], 0.5), p(small[1], 0.5));
                    r.add("rtt_p99_64B", p(small[0], 0.99), p(small[1], 0.99));
                    long[][] big = pair(oursFirst, oneInFlight(a, false, new byte[4096], calls),
                            oneInFlight(b, false, new byte[4096], calls));
                    r.add("rtt_p50_4KiB", p(big[0], 0.5), p(big[1], 0.5));
                    long[][] blocking = pair(oursFirst, blocking(a, new byte[64], calls), blocking(b, new byte[64], calls));
                    r.add("rtt_p50_64B_blocking", p(blocking[0], 0.5), p(blocking[1], 0.5));
                    long[][] vt = pair(oursFirst, oneInFlight(a, true, new byte[64], calls),
                            oneInFlight(b, true, new byte[64], calls));
                    r.add("rtt_p50_64B_vthread", p(vt[0], 0.5), p(vt[1], 0.5));
                    double ta = throughput(a, new byte[64], throughputCalls, 64);
                    double tb = throughput(b, new byte[64], throughputCalls, 64);
                    r.add("throughput_64B", oursFirst ? ta : tb, oursFirst ? tb : ta);
                    progress.say("round %d/%d: rtt p50 64B ours %.0f us / netty %.0f us, throughput ours %.0f / netty %.0f calls/s",
                            round, rounds, p(small[0], 0.5), p(small[1], 0.5), oursFirst ? ta : tb, oursFirst ? tb : ta);
                }
            }
        } finally {
            client.close();
            transport.close();
        }
        return r.rows();
    }

    private static long[][] pair(boolean oursFirst, long[] first, long[] second) {
        return oursFirst ? new long[][]{first, second} : new long[][]{second, first};
    }

    private static double p(long[] sortedNanos, double q) {
        return Rounds.percentile(sortedNanos, q) / 1000.0;
    }

    /** {@code n} calls one after the other, each sent from the previous one's reply; sorted latencies (ns). */
    private static long[] oneInFlight(Side side, boolean virtualThread, byte[] payload, int n) throws Exception {
        long[] latencies = new long[n];
        CompletableFuture<Void> finished = new CompletableFuture<>();
        Runnable[] next = new Runnable[1];
        AtomicInteger i = new AtomicInteger();
        next[0] = () -> {
            long t0 = System.nanoTime();
            side.send(virtualThread, payload, () -> {
                int k = i.getAndIncrement();
                latencies[k] = System.nanoTime() - t0;
                if (k + 1 < n) {
                    next[0].run();
                } else {
                    finished.complete(null);
                }
            }, finished);
        };
        next[0].run();
        finished.get(n * 100L + 10_000, TimeUnit.MILLISECONDS);
        Arrays.sort(latencies);
        return latencies;
    }

    /** {@code n} calls from this (platform) thread, each blocking until its reply; sorted latencies (ns). */
    private static long[] blocking(Side side, byte[] payload, int n) throws Exception {
        long[] latencies = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            side.callAndWait(payload);
            latencies[i] = System.nanoTime() - t0;
        }
        Arrays.sort(latencies);
        return latencies;
    }

    /** {@code total} calls with {@code inFlight} outstanding at all times; calls per second. */
    private static double throughput(Side side, byte[] payload, int total, int inFlight) throws Exception {
        AtomicInteger issued = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        CompletableFuture<Void> finished = new CompletableFuture<>();
        Runnable[] issue = new Runnable[1];
        issue[0] = () -> {
            if (issued.getAndIncrement() < total) {
                side.send(false, payload, () -> {
                    if (completed.incrementAndGet() == total) {
                        finished.complete(null);
                    } else {
                        issue[0].run();
                    }
                }, finished);
            }
        };
        long t0 = System.nanoTime();
        for (int k = 0; k < inFlight; k++) {
            issue[0].run();
        }
        finished.get(total + 30_000L, TimeUnit.MILLISECONDS);
        return total / ((System.nanoTime() - t0) / 1e9);
    }
}
