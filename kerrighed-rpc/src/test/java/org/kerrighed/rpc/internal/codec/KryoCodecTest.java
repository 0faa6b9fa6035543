package org.kerrighed.rpc.internal.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.SerializationException;
import org.kerrighed.rpc.TypeRegistry;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.*;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** The wire codec: round trips, clear errors at the sender, and hostile bytes at the receiver. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KryoCodecTest {
    public record Inner(String name, List<Integer> values, Map<String, Long> counts) {
    }

    public record Outer(int id, Inner inner, Optional<String> note, byte[] blob) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Outer x && x.id == id && x.inner.equals(inner) && x.note.equals(note)
                    && Arrays.equals(x.blob, blob);
        }

        @Override
        public int hashCode() {
            return id;
        }
    }

    public record Unregistered(int x) {
    }

    /**
     * Bytes whose length goes before them but is known only once they are written (as a ghost's): sent through
     * {@link RewritableOutput}, received as a view of the frame.
     */
    public record Sized(byte[] bytes, java.nio.ByteBuffer view) {
    }

    static final class SizedSerializer extends com.esotericsoftware.kryo.Serializer<Sized> {
        @Override
        public void write(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Output out, Sized v) {
            RewritableOutput r = (RewritableOutput) out;
            long at = out.total();
            out.writeInt(-1);
            long start = out.total();
            out.writeBytes(v.bytes());
            assertEquals(java.nio.ByteBuffer.wrap(v.bytes()), r.written(start, out.total()), "read back as written");
            com.esotericsoftware.kryo.io.Output n = new com.esotericsoftware.kryo.io.Output(4);
            n.writeInt(v.bytes().length);
            r.rewrite(at, java.nio.ByteBuffer.wrap(n.getBuffer(), 0, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> r.rewrite(out.total() - 2, java.nio.ByteBuffer.allocate(4)));
            assertThrows(IndexOutOfBoundsException.class, () -> r.written(0, out.total() + 1));
        }

        @Override
        public Sized read(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Input in,
                          Class<? extends Sized> type) {
            return new Sized(null, ((BoundedInput) in).readView(in.readInt()));
        }
    }

    /** Counts every instantiation, so a test can prove that decoding an unknown id creates nothing. */
    public static final class Tripwire {
        static final AtomicInteger CREATED = new AtomicInteger();
        public int x;

        public Tripwire() {
            CREATED.incrementAndGet();
        }
    }

    private static final TypeRegistry TYPES = TypeRegistry.builder()
            .registerAll(b -> b.range("codec-test", 10_000, 10_009)
                    .register(10_000, Inner.class)
                    .register(10_001, Outer.class)
                    .register(10_002, Sized.class, new SizedSerializer()))
            .build();
    private final KryoCodec codec = new KryoCodec(TYPES);

    /** Encodes {@code v} and decodes it from an array-backed buffer and from native memory (read through a window). */
    private Object roundTrip(KryoCodec c, Object v) {
        ByteBuf b = Unpooled.buffer();
        c.encode(v, b);
        ByteBuf d = direct(b);
        Object back = c.decode(b);
        assertFalse(b.isReadable(), "decode consumed the whole value");
        Object fromDirect = c.decode(d);
        assertFalse(d.isReadable(), "decode from native memory consumed the whole value");
        assertTrue(Objects.deepEquals(back, fromDirect) || back instanceof ArrayDeque<?>,
                "the same value from both kinds of buffer: " + v);
        d.release();
        return back;
    }

    /** A copy of {@code b}'s readable bytes in native memory (not array-backed: decoded through the window). */
    private static ByteBuf direct(ByteBuf b) {
        ByteBuf d = Unpooled.directBuffer(b.readableBytes());
        d.writeBytes(b, b.readerIndex(), b.readableBytes());
        assertFalse(d.hasArray());
        return d;
    }

    @Test
    void largeValuesCrossTheWindowAndLeaveTheReaderAtTheirEnd() {
        Random r = new Random(7);
        byte[] blob = new byte[(3 << 20) + 13];
        r.nextBytes(blob);
        String ascii = "a".repeat(20_000) + "z";
        String utf8 = "é€😀".repeat(7_000);
        int[] ints = r.ints(10_000).toArray();
        Object[] value = {blob, ascii, utf8, ints, new Outer(5, new Inner(utf8, List.of(1, 2), Map.of(ascii, 3L)),
                Optional.of(ascii), Arrays.copyOf(blob, 9_000)), "after"};
        for (boolean native_ : new boolean[]{false, true}) {
            ByteBuf b = native_ ? Unpooled.directBuffer(16) : Unpooled.buffer(16);
            b.writeInt(0xABCD);                              // a header before the value, as in a frame
            codec.encode(value, b);
            int end = b.writerIndex();
            codec.encode("second", b);
            assertEquals(0xABCD, b.readInt());
            Object[] back = (Object[]) codec.decode(b);
            assertEquals(end, b.readerIndex(), "the reader stops at the value's end");
            assertTrue(Arrays.deepEquals(value, back), "native " + native_);
            assertEquals("second", codec.decode(b));
            assertFalse(b.isReadable());
            b.release();
        }
        ByteBuf whole = Unpooled.buffer();
        codec.encode(value, whole);
        for (int cut : new int[]{1, 100, 8191, 8192, 8193, 1 << 20, whole.readableBytes() - 1}) {
            ByteBuf d = Unpooled.directBuffer(cut).writeBytes(whole, 0, cut);
            assertThrows(SerializationException.class, () -> codec.decode(d), "cut at " + cut);
            d.release();
        }
    }

    /**
     * A value that fills its length in after writing its bytes (through the codec's rewritable output) and is read
     * as a view of the frame, not a copy: the bytes are those written, and what follows is read from the right
     * place, whether the view falls inside the window, across it, or beyond it, in an array or in native memory.
     */
    @Test
    void bytesWrittenBeforeTheirLengthAreReadAsAViewOfTheFrame() {
        Random r = new Random(11);
        for (int n : new int[]{0, 1, 100, 8_000, 8_200, 20_000, (1 << 20) + 3}) {
            for (String before : new String[]{"", "x".repeat(8_150), "y".repeat(20_000)}) {
                byte[] bytes = new byte[n];
                r.nextBytes(bytes);
                Object[] value = {before, new Sized(bytes, null), "after"};
                ByteBuf b = Unpooled.buffer(16);
                b.writeInt(0xABCD);                              // a header before the value, as in a frame
                codec.encode(value, b);
                assertEquals(0xABCD, b.readInt());
                ByteBuf d = direct(b);
                for (ByteBuf f : List.of(b, d)) {
                    Object[] back = (Object[]) codec.decode(f);
                    assertEquals(before, back[0]);
                    assertEquals(java.nio.ByteBuffer.wrap(bytes), ((Sized) back[1]).view(), n + " bytes after "
                            + before.length() + ", native " + f.isDirect());
                    assertEquals("after", back[2]);
                    assertFalse(f.isReadable());
                }
                d.release();
            }
        }
    }

    /**
     * Array headers (a length, then the elements) at every offset around the window's refills: a header split
     * between two fillings of the window must be read whole, both by the length check and by the array's reader.
     */
    @Test
    void arrayHeadersSplitByTheWindowAreReadWhole() {
        for (int k = 8_100; k < 8_300; k++) {
            List<Object> values = new ArrayList<>(List.of(
                    new Object[]{"x".repeat(k), new byte[300], new int[]{1, 2, 3}, new long[]{5}, "é".repeat(200)},
                    new Object[]{new int[k / 4], new byte[k % 977 + 130], "tail"},
                    new Object[]{new byte[k], new String[]{"a".repeat(k % 300), "b"}, new byte[k % 7 + 200]}));
            if (k % 50 == 0) {
                Object[] many = new Object[300];                  // many large arrays in one message
                for (int i = 0; i < many.length; i++) {
                    byte[] a = new byte[k + i];
                    Arrays.fill(a, (byte) i);
                    many[i] = a;
                }
                values.add(many);
            }
            for (Object v : values) {
                ByteBuf b = Unpooled.buffer();
                codec.encode(v, b);
                ByteBuf d = direct(b);
                try {
                    assertTrue(Arrays.deepEquals((Object[]) v, (Object[]) codec.decode(d)), "k " + k);
                    assertFalse(d.isReadable());
                } finally {
                    d.release();
                }
            }
        }
    }

    @Test
    void aFailedEncodingLeavesTheBufferAsItWas() {
        ByteBuf b = Unpooled.directBuffer(16).writeInt(42);
        List<Object> bad = new ArrayList<>(List.of(new byte[1 << 20], "x", new Unregistered(1)));
        assertThrows(SerializationException.class, () -> codec.encode(bad, b));
        assertEquals(4, b.writerIndex(), "nothing written");
        codec.encode("ok", b);
        assertEquals(42, b.readInt());
        assertEquals("ok", codec.decode(b));
        b.release();
    }

    @Test
    void builtinTypesRoundTrip() {
        List<Object> values = List.of(
                "text", 42, 7L, 3.5d, true, 'c', (short) 4, (byte) 2, 1.5f,
                new int[]{1, 2}, new long[]{3}, new String[]{"a", null}, new byte[]{1, 2, 3},
                new ArrayList<>(List.of(1, 2)), new HashMap<>(Map.of("k", 1)), new TreeMap<>(Map.of("a", 1, "b", 2)),
                new HashSet<>(Set.of(1, 2)), new LinkedHashSet<>(List.of(3, 1)), new ArrayDeque<>(List.of(1)),
                List.of(), List.of(1), List.of(1, 2, 3), Set.of(), Set.of(1), Set.of(1, 2, 3), Map.of(), Map.of(1, 2),
                Map.of(1, 2, 3, 4), Collections.emptyList(), Collections.singletonList(5),
                Collections.unmodifiableList(new ArrayList<>(List.of(1))), Collections.unmodifiableMap(new HashMap<>()),
                UUID.randomUUID(), new BigInteger("123456789012345678901234567890"), new BigDecimal("1.25"),
                Duration.ofMillis(1500), Instant.ofEpochSecond(1_000_000), Optional.of("x"), Optional.empty(),
                new HostAndPort("127.0.0.1", 80));
        for (Object v : values) {
            Object back = roundTrip(codec, v);
            if (v.getClass().isArray()) {
                assertTrue(Objects.deepEquals(v, back), "round trip of " + v.getClass().getName());
            } else if (v instanceof ArrayDeque<?> d) {
                assertEquals(List.copyOf(d), List.copyOf((ArrayDeque<?>) back));
            } else {
                assertEquals(v, back, "round trip of " + v.getClass().getName());
            }
        }
        assertNull(roundTrip(codec, null));
    }

    @Test
    void registeredRecordsWithNestedCollectionsRoundTrip() {
        Outer o = new Outer(1, new Inner("n", List.of(1, 2), Map.of("a", 1L)), Optional.of("note"), new byte[]{9});
        assertEquals(o, roundTrip(codec, o));
    }

    @Test
    void unregisteredTopLevelTypeFailsNamingTheClass() {
        ByteBuf b = Unpooled.buffer();
        var e = assertThrows(SerializationException.class, () -> codec.encode(new Unregistered(1), b));
        assertTrue(e.getMessage().contains(Unregistered.class.getName()), e.getMessage());
        assertEquals(0, b.writerIndex(), "nothing written");
    }

    @Test
    void unregisteredNestedTypeFailsNamingTheClass() {
        var e = assertThrows(SerializationException.class,
                () -> codec.encode(new ArrayList<>(List.of(new Unregistered(1))), Unpooled.buffer()));
        assertTrue(e.getMessage().contains(Unregistered.class.getName()), e.getMessage());
    }

    @Test
    void unknownTypeIdIsRefusedWithoutInstantiatingAnything() {
        TypeRegistry sender = TypeRegistry.builder().register(10_005, Tripwire.class).build();
        ByteBuf b = Unpooled.buffer();
        new KryoCodec(sender).encode(new Tripwire(), b);
        int before = Tripwire.CREATED.get();
        var e = assertThrows(SerializationException.class, () -> codec.decode(b));
        assertTrue(e.getMessage().contains("unknown type id 10005"), e.getMessage());
        assertEquals(before, Tripwire.CREATED.get(), "nothing was instantiated");
    }

    @Test
    void classNamesOnTheWireAreRefused() {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(1);                                  // Kryo's "class by name" marker
        b.writeBytes("java.lang.Thread".getBytes());
        var e = assertThrows(SerializationException.class, () -> codec.decode(b));
        assertTrue(e.getMessage().contains("by name"), e.getMessage());
    }

    /** A value header for the builtin id followed by a length claiming 2^30 elements, in about 20 bytes. */
    private static ByteBuf hostileLength(int typeId, boolean flagFormat) {
        var o = new com.esotericsoftware.kryo.io.Output(32);
        o.writeVarInt(typeId + 2, true);
        if (flagFormat) {
            o.writeVarIntFlag(false, (1 << 30) + 1, true);   // Kryo's collection header
        } else {
            o.writeVarInt((1 << 30) + 1, true);
        }
        ByteBuf b = Unpooled.wrappedBuffer(o.toBytes());
        return Unpooled.wrappedBuffer(b, Unpooled.wrappedBuffer(new byte[12]));
    }

    private static void writeVarInt(ByteBuf b, int v) {
        while ((v & ~0x7F) != 0) {
            b.writeByte((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        b.writeByte(v);
    }

    @Test
    void lengthsTheFrameCannotHoldAreRefusedBeforeAllocating() {
        for (Class<?> type : List.of(byte[].class, int[].class, long[].class, double[].class, boolean[].class,
                char[].class, short[].class, float[].class, String[].class, Object[].class, Long[].class,
                HashMap.class, List.of(1, 2, 3).getClass(), Map.of(1, 2, 3, 4).getClass(), Set.of(1, 2, 3).getClass())) {
            int id = TYPES.idOf(type);
            assertTrue(id > 0, type + " is builtin");
            var e = assertThrows(SerializationException.class, () -> codec.decode(hostileLength(id, false)),
                    "hostile length for " + type);
            assertNotNull(e.getMessage());
        }
        for (Class<?> type : List.of(ArrayList.class, HashSet.class, LinkedList.class, ArrayDeque.class)) {
            int id = TYPES.idOf(type);
            assertThrows(SerializationException.class, () -> codec.decode(hostileLength(id, true)),
                    "hostile length for " + type);
        }
        // A UTF-8 string header claiming 2^30 characters.
        ByteBuf s = Unpooled.buffer();
        writeVarInt(s, 1 + 2);                          // String is Kryo's id 1
        s.writeByte(0x80 | 0x40 | 0x3F);                // flag (UTF-8), more bytes, 6 low bits
        s.writeByte(0xFF).writeByte(0xFF).writeByte(0xFF).writeByte(0x0F);
        s.writeZero(10);
        ByteBuf d = direct(s);
        assertThrows(SerializationException.class, () -> codec.decode(s));
        assertThrows(SerializationException.class, () -> codec.decode(d));
        d.release();
    }

    @Test
    void deepNestingIsRefused() {
        Object v = null;
        for (int i = 0; i < 200; i++) {
            v = new ArrayList<>(Collections.singletonList(v));
        }
        Object deep = v;
        assertThrows(SerializationException.class, () -> codec.encode(deep, Unpooled.buffer()));
    }

    @Test
    void randomAndMutatedBytesNeverEscapeAsAnythingButSerializationException() {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        List<byte[]> valid = new ArrayList<>();
        for (Object v : List.of("hello", List.of(1, 2, 3), new Outer(1, new Inner("n", List.of(1), Map.of("a", 1L)),
                Optional.empty(), new byte[]{1, 2}), Map.of("k", List.of("v")), new long[]{1, 2, 3})) {
            ByteBuf b = Unpooled.buffer();
            codec.encode(v, b);
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            valid.add(bytes);
        }
        for (int i = 0; i < 200_000; i++) {
            byte[] in;
            if (i % 2 == 0) {
                in = new byte[r.nextInt(200)];
                r.nextBytes(in);
            } else {
                in = valid.get(r.nextInt(valid.size())).clone();
                switch (r.nextInt(4)) {
                    case 0 -> in[r.nextInt(in.length)] ^= (byte) (1 << r.nextInt(8));
                    case 1 -> in = Arrays.copyOf(in, r.nextInt(in.length));
                    case 2 -> in[r.nextInt(in.length)] = (byte) 0xff;
                    default -> in[r.nextInt(in.length)] = (byte) r.nextInt(256);
                }
            }
            ByteBuf b = Unpooled.wrappedBuffer(in);
            if (i % 3 == 0) {
                b = direct(b);                           // through the window
            }
            try {
                codec.decode(b);
            } catch (SerializationException expected) {
                // refused: fine
            } catch (Throwable t) {
                fail("seed " + seed + ", input " + HexFormat.of().formatHex(in) + ": " + t, t);
            } finally {
                b.release();
            }
        }
    }

    @Test
    void concurrentUseFromPlatformAndVirtualThreadsIsSafe() throws Exception {
        Outer o = new Outer(3, new Inner("c", List.of(1, 2, 3), Map.of("x", 9L)), Optional.of("n"), new byte[64]);
        List<Thread> threads = new ArrayList<>();
        AtomicInteger bad = new AtomicInteger();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (int t = 0; t < 8; t++) {
            Runnable work = () -> {
                while (System.nanoTime() < until) {
                    if (!o.equals(roundTrip(codec, o))) {
                        bad.incrementAndGet();
                    }
                }
            };
            threads.add(t % 2 == 0 ? Thread.ofVirtual().start(work) : Thread.ofPlatform().start(work));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, bad.get());
    }
}
