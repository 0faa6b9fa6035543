package org.kerrighed.rpc.membership;

import org.kerrighed.rpc.TypeRegistry;

/** Registers the membership protocol's types; {@link TypeRegistry#builder()} calls it. Internal. */
public final class MembershipTypes {
    private MembershipTypes() {
    }

    public static void register(TypeRegistry.Builder b) {
        Messages.register(b);
    }
}
