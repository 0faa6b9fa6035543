package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.rpc.TypeRegistry;

import java.util.Set;

/**
 * The node's part of IPC that serves SysV semaphore sets and message queues. Wire types 5200-5299, service ids 150-159, KDDM static sets
 * 1180-1199.
 */
public final class SysvService implements AutoCloseable {
    private final Ipc ipc;

    public SysvService(Ipc ipc) {
        this.ipc = ipc;
    }

    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-ipc-sysv", 5200, 5299);
    }

    /** A view was installed ({@code failed}: nodes declared failed since the previous one). */
    public void viewChanged(long epoch, Set<Integer> members, Set<Integer> failed) {
    }

    @Override
    public void close() {
    }
}
