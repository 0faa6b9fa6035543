package org.kerrighed.ipc.sysv;

import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.IpcPerm;

import java.time.Instant;

/**
 * A message queue's {@code msqid_ds}: id and key, owner and mode, the number of messages ({@code qnum}) and of
 * body bytes ({@code cbytes}) queued, the byte limit ({@code qbytes}), the last sender and receiver (null if
 * none), the times of the last send, receive ({@link Instant#EPOCH} if none) and control change, and the creator.
 */
public record MsgStat(int id, int key, IpcPerm perm, int qnum, long cbytes, int qbytes, Caller lastSender,
                      Caller lastReceiver, Instant stime, Instant rtime, Instant ctime, Caller creator) {
}
