package org.kerrighed.ipc.sysv;

import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.IpcPerm;

import java.time.Instant;

/**
 * A semaphore set's {@code semid_ds}: its id and key, owner and mode, size, the time of the last {@code semop}
 * ({@link Instant#EPOCH} if none) and of the last change by a control operation, and who created it.
 */
public record SemStat(int id, int key, IpcPerm perm, int nsems, Instant otime, Instant ctime, Caller creator) {
}
