package org.kerrighed.ipc.sysv;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * SysV-style message queues shared by the whole cluster ({@code msgget}, {@code msgsnd}, {@code msgrcv},
 * {@code msgctl}): a queue made on one node is used by its id from any node. One per node
 * ({@code ipc.messageQueues()}); thread-safe.
 *
 * <p><b>Where messages live.</b> A queue's messages are kept on its <i>master</i> node (the node that made it
 * while it lives, else one chosen among the live members by the id) in a KDDM object replicated on two nodes;
 * {@code send} and {@code receive} from other nodes are forwarded to the master, so the queue does not travel
 * with each message. A message is acknowledged ({@code send} returns) once it is on two nodes: it survives the
 * death of any one node, the master included.
 *
 * <p><b>Blocking.</b> {@code send} waits while the queue is full (its byte limit), {@code receive} while no
 * message matches; the thread is parked until a change on any node may satisfy it. Waits answer interrupts
 * with {@link InterruptedException}.
 *
 * <p><b>Errors.</b> {@link NoSuchKeyException}, {@link KeyExistsException}, {@link IdentifierRemovedException},
 * {@link WouldBlockException} (EAGAIN for send, ENOMSG for receive), {@link MessageTooBigException},
 * {@link org.kerrighed.kddm.access.PermissionDeniedException}, {@link SysvException} with errno EINVAL.
 */
public interface SysvMessageQueues {
    /**
     * The id of the queue under {@code key} ({@code msgget}); {@code flags} and {@code mode} as in
     * {@link SysvSemaphores#get}. A new queue's byte limit is {@value Sysv#MSGMNB}.
     */
    int get(int key, int flags, int mode);

    /**
     * Appends a message ({@code msgsnd}; write permission), waiting while it does not fit the queue's byte
     * limit (or the queue holds as many messages as its limit has bytes).
     *
     * @param type  the message's type, {@code > 0}
     * @param flags {@link Sysv#IPC_NOWAIT} or 0
     * @throws WouldBlockException the queue is full and {@link Sysv#IPC_NOWAIT} was given
     * @throws SysvException (EINVAL) the body is longer than the queue's limit or {@value Sysv#MSGMAX}
     */
    void send(int id, long type, byte[] body, int flags) throws InterruptedException;

    /** {@link #send(int, long, byte[], int)} waiting at most {@code timeout}; false when it elapsed (not sent). */
    boolean send(int id, long type, byte[] body, int flags, long timeout, TimeUnit unit) throws InterruptedException;

    /**
     * Takes a message ({@code msgrcv}; read permission): with {@code type == 0} the first message; with
     * {@code type > 0} the first of that type (with {@link Sysv#MSG_EXCEPT}, the first of any other type); with
     * {@code type < 0} the first of the lowest type {@code <= |type|}. Waits until one is there.
     *
     * @param maxSize the largest body the caller takes; a longer one is truncated with {@link Sysv#MSG_NOERROR},
     *                else the call fails with {@link MessageTooBigException} and the message stays
     * @param flags   {@link Sysv#IPC_NOWAIT}, {@link Sysv#MSG_NOERROR}, {@link Sysv#MSG_EXCEPT}
     * @throws WouldBlockException (ENOMSG) no message matches and {@link Sysv#IPC_NOWAIT} was given
     */
    Message receive(int id, int maxSize, long type, int flags) throws InterruptedException;

    /** {@link #receive(int, int, long, int)} waiting at most {@code timeout}; empty when it elapsed. */
    Optional<Message> receive(int id, int maxSize, long type, int flags, long timeout, TimeUnit unit)
            throws InterruptedException;

    /** The queue's {@code msqid_ds} ({@code IPC_STAT}; read permission). */
    MsgStat stat(int id);

    /** Changes the owner and mode ({@code IPC_SET}; only the owner, the creator or root). */
    void setPerms(int id, int uid, int gid, int mode);

    /**
     * Changes the byte limit ({@code IPC_SET}'s {@code msg_qbytes}; only the owner, the creator or root), 1 to
     * {@value Sysv#MSGMNB_MAX}; senders that now fit are woken. Messages already queued stay.
     */
    void setMaxBytes(int id, int qbytes);

    /** Removes the queue and its messages ({@code IPC_RMID}); waiting callers fail with EIDRM. */
    void remove(int id);
}
