package org.kerrighed.rpc;

/**
 * Names a conversation service: the id that crosses the wire and the type of the opening message.
 * Conversation ids share the id space of {@link ServiceKey}s.
 */
public record ConversationKey<O>(int id, String name, Class<O> openingType) {
    public ConversationKey {
        Checks.positive(id, "id");
        Checks.notNull(name, "name");
        Checks.notNull(openingType, "openingType");
    }

    public static <O> ConversationKey<O> of(int id, String name, Class<O> openingType) {
        return new ConversationKey<>(id, name, openingType);
    }

    @Override
    public String toString() {
        return name + "#" + id;
    }
}
