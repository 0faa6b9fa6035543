package org.kerrighed.kddm;

/**
 * Every copy of the object died with failed nodes (its set's replication factor was lower than the number of
 * nodes lost). The object is never silently re-created: it stays lost until it is {@code remove}d.
 */
public class ObjectLostException extends KddmException {
    public ObjectLostException(long setId, long id) {
        super("object " + id + " of set " + setId + " was lost: every copy was on failed nodes (raise the set's"
                + " replication factor to survive this); remove it to use the id again");
    }
}
