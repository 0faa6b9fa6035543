package org.kerrighed.kddm.access;

/** What a caller wants to do to an object: read it (or wait on it) or change it. */
public enum Access {
    READ(4),
    WRITE(2);

    final int bit;

    Access(int bit) {
        this.bit = bit;
    }
}
