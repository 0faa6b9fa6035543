package org.kerrighed.ipc.sysv;

/**
 * The flags and limits of SysV-style IPC, with Linux's values where Linux has one. Flags are or-ed into the
 * {@code flags} argument of {@code get}, {@code semop}, {@code send} and {@code receive}.
 */
public final class Sysv {
    private Sysv() {
    }

    /** The key of an object that no other {@code get} can find: every {@code get} with it makes a new object. */
    public static final int IPC_PRIVATE = 0;
    /** {@code get}: create the object when the key has none. */
    public static final int IPC_CREAT = 01000;
    /** {@code get} with {@link #IPC_CREAT}: fail with {@link KeyExistsException} when the key has an object. */
    public static final int IPC_EXCL = 02000;
    /** {@code semop}, {@code send}, {@code receive}: fail with {@link WouldBlockException} instead of waiting. */
    public static final int IPC_NOWAIT = 04000;
    /** {@link SemOp} flag: undo the operation when its holder (thread or process) exits or its node dies. */
    public static final int SEM_UNDO = 0x1000;
    /** {@code receive}: truncate a message longer than the receiver's maximum instead of failing. */
    public static final int MSG_NOERROR = 010000;
    /** {@code receive} with a type &gt; 0: take the first message whose type is not that type. */
    public static final int MSG_EXCEPT = 020000;

    /** Largest semaphore value (Linux SEMVMX). */
    public static final int SEMVMX = 32767;
    /** Most semaphores in a set (Linux SEMMSL). */
    public static final int SEMMSL = 32000;
    /** Most operations in one {@code semop} (Linux SEMOPM). */
    public static final int SEMOPM = 500;
    /** Default byte limit of a new message queue (Linux MSGMNB). */
    public static final int MSGMNB = 16384;
    /** Largest byte limit a queue may be given (the whole queue travels as one KDDM object). */
    public static final int MSGMNB_MAX = 8 << 20;
    /** Largest message body (Linux's default MSGMAX is 8192; here 1 MiB, and never more than the queue's limit). */
    public static final int MSGMAX = 1 << 20;
}
