package org.kerrighed.rpc;

/**
 * Names a request/response or one-way service: a numeric id that crosses the wire plus the request and
 * reply types, which must be registered in the {@link TypeRegistry}. Ids 1-999 belong to Kerrighed's
 * modules; applications use 1000 and up.
 *
 * @param <Q> request type
 * @param <R> reply type ({@link Void} for one-way services)
 */
public record ServiceKey<Q, R>(int id, String name, Class<Q> requestType, Class<R> replyType) {
    public ServiceKey {
        Checks.positive(id, "id");
        Checks.notNull(name, "name");
        Checks.notNull(requestType, "requestType");
        Checks.notNull(replyType, "replyType");
    }

    public static <Q, R> ServiceKey<Q, R> of(int id, String name, Class<Q> requestType, Class<R> replyType) {
        return new ServiceKey<>(id, name, requestType, replyType);
    }

    /** A one-way service: no reply is sent. */
    public static <Q> ServiceKey<Q, Void> oneWay(int id, String name, Class<Q> messageType) {
        return new ServiceKey<>(id, name, messageType, Void.class);
    }

    @Override
    public String toString() {
        return name + "#" + id;
    }
}
