package org.kerrighed.kddm;

/** No set with this id exists on this node nor, for a dynamic set, at its manager. */
public class NoSuchSetException extends KddmException {
    public NoSuchSetException(long setId) {
        super("no KDDM set " + setId + " exists in this cluster");
    }
}
