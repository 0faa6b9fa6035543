package org.kerrighed.ipc;

import org.kerrighed.ipc.internal.Names;
import org.kerrighed.ipc.internal.SyncSets;
import org.kerrighed.ipc.internal.SyncState;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.IpcPerm;

import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A read-write lock shared by the nodes, with the rules of {@link ReentrantReadWriteLock}: many readers of any
 * nodes at once or one writer; both locks reentrant; a writer may take the read lock and then release the write
 * lock (downgrade); a reader cannot upgrade (it would wait forever, as with the JDK's); the write lock has no
 * conditions here ({@link UnsupportedOperationException}); {@link IllegalMonitorStateException} for an unlock
 * without a hold.
 *
 * <p><b>How it works.</b> It is KDDM's read/write coherence itself: while threads of a node hold the read lock,
 * the node holds a read pin on the lock's object (a read copy: several nodes at once); a writer's node holds the
 * write pin, which KDDM grants only once every other node dropped its copy. Threads of one node share the pin
 * through a local {@link ReentrantReadWriteLock}. A read lock taken again where the object is cached sends no
 * message. Waiters sleep in KDDM until the pins they wait for are released.
 *
 * <p>Thread-safe; the holder is the calling thread.
 */
public final class ClusterReadWriteLock implements ReadWriteLock {
    private final Core core;
    private final Lock readLock;
    private final Lock writeLock;

    ClusterReadWriteLock(Core core) {
        this.core = core;
        this.readLock = new Half(false);
        this.writeLock = new Half(true);
    }

    public String name() {
        return core.name;
    }

    @Override
    public Lock readLock() {
        return readLock;
    }

    @Override
    public Lock writeLock() {
        return writeLock;
    }

    /** True when the calling thread holds the write lock. */
    public boolean isWriteLockedByCurrentThread() {
        return core.local.isWriteLockedByCurrentThread();
    }

    /** How many read holds the calling thread has. */
    public int getReadHoldCount() {
        return core.local.getReadHoldCount();
    }

    @Override
    public String toString() {
        return "ClusterReadWriteLock[" + core.name + "]";
    }

    private final class Half implements Lock {
        private final boolean write;

        Half(boolean write) {
            this.write = write;
        }

        private Lock local() {
            return write ? core.local.writeLock() : core.local.readLock();
        }

        @Override
        public void lock() {
            local().lock();
            boolean ok = false;
            boolean interrupted = false;
            try {
                while (!ok) {
                    try {
                        ok = core.pin(write, Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                if (!ok) {
                    local().unlock();
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            local().lockInterruptibly();
            pinOrUnlock(Long.MAX_VALUE);
        }

        @Override
        public boolean tryLock() {
            if (!local().tryLock()) {
                return false;
            }
            boolean ok = false;
            try {
                ok = core.tryPin(write);
                return ok;
            } finally {
                if (!ok) {
                    local().unlock();
                }
            }
        }

        @Override
        public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
            long deadline = ClusterLock.deadline(time, unit);
            if (!local().tryLock(time, unit)) {
                return false;
            }
            return pinOrUnlock(deadline);
        }

        private boolean pinOrUnlock(long deadline) throws InterruptedException {
            boolean ok = false;
            try {
                ok = core.pin(write, deadline);
                return ok;
            } finally {
                if (!ok) {
                    local().unlock();
                }
            }
        }

        @Override
        public void unlock() {
            if (write ? !core.local.isWriteLockedByCurrentThread() : core.local.getReadHoldCount() == 0) {
                throw new IllegalMonitorStateException((write ? "write" : "read") + " lock of '" + core.name
                        + "' is not held by " + Thread.currentThread());
            }
            try {
                core.unpin(write);
            } finally {
                local().unlock();
            }
        }

        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("cluster read-write locks have no conditions; use a ClusterLock");
        }
    }

    /** One read-write lock on one node: the local lock, and the pins the node holds for its holders. */
    static final class Core {
        final Ipc ipc;
        final String name;
        final long id;
        final int mode;
        final KddmSet<SyncState.RwLock> set;
        final ReentrantReadWriteLock local;
        private final ReentrantLock pins = new ReentrantLock();   // guards the fields below
        private Handle<SyncState.RwLock> readPin;
        private int readers;                                       // read holds of this node's threads
        private Handle<SyncState.RwLock> writePin;
        private int writeHolds;
        private boolean writeDirty;                                // the write pin's state was made: publish it

        Core(Ipc ipc, String name, boolean fair, int mode) {
            this.ipc = ipc;
            this.name = name;
            this.id = Names.id(name);
            this.mode = mode;
            this.set = ipc.syncSets().set(SyncSets.RW_LOCKS, SyncState.RwLock.class);
            this.local = new ReentrantReadWriteLock(fair);
        }

        /** With the local half held: takes the node's pin if needed. False on timeout. */
        boolean pin(boolean write, long deadline) throws InterruptedException {
            if (deadline == Long.MAX_VALUE) {
                pins.lockInterruptibly();
            } else if (!pins.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                return false;
            }
            try {
                if (write ? writePin != null : readPin != null || writePin != null) {
                    count(write, 1);
                    return true;
                }
                long wait = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, deadline - System.nanoTime());
                Optional<Handle<SyncState.RwLock>> h = write ? set.grab(id, wait, TimeUnit.NANOSECONDS)
                        : set.get(id, wait, TimeUnit.NANOSECONDS);
                if (h.isEmpty()) {
                    return false;
                }
                installed(write, h.get());
                return true;
            } finally {
                pins.unlock();
            }
        }

        boolean tryPin(boolean write) {
            pins.lock();
            try {
                if (write ? writePin != null : readPin != null || writePin != null) {
                    count(write, 1);
                    return true;
                }
                Optional<Handle<SyncState.RwLock>> h = write ? set.tryGrab(id) : set.tryGet(id);
                if (h.isEmpty()) {
                    return false;
                }
                installed(write, h.get());
                return true;
            } finally {
                pins.unlock();
            }
        }

        private void installed(boolean write, Handle<SyncState.RwLock> h) {
            SyncState.RwLock s = h.value();
            if (s == null && write) {                 // the first write lock anywhere makes the object
                s = new SyncState.RwLock(name, IpcPerm.createdBy(ipc.callers().credentials(), mode));
                h.set(s);
                writeDirty = true;
            }
            if (s != null) {
                try {
                    Names.checkSame(name, s.name(), "read-write lock");
                    s.perm().check(ipc.callers().credentials(), write ? Access.WRITE : Access.READ,
                            "read-write lock '" + name + "'");
                } catch (RuntimeException e) {
                    h.closeUnchanged();
                    throw e;
                }
            }
            if (write) {
                writePin = h;
            } else {
                readPin = h;
            }
            count(write, 1);
        }

        private void count(boolean write, int delta) {
            if (write) {
                writeHolds += delta;
            } else {
                readers += delta;
            }
        }

        /** Releases one hold; the node's pin goes when its last holder of that kind leaves (write: downgrades). */
        void unpin(boolean write) {
            pins.lock();
            try {
                count(write, -1);
                if (write && writeHolds == 0) {
                    boolean downgrade = readers > 0 && readPin == null;
                    if (downgrade) {
                        // A read copy from our own, taken under the write pin (atomic): find() neither sends nor
                        // waits; a get() would yield to another node's waiting request, which waits for this pin.
                        readPin = set.find(id).orElse(null);
                    }
                    Handle<SyncState.RwLock> h = writePin;
                    writePin = null;
                    if (writeDirty) {
                        writeDirty = false;
                        h.close();                        // publishes the state the first write lock made
                    } else {
                        h.closeUnchanged();               // nothing changed: no message
                    }
                    if (downgrade && readPin == null) {
                        readPin = set.get(id);            // not expected: our copy was not readable
                    }
                } else if (!write && readers == 0 && readPin != null) {
                    Handle<SyncState.RwLock> h = readPin;
                    readPin = null;
                    h.close();
                }
            } finally {
                pins.unlock();
            }
        }
    }
}
