package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.sysv.Message;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.ArrayList;

/**
 * The KDDM objects and wire messages of SysV IPC (registered as types 5200-5299). The mutable classes are only
 * changed under a write handle of a {@code LOCAL_EXCLUSIVE} set, so no other thread sees them half-changed.
 */
public final class SysvState {
    private SysvState() {
    }

    /** The next sequence number of an id family (object 0: semaphore sets, 1: message queues). */
    public record Counter(long next, boolean wrapped) {
    }

    /** What a key names: the id of its object (0: none). */
    public record KeyEntry(int id) {
        public static final KeyEntry FREE = new KeyEntry(0);
    }

    /** One semaphore set. */
    public static final class SemSet {
        public int id;
        public int key;
        public IpcPerm perm;
        public Caller creator;
        public int[] values;
        public Caller[] lastOp;
        public long otime;
        public long ctime;
        public boolean removed;
        public ArrayList<SemWaiter> waiters = new ArrayList<>();
        public ArrayList<Undo> undos = new ArrayList<>();

        public SemSet() {
        }
    }

    /**
     * A caller sleeping on a semaphore set: its operations, and the semaphore it blocked on ({@code forZero}: it
     * waits for zero there, else for an increase), for GETNCNT/GETZCNT.
     */
    public record SemWaiter(WaiterRef ref, int[] nums, int[] deltas, int blockedOn, boolean forZero) {
    }

    /** A holder's undo adjustments in one set (added to the values when the holder exits). */
    public record Undo(Caller holder, int[] adj) {
    }

    /** The sets in which holders may have undo adjustments (one object per node for threads, per process). */
    public static final class UndoIndex {
        public ArrayList<Holding> holdings = new ArrayList<>();

        public UndoIndex() {
        }
    }

    /** {@code holder} may have undo adjustments in set {@code semId}. */
    public record Holding(Caller holder, int semId) {
    }

    /** One message queue, kept on its master node. */
    public static final class MsgQueue {
        static final int RECENT = 64;

        public int id;
        public int key;
        public IpcPerm perm;
        public Caller creator;
        public int qbytes;
        public long cbytes;
        public ArrayList<Message> messages = new ArrayList<>();
        public Caller lastSender;
        public Caller lastReceiver;
        public long stime;
        public long rtime;
        public long ctime;
        public boolean removed;
        public ArrayList<MsgWaiter> waiters = new ArrayList<>();
        /** Request ids of the last operations applied, and what a receive took, so a retried request is not re-applied. */
        public long[] recentIds = new long[RECENT];
        public Message[] recentResults = new Message[RECENT];
        public int recentPos;

        public MsgQueue() {
        }
    }

    /** A caller sleeping on a queue: a sender (waits for room) or a receiver (waits for a matching message). */
    public record MsgWaiter(WaiterRef ref, boolean sender, long type, int flags) {
    }

    /** A send, receive or waiter cancellation forwarded to a queue's master node. */
    public record MsgReq(int qid, int op, Credentials creds, Caller caller, long type, byte[] body, int flags,
                         int maxSize, WaiterRef waiter, long reqId) {
    }

    /**
     * The master's answer: {@code status} OK (with the message received, if any), BLOCKED (the waiter was
     * registered) or ERROR ({@code errno} and {@code message}; errno "EACCES" for a permission failure).
     */
    public record MsgReply(int status, long type, byte[] body, String errno, String message) {
    }
}
