package org.kerrighed.epm;

/** A process's state as {@code ps} shows it, with its one-letter code. */
public enum ProcessState {
    /** Running or ready to run. */
    RUNNING('R'),
    /** Waiting (sleeping, blocked in a lock, a queue, a wait for a child). */
    SLEEPING('S'),
    /** Stopped by STOP until CONT. */
    STOPPED('T'),
    /** Exited, not yet waited for by its parent. */
    ZOMBIE('Z'),
    /** Moving to another node. */
    MIGRATING('M');

    private final char code;

    ProcessState(char code) {
        this.code = code;
    }

    public char code() {
        return code;
    }
}
