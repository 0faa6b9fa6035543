package org.kerrighed.ipc.internal;

/** A sleeping thread, as other nodes name it in an object's waiter list: its node and its sleeper id there. */
public record WaiterRef(int node, long id) {
}
