package org.kerrighed.ipc.sysv;

/**
 * One operation of a {@code semop} on semaphore {@code num} of a set: {@code delta > 0} adds, {@code delta < 0}
 * subtracts (waiting until the value is large enough), {@code delta == 0} waits until the value is zero.
 * {@code flags}: {@link Sysv#IPC_NOWAIT}, {@link Sysv#SEM_UNDO}. Immutable.
 */
public record SemOp(int num, int delta, int flags) {
    public SemOp {
        if (num < 0) {
            throw new IllegalArgumentException("semaphore number must be >= 0, got " + num);
        }
        if (Math.abs((long) delta) > Sysv.SEMVMX) {
            throw new IllegalArgumentException("semaphore operation " + delta + " is out of range (|delta| <= "
                    + Sysv.SEMVMX + ")");
        }
        if ((flags & ~(Sysv.IPC_NOWAIT | Sysv.SEM_UNDO)) != 0) {
            throw new IllegalArgumentException("semop flags are IPC_NOWAIT and SEM_UNDO, got 0x"
                    + Integer.toHexString(flags));
        }
    }

    /** {@code delta} on semaphore {@code num}, no flags. */
    public static SemOp of(int num, int delta) {
        return new SemOp(num, delta, 0);
    }

    /** {@code delta} on semaphore {@code num}, undone when the holder exits ({@link Sysv#SEM_UNDO}). */
    public static SemOp undo(int num, int delta) {
        return new SemOp(num, delta, Sysv.SEM_UNDO);
    }

    /** This operation with {@link Sysv#IPC_NOWAIT} added. */
    public SemOp noWait() {
        return new SemOp(num, delta, flags | Sysv.IPC_NOWAIT);
    }

    public boolean undoable() {
        return (flags & Sysv.SEM_UNDO) != 0;
    }

    public boolean noWaitFlag() {
        return (flags & Sysv.IPC_NOWAIT) != 0;
    }
}
