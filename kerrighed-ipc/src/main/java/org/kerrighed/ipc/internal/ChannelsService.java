package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.rpc.TypeRegistry;

import java.util.Set;

/**
 * The node's part of IPC that serves queues, pipes and FIFOs. Wire types 5100-5199, service ids 140-149, KDDM static sets
 * 1150-1179.
 */
public final class ChannelsService implements AutoCloseable {
    private final Ipc ipc;

    public ChannelsService(Ipc ipc) {
        this.ipc = ipc;
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-ipc-channels", 5100, 5199);
    }

    /** A view was installed ({@code failed}: nodes declared failed since the previous one). */
    public void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed) {
    }

    @Override
    public void close() {
    }
}
