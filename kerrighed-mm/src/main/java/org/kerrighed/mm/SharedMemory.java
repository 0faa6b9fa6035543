package org.kerrighed.mm;

import org.kerrighed.kddm.Kddm;
import org.kerrighed.rpc.TypeRegistrar;
import org.kerrighed.rpc.TypeRegistry;

/**
 * A node's cluster shared memory: SysV-style segments whose pages are KDDM objects. One per node
 * ({@code node.shm()}), started on the node's KDDM; every node of the cluster starts one. Thread-safe.
 */
public final class SharedMemory implements AutoCloseable {
    private final Kddm kddm;

    private SharedMemory(Kddm kddm) {
        this.kddm = kddm;
    }

    /** Starts shared memory on {@code kddm}'s node. */
    public static SharedMemory start(Kddm kddm) {
        return new SharedMemory(kddm);
    }

    /**
     * The wire types of shared memory (ids 4000-4999): every node and tool of a cluster that uses it registers
     * them. Service ids: 120-129; KDDM static sets: 1000-1099.
     */
    public static TypeRegistrar types() {
        return SharedMemory::registerTypes;
    }

    private static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-mm", 4000, 4999);
    }

    public Kddm kddm() {
        return kddm;
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "shared memory of node " + kddm.nodeId();
    }
}
