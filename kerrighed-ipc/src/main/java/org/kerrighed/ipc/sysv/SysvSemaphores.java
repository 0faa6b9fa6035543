package org.kerrighed.ipc.sysv;

import org.kerrighed.kddm.access.Caller;

import java.util.concurrent.TimeUnit;

/**
 * SysV-style semaphore sets shared by the whole cluster ({@code semget}, {@code semop}, {@code semctl}): a set
 * made on one node is used by its id from any node. One per node ({@code ipc.semaphores()}); thread-safe.
 *
 * <p><b>Callers.</b> Permissions are checked with the caller's credentials and undo lists are kept per holder,
 * both from {@code ipc.callers()}: until processes exist a holder is a thread of a node.
 *
 * <p><b>Blocking.</b> Only {@link #semop} and {@link #semtimedop} wait for values; the waiting thread is parked
 * (WAITING or TIMED_WAITING) until a change that may satisfy it is made on any node. Every other method takes
 * the set for an instant (bounded by KDDM's call timeout). Waits answer interrupts with
 * {@link InterruptedException}.
 *
 * <p><b>Failures.</b> A set's state is replicated on two nodes: it survives the death of any one node. The
 * {@link Sysv#SEM_UNDO} adjustments of the threads of a dead node are applied by a surviving node.
 *
 * <p><b>Errors.</b> {@link NoSuchKeyException} (ENOENT), {@link KeyExistsException} (EEXIST),
 * {@link IdentifierRemovedException} (EIDRM), {@link WouldBlockException} (EAGAIN),
 * {@link org.kerrighed.kddm.access.PermissionDeniedException} (EACCES, EPERM), {@link SysvException} with errno
 * EINVAL (no such id, bad semaphore number or size) or ERANGE (a value out of 0..{@value Sysv#SEMVMX}).
 */
public interface SysvSemaphores {
    /**
     * The id of the set under {@code key} ({@code semget}). With {@link Sysv#IPC_CREAT} a set of {@code nsems}
     * semaphores (all 0) is made if the key has none, owned by the caller with {@code mode}'s permission bits;
     * with {@link Sysv#IPC_EXCL} too, an existing set is an error. {@link Sysv#IPC_PRIVATE} makes a new set every
     * time. For an existing set, {@code nsems} must not exceed its size (0 accepts any) and the permissions
     * {@code mode} asks for are checked.
     *
     * @throws NoSuchKeyException no set under {@code key} and no {@link Sysv#IPC_CREAT}
     * @throws KeyExistsException {@link Sysv#IPC_CREAT} | {@link Sysv#IPC_EXCL} and the key has a set
     */
    int get(int key, int nsems, int flags, int mode);

    /**
     * Applies {@code ops} atomically ({@code semop}): all of them or none, waiting (parked) until all can be
     * applied at once. See {@link SemOp} for the operations and flags. Needs write permission, or read
     * permission when every operation waits for zero.
     *
     * @throws WouldBlockException the operations cannot be applied now and one has {@link Sysv#IPC_NOWAIT}
     * @throws IdentifierRemovedException the set was removed while the caller waited
     * @throws InterruptedException the waiting thread was interrupted (nothing was applied)
     */
    void semop(int id, SemOp... ops) throws InterruptedException;

    /**
     * {@link #semop} waiting at most {@code timeout} ({@code semtimedop}).
     *
     * @return true when applied, false when the timeout elapsed first (nothing was applied)
     */
    boolean semtimedop(int id, long timeout, TimeUnit unit, SemOp... ops) throws InterruptedException;

    /** The value of semaphore {@code num} ({@code GETVAL}; read permission). */
    int getVal(int id, int num);

    /**
     * Sets semaphore {@code num} to {@code value} ({@code SETVAL}; write permission): every holder's undo
     * adjustment of that semaphore is cleared and waiters that may now proceed are woken.
     */
    void setVal(int id, int num, int value);

    /** Every value of the set ({@code GETALL}; read permission). */
    int[] getAll(int id);

    /** Sets every value ({@code SETALL}; write permission; {@code values.length} must be the set's size). */
    void setAll(int id, int... values);

    /** Who last operated on semaphore {@code num} ({@code GETPID}; read permission), null if nobody did. */
    Caller getPid(int id, int num);

    /** How many callers wait for semaphore {@code num} to increase ({@code GETNCNT}; read permission). */
    int getNcnt(int id, int num);

    /** How many callers wait for semaphore {@code num} to become zero ({@code GETZCNT}; read permission). */
    int getZcnt(int id, int num);

    /** The set's {@code semid_ds} ({@code IPC_STAT}; read permission). */
    SemStat stat(int id);

    /** Changes the owner and mode ({@code IPC_SET}; only the owner, the creator or root). */
    void setPerms(int id, int uid, int gid, int mode);

    /**
     * Removes the set ({@code IPC_RMID}; only the owner, the creator or root): its key becomes free, waiting
     * callers on every node fail with {@link IdentifierRemovedException}, later calls with EINVAL.
     */
    void remove(int id);

    /**
     * Applies and forgets every undo adjustment of {@code holder} in every set (what {@code exit} does on
     * Linux). The process layer calls it when a process ends; threads of a node are handled without it (when
     * they end, and when their node dies), but calling it for a thread is allowed. Idempotent.
     */
    void holderExited(Caller holder);
}
