package org.kerrighed.rpc.membership;

/** Where a node stands in the cluster. */
public enum NodeState {
    /** Admitted by the master; hotplug add hooks are running on every node. */
    JOINING,
    /** A full member: services may place work on it. */
    ONLINE,
    /** Leaving gracefully; remove hooks are running (it hands its objects over). */
    LEAVING,
    /** Declared failed: fenced, its links refused, survivors recover what it held. */
    FAILED,
    /** Left gracefully. */
    LEFT
}
