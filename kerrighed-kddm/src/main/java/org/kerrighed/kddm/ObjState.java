package org.kerrighed.kddm;

import java.util.EnumSet;
import java.util.Set;

/**
 * The coherence state of one object on one node: Kerrighed's KDDM states, kept as they are, plus
 * {@link #LOST}. Every state change goes through {@link #check}, which holds the whole transition table, so a
 * protocol bug shows up as an {@link IllegalStateException} naming the move instead of as silent corruption.
 *
 * <pre>
 *  INV_COPY --read miss--> WAIT_OBJ_READ --copy--> READ_COPY --invalidate--> INV_COPY
 *  INV_COPY/READ_COPY --write miss--> WAIT_OBJ_WRITE --ownership--> WAIT_ACK_INV --acks--> WRITE_OWNER
 *  WRITE_OWNER --remote read--> READ_OWNER --local write--> WAIT_ACK_WRITE --acks--> WRITE_OWNER
 *  *_OWNER --remote write--> INV_COPY          *_OWNER --flush--> WAIT_CHG_OWN_ACK --ack--> INV_COPY
 *  WRITE_GHOST (received by flush) --first local access--> WRITE_OWNER
 * </pre>
 */
public enum ObjState {
    /** No local data; not the owner (a probable-owner hint may be kept). */
    INV_COPY,
    /** A read-only replica; the owner lists this node in its copyset. */
    READ_COPY,
    /** Owner with read access; other copies are in the copyset. */
    READ_OWNER,
    /** Exclusive owner with write access. */
    WRITE_OWNER,
    /** Exclusive owner that received the object by flush or recovery; the first local access makes it WRITE_OWNER. */
    WRITE_GHOST,
    /** New owner waiting for the invalidation acks of the former readers. */
    WAIT_ACK_INV,
    /** Owner upgrading from read to write, waiting for the invalidation acks. */
    WAIT_ACK_WRITE,
    /** Flushing owner waiting for the new owner to acknowledge the hand-off. */
    WAIT_CHG_OWN_ACK,
    /** Read request outstanding. */
    WAIT_OBJ_READ,
    /** Write request outstanding (a read copy may be kept until it is invalidated). */
    WAIT_OBJ_WRITE,
    /** Cluster-wide removal in progress on the owner. */
    WAIT_OBJ_RM_DONE,
    /** Beyond Kerrighed: the object existed, and every copy died with failed nodes (replication factor too low). */
    LOST;

    private static final Set<ObjState> OWNERS = EnumSet.of(READ_OWNER, WRITE_OWNER, WRITE_GHOST, WAIT_ACK_INV,
            WAIT_ACK_WRITE, WAIT_CHG_OWN_ACK, WAIT_OBJ_RM_DONE);

    /** States a local {@code get} can use at once. */
    public boolean readable() {
        return this == READ_COPY || this == READ_OWNER || this == WRITE_OWNER || this == WRITE_GHOST;
    }

    /** States a local {@code grab} can use at once. */
    public boolean writable() {
        return this == WRITE_OWNER || this == WRITE_GHOST;
    }

    /** This node owns the object (possibly in the middle of a transition). */
    public boolean owner() {
        return OWNERS.contains(this);
    }

    /**
     * The owner is in the middle of a transition: requests from other nodes wait on it. A node waiting for
     * ownership ({@link #WAIT_OBJ_WRITE}) is not transient: it forwards requests along its hint rather than
     * queueing them, so two waiting nodes can never each hold the other's request.
     */
    public boolean transient_() {
        return this == WAIT_ACK_INV || this == WAIT_ACK_WRITE || this == WAIT_CHG_OWN_ACK || this == WAIT_OBJ_RM_DONE;
    }

    /** Local request outstanding. */
    public boolean waitingForObject() {
        return this == WAIT_OBJ_READ || this == WAIT_OBJ_WRITE;
    }

    /** Whether the protocol may move from this state to {@code next}. */
    public boolean canMoveTo(ObjState next) {
        if (next == this || next == LOST) {
            return true;
        }
        return switch (this) {
            case INV_COPY -> next == WAIT_OBJ_READ || next == WAIT_OBJ_WRITE || next == WRITE_OWNER
                    || next == WRITE_GHOST || next == READ_OWNER || next == WAIT_ACK_INV;  // late grants, recovery
            case READ_COPY -> next == INV_COPY || next == WAIT_OBJ_WRITE || next == WAIT_OBJ_READ
                    || next == READ_OWNER || next == WRITE_GHOST || next == WRITE_OWNER || next == WAIT_ACK_INV;
            case READ_OWNER -> next == WRITE_OWNER || next == WAIT_ACK_WRITE || next == INV_COPY
                    || next == WAIT_CHG_OWN_ACK || next == WAIT_OBJ_RM_DONE || next == WRITE_GHOST;
            case WRITE_OWNER -> next == READ_OWNER || next == INV_COPY || next == WAIT_CHG_OWN_ACK
                    || next == WAIT_OBJ_RM_DONE || next == WRITE_GHOST;
            case WRITE_GHOST -> next == WRITE_OWNER || next == READ_OWNER || next == INV_COPY
                    || next == WAIT_CHG_OWN_ACK || next == WAIT_OBJ_RM_DONE;
            case WAIT_ACK_INV, WAIT_ACK_WRITE -> next == WRITE_OWNER;
            case WAIT_CHG_OWN_ACK -> next == INV_COPY || next == READ_OWNER || next == WRITE_OWNER;
            case WAIT_OBJ_READ -> next == READ_COPY || next == INV_COPY || next == WRITE_OWNER
                    || next == WRITE_GHOST || next == READ_OWNER || next == WAIT_ACK_INV || next == WAIT_OBJ_WRITE;
            case WAIT_OBJ_WRITE -> next == WRITE_OWNER || next == WAIT_ACK_INV || next == INV_COPY
                    || next == READ_OWNER || next == WRITE_GHOST || next == READ_COPY;
            case WAIT_OBJ_RM_DONE -> next == INV_COPY;
            case LOST -> next == INV_COPY;
        };
    }

    /** Returns {@code next} if the move is legal, else throws naming it. */
    public ObjState check(ObjState next, long objectId) {
        if (!canMoveTo(next)) {
            throw new IllegalStateException("KDDM protocol error: object " + objectId + " cannot move from " + this
                    + " to " + next);
        }
        return next;
    }
}
