package org.kerrighed.kddm;

/** Options of a set, fixed when it is created. */
public enum SetFlag {
    /**
     * A pin excludes other local callers too: {@code get} takes a shared and {@code grab} an exclusive
     * cluster-wide lock on the object, released by {@code close()}. Without it, handles on one node share the
     * object and local threads coordinate among themselves (like any shared Java object); pins still keep
     * other nodes out.
     */
    LOCAL_EXCLUSIVE,
    /**
     * First touch runs on the object's default owner, which creates the object and ships it to the requester
     * (Kerrighed's linked first touch). Without it the requester creates the object itself and becomes its
     * owner, which saves the copy.
     */
    FIRST_TOUCH_ON_OWNER
}
