package org.kerrighed.rpc;

/**
 * Contributes types to a {@link TypeRegistry}. Each module and each application provides one and registers
 * its types in its own id range, so ids stay stable across releases and nodes.
 */
@FunctionalInterface
public interface TypeRegistrar {
    void registerTypes(TypeRegistry.Builder builder);
}
