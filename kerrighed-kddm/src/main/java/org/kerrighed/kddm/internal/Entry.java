package org.kerrighed.kddm.internal;

import org.kerrighed.kddm.ObjState;

import java.util.ArrayDeque;

/**
 * One object's metadata on one node (Kerrighed's {@code struct kddm_obj}). Guarded by its own monitor: every
 * field is read and written inside {@code synchronized (entry)}, which is held only for short, non-blocking
 * sections (sends are non-blocking).
 */
final class Entry {
    final long id;
    ObjState state = ObjState.INV_COPY;
    Object obj;                    // the local object, meaningful when hasData
    boolean hasData;
    int probOwner = -1;            // probable owner; on the home, the owner it was last told of
    long ownSeq;                   // ownership transfers seen (grows by one per transfer)
    long hintSeq = -1;             // the transfer at which probOwner was known to own (-1: a mere path hint)
    int gaveTo = -1;               // the last node this node handed ownership to, and at which transfer:
    long gaveSeq = -1;             //   kept apart from probOwner, which forwarding overwrites (recovery needs it)
    int departedHint = -1;         // a hint to a node that just departed, kept for the next report
    long departedHintSeq = -1;
    long version;                  // acknowledged writes
    boolean known;                 // the object exists in the cluster (home and witness records)
    final NodeSet copyset = new NodeSet();   // owner: other nodes with read copies
    final NodeSet acks = new NodeSet();      // owner in WAIT_ACK_*: nodes whose invalidation ack is missing
    long[] earlyAcks;              // (node << 48 | ownSeq) of acks that arrived before the ownership they belong to
    int readPins;
    int writePins;
    boolean replicating;           // a write is being copied to backups: everyone waits
    boolean dirty;                 // written (or first-touched) since last replicated
    boolean ownerDied;             // recovered after its owner died; the next write pin (here or where
                                   //   ownership goes) is told, once
    int[] backedUpOn;              // owner: the backups that acknowledged backedUpVersion
    long backedUpVersion = -1;
    final ArrayDeque<Object> deferred = new ArrayDeque<>();   // remote requests and invalidations waiting
    final ArrayDeque<Acquire> waiters = new ArrayDeque<>();   // local callers waiting
    long reqId;                    // outstanding request (0: none)
    long reqSentNanos;
    boolean resend;                // re-send the outstanding request once the view is synced
    int handoffTo = -1;            // WAIT_CHG_OWN_ACK: the node taking over
    ObjState handoffFrom;          // the state to return to if it dies first
    boolean removed;               // dropped from the table; callers holding it must look again
    java.util.List<Object> retired;   // local copies dropped or replaced while pinned: the linker hears of them
                                      //   (invalidate) once the pins are gone

    /** Debugging aid: with -Dkddm.trace=true each entry keeps its last events, shown by {@link #toString}. */
    static final boolean TRACE = Boolean.getBoolean("kddm.trace");
    private ArrayDeque<String> trace;

    Entry(long id) {
        this.id = id;
    }

    void trace(String event) {
        if (TRACE) {
            if (trace == null) {
                trace = new ArrayDeque<>();
            }
            if (trace.size() == 40) {
                trace.poll();
            }
            trace.add(event + "@" + state + "/o" + probOwner + "/s" + ownSeq);
        }
    }

    int pins() {
        return readPins + writePins;
    }

    /** Moves to {@code next}, checking the transition table. */
    void move(ObjState next) {
        ObjState from = state;
        state = state.check(next, id);
        if (TRACE && from != next) {
            trace("->" + next);
        }
    }

    void retire(Object old) {
        if (retired == null) {
            retired = new java.util.ArrayList<>(1);
        }
        retired.add(old);
    }

    void addEarlyAck(int node, long seq) {
        long v = ((long) node << 48) | (seq & 0xFFFF_FFFF_FFFFL);
        earlyAcks = earlyAcks == null ? new long[]{v} : java.util.Arrays.copyOf(earlyAcks, earlyAcks.length + 1);
        earlyAcks[earlyAcks.length - 1] = v;
    }

    /** Removes from {@link #acks} the early acks of ownership {@code seq}, and forgets them. */
    void applyEarlyAcks(long seq) {
        if (earlyAcks == null) {
            return;
        }
        for (long v : earlyAcks) {
            if ((v & 0xFFFF_FFFF_FFFFL) == (seq & 0xFFFF_FFFF_FFFFL)) {
                acks.remove((int) (v >>> 48));
            }
        }
        earlyAcks = null;
    }

    @Override
    public String toString() {
        return "object " + id + " [" + state + (hasData ? ", data v" + version : "") + ", owner~" + probOwner
                + ", seq " + ownSeq + ", pins " + readPins + "r/" + writePins + "w, copyset " + copyset
                + (acks.isEmpty() ? "" : ", acks " + acks) + (deferred.isEmpty() ? "" : ", deferred " + deferred.size())
                + (waiters.isEmpty() ? "" : ", waiters " + waiters.size()) + "]" + (trace == null ? "" : " " + trace);
    }
}
