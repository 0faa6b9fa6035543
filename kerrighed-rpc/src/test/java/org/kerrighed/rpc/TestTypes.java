package org.kerrighed.rpc;

import java.util.List;

/** Message types and services shared by the RPC tests (application id range 10000-10099). */
public final class TestTypes implements TypeRegistrar {
    public record Ping(int from, long seq) {
    }

    public record Payload(String text, List<Integer> numbers) {
    }

    /** Never registered: sending it must fail at the caller. */
    public record Unregistered(int x) {
    }

    public static final ServiceKey<String, String> ECHO = ServiceKey.of(1000, "echo", String.class, String.class);
    public static final ServiceKey<byte[], byte[]> BYTES = ServiceKey.of(1001, "bytes", byte[].class, byte[].class);
    public static final ServiceKey<Ping, Void> PING = ServiceKey.oneWay(1002, "ping", Ping.class);
    public static final ServiceKey<String, String> FAIL = ServiceKey.of(1003, "fail", String.class, String.class);
    public static final ServiceKey<String, String> SLOW = ServiceKey.of(1004, "slow", String.class, String.class);
    public static final ServiceKey<Payload, Payload> PAYLOAD = ServiceKey.of(1005, "payload", Payload.class, Payload.class);
    public static final ServiceKey<Object, Object> ANY = ServiceKey.of(1006, "any", Object.class, Object.class);
    public static final ConversationKey<String> STREAM = ConversationKey.of(1010, "stream", String.class);

    @Override
    public void registerTypes(TypeRegistry.Builder builder) {
        builder.range("rpc-tests", 10_000, 10_099)
                .register(10_000, Ping.class)
                .register(10_001, Payload.class);
    }
}
