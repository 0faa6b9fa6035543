package org.kerrighed.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.RpcConfig;
import org.kerrighed.rpc.RpcStats;
import org.kerrighed.rpc.TestTypes;
import org.kerrighed.rpc.TypeRegistry;
import org.kerrighed.rpc.internal.codec.KryoCodec;
import org.kerrighed.rpc.testing.Await;
import org.kerrighed.rpc.testing.InProcessCluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Throws 120,000 random and mutated frames at an authenticated link of node 0 while node 1 keeps calling
 * it: node 0 rejects what is malformed or names unknown types, keeps serving node 1, and its memory stays
 * bounded. Also checks that a frame over the size limit closes only the offending link.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FrameFuzzTest {
    private static final int FRAMES = 120_000;

    /** A type only the fuzzer knows: frames naming it carry an id node 0 never registered. */
    public record Foreign(String s) {
    }

    private static byte[] frame(byte kind, ByteBuf body) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(kind);
        b.writeBytes(body);
        body.release();
        return ByteBufUtil.getBytes(b);
    }

    private static List<byte[]> validFrames(KryoCodec codec, KryoCodec foreignCodec) {
        List<byte[]> frames = new ArrayList<>();
        long callId = 1_000_000;
        for (Object v : List.<Object>of("hello", "x".repeat(300), new TestTypes.Payload("p", List.of(1, 2, 3)))) {
            ByteBuf body = Unpooled.buffer();
            body.writeInt(TestTypes.ANY.id()).writeLong(callId++).writeLong(0);
            codec.encode(v, body);
            frames.add(frame(FrameKind.REQUEST, body));
            ByteBuf oneWay = Unpooled.buffer();
            oneWay.writeInt(TestTypes.ANY.id());
            codec.encode(v, oneWay);
            frames.add(frame(FrameKind.ONEWAY, oneWay));
        }
        ByteBuf foreign = Unpooled.buffer();
        foreign.writeInt(TestTypes.ANY.id()).writeLong(callId).writeLong(0);
        foreignCodec.encode(new Foreign("unknown to the node"), foreign);
        frames.add(frame(FrameKind.REQUEST, foreign));
        ByteBuf ping = Unpooled.buffer().writeLong(42);
        frames.add(frame(FrameKind.PING, ping));
        ByteBuf conv = Unpooled.buffer();
        conv.writeInt(TestTypes.STREAM.id()).writeLong(5).writeInt(4);
        codec.encode("open", conv);
        frames.add(frame(FrameKind.CONV_OPEN, conv));
        ByteBuf data = Unpooled.buffer();
        data.writeByte(0).writeLong(5);
        codec.encode("data", data);
        frames.add(frame(FrameKind.CONV_DATA, data));
        return frames;
    }

    private static byte[] mutate(byte[] valid, Random r) {
        byte[] b = valid.clone();
        switch (r.nextInt(6)) {
            case 0 -> {                                   // flip bits
                for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
                    b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));          // truncate
            case 2 -> {                                   // inflate a length-ish byte
                int i = 1 + r.nextInt(Math.max(1, b.length - 1));
                if (i < b.length) {
                    b[i] = (byte) 0xff;
                }
            }
            case 3 -> {                                   // random tail
                int from = r.nextInt(b.length);
                for (int i = from; i < b.length; i++) {
                    b[i] = (byte) r.nextInt(256);
                }
            }
            case 4 -> {                                   // insert garbage
                int at = r.nextInt(b.length);
                byte[] extra = new byte[1 + r.nextInt(8)];
                r.nextBytes(extra);
                byte[] c = new byte[b.length + extra.length];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(extra, 0, c, at, extra.length);
                System.arraycopy(b, at, c, at + extra.length, b.length - at);
                b = c;
            }
            default -> b[0] = (byte) r.nextInt(256);       // kind byte
        }
        return b;
    }

    @Test
    void randomAndMutatedFramesAreRejectedWhileOtherPeersAreServed() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        try (InProcessCluster c = InProcessCluster.start(2, b -> b.types(new TestTypes()).maxFrameBytes(64 * 1024))) {
            c.node(0).register(TestTypes.ANY, HandlerKind.NON_BLOCKING, (ctx, o) -> o);
            c.node(0).register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> s);
            c.node(0).registerConversation(TestTypes.STREAM, (conv, opening) -> conv.abort("fuzz"));
            RpcConfig config = c.node(0).config();
            KryoCodec codec = new KryoCodec(config.types());
            KryoCodec foreignCodec = new KryoCodec(TypeRegistry.builder().registerAll(new TestTypes())
                    .register(9_999, Foreign.class).build());
            List<byte[]> valid = validFrames(codec, foreignCodec);

            // Node 1 keeps calling node 0 for the whole run.
            AtomicBoolean fuzzing = new AtomicBoolean(true);
            AtomicLong served = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            Thread caller = Thread.ofVirtual().start(() -> {
                while (fuzzing.get()) {
                    try {
                        c.node(1).call(0, TestTypes.ECHO, "still there?").get(10, TimeUnit.SECONDS);
                        served.incrementAndGet();
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                }
            });

            AtomicLong replies = new AtomicLong();
            AtomicLong errorReplies = new AtomicLong();
            try (RawPeer raw = new RawPeer(c.node(0).address())) {
                raw.authenticateAsClient(config);
                raw.drainInBackground(replies, errorReplies);
                for (int i = 0; i < FRAMES; i++) {
                    byte[] f;
                    int pick = random.nextInt(10);
                    if (pick < 3) {
                        f = new byte[random.nextInt(200)];
                        random.nextBytes(f);
                    } else if (pick == 3) {
                        f = valid.get(random.nextInt(valid.size()));
                    } else {
                        f = mutate(valid.get(random.nextInt(valid.size())), random);
                    }
                    raw.writeFrame(f);
                }
                raw.flush();
                // Everything was read and judged once node 0's counters account for every frame.
                Await.until(() -> clientStats(c).map(RpcStats.PeerStats::framesIn).orElse(0L) >= FRAMES,
                        Duration.ofSeconds(60), "node 0 read every fuzz frame (seed " + seed + ")");
                RpcStats.PeerStats fuzzer = clientStats(c).orElseThrow();
                assertTrue(fuzzer.rejectedFrames() > FRAMES / 4,
                        "most garbage was rejected: " + fuzzer + " (seed " + seed + ")");
                Await.until(() -> errorReplies.get() > 0, Duration.ofSeconds(10), "error replies (unknown ids, bad payloads)");
            } finally {
                fuzzing.set(false);
                caller.join(15_000);
            }
            assertTrue(served.get() > 0, "node 1 was served during the fuzzing (seed " + seed + ")");
            assertEquals(0, failed.get(), "no call of node 1 failed (seed " + seed + ")");
            assertEquals("after", c.node(1).call(0, TestTypes.ECHO, "after").get(10, TimeUnit.SECONDS));
            System.gc();
            Runtime rt = Runtime.getRuntime();
            long usedMb = (rt.totalMemory() - rt.freeMemory()) >> 20;
            assertTrue(usedMb < 512, "heap after the run: " + usedMb + " MiB (seed " + seed + ")");
        }
    }

    private static java.util.Optional<RpcStats.PeerStats> clientStats(InProcessCluster c) {
        return c.node(0).stats().peers().stream().filter(p -> p.peer() >= RpcConfig.MAX_NODES).findFirst();
    }

    @Test
    void frameOverTheLimitClosesOnlyThatLink() throws Exception {
        try (InProcessCluster c = InProcessCluster.start(2, b -> b.types(new TestTypes()).maxFrameBytes(8192))) {
            c.node(0).register(TestTypes.ECHO, HandlerKind.NON_BLOCKING, (ctx, s) -> s);
            assertEquals("before", c.node(1).call(0, TestTypes.ECHO, "before").get(10, TimeUnit.SECONDS));
            try (RawPeer raw = new RawPeer(c.node(0).address())) {
                raw.authenticateAsClient(c.node(0).config());
                raw.writeFrame(new byte[100_000]);        // declared length 100 000 > 8 192
                raw.flush();
                assertTrue(raw.closedByPeer(5000), "the offending link is closed");
            }
            // A length header claiming 2 GiB is refused as soon as it is read.
            try (RawPeer raw = new RawPeer(c.node(0).address())) {
                raw.authenticateAsClient(c.node(0).config());
                raw.out.writeInt(Integer.MAX_VALUE);
                raw.out.write(new byte[64]);
                raw.flush();
                assertTrue(raw.closedByPeer(5000));
            }
            assertEquals("after", c.node(1).call(0, TestTypes.ECHO, "after").get(10, TimeUnit.SECONDS));
        }
    }
}
