package org.kerrighed.mm;

/** The value of a key in the key table (static set 1000): the segment that key names now. Immutable. */
record KeySlot(long segment) {
}
