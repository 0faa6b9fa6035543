package org.kerrighed.kddm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.kerrighed.kddm.ObjState.*;

/** The transition table: the moves the protocol makes are legal, nonsense moves are refused with a clear message. */
class ObjStateTest {
    @Test
    void protocolMovesAreLegal() {
        assertTrue(INV_COPY.canMoveTo(WAIT_OBJ_READ));
        assertTrue(WAIT_OBJ_READ.canMoveTo(READ_COPY));
        assertTrue(READ_COPY.canMoveTo(INV_COPY));                 // invalidation
        assertTrue(READ_COPY.canMoveTo(WAIT_OBJ_WRITE));           // upgrade request
        assertTrue(WAIT_OBJ_WRITE.canMoveTo(WAIT_ACK_INV));        // ownership with readers to invalidate
        assertTrue(WAIT_ACK_INV.canMoveTo(WRITE_OWNER));
        assertTrue(WRITE_OWNER.canMoveTo(READ_OWNER));             // a remote read downgrades
        assertTrue(READ_OWNER.canMoveTo(WAIT_ACK_WRITE));          // local upgrade
        assertTrue(WRITE_OWNER.canMoveTo(INV_COPY));               // ownership given away
        assertTrue(WRITE_OWNER.canMoveTo(WAIT_CHG_OWN_ACK));       // flush
        assertTrue(WAIT_CHG_OWN_ACK.canMoveTo(INV_COPY));
        assertTrue(WRITE_GHOST.canMoveTo(WRITE_OWNER));
        assertTrue(WRITE_OWNER.canMoveTo(WAIT_OBJ_RM_DONE));
        assertTrue(INV_COPY.canMoveTo(LOST));
        assertTrue(LOST.canMoveTo(INV_COPY));                      // removed
    }

    @Test
    void nonsenseMovesAreRefused() {
        assertFalse(READ_COPY.canMoveTo(WAIT_ACK_WRITE));
        assertFalse(WAIT_ACK_INV.canMoveTo(INV_COPY));             // cannot give away what is not settled
        assertFalse(LOST.canMoveTo(WRITE_OWNER));                  // a lost object is never re-created silently
        var e = assertThrows(IllegalStateException.class, () -> WAIT_OBJ_RM_DONE.check(READ_COPY, 42));
        assertTrue(e.getMessage().contains("42") && e.getMessage().contains("WAIT_OBJ_RM_DONE"), e.getMessage());
    }

    @Test
    void accessPredicates() {
        assertTrue(READ_COPY.readable());
        assertFalse(READ_COPY.writable());
        assertTrue(WRITE_GHOST.writable());
        assertFalse(WAIT_OBJ_WRITE.readable());
        assertTrue(WAIT_ACK_INV.owner());
        assertFalse(READ_COPY.owner());
        assertTrue(WAIT_CHG_OWN_ACK.transient_());
        assertFalse(READ_OWNER.transient_());
    }
}
