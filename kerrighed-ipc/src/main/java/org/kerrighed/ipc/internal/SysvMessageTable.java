package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.internal.SysvState.MsgQueue;
import org.kerrighed.ipc.internal.SysvState.MsgReply;
import org.kerrighed.ipc.internal.SysvState.MsgReq;
import org.kerrighed.ipc.internal.SysvState.MsgWaiter;
import org.kerrighed.ipc.sysv.IdentifierRemovedException;
import org.kerrighed.ipc.sysv.Message;
import org.kerrighed.ipc.sysv.MsgStat;
import org.kerrighed.ipc.sysv.Sysv;
import org.kerrighed.ipc.sysv.SysvException;
import org.kerrighed.ipc.sysv.SysvMessageQueues;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.IpcPerm;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Message queues: each queue is one KDDM object kept on its master node ({@link #master}); sends and receives
 * from other nodes are forwarded there ({@link #MSG_OP}) and applied under the queue's write handle, so the
 * object stays put and each message costs one round trip plus the copy to the backup node. A caller that must
 * wait registers its sleeper with the request and parks on its own node; the master wakes it when a send or
 * receive may satisfy it. Every request carries a random id; the queue remembers the last
 * {@value SysvState.MsgQueue#RECENT} applied, so a request re-sent after its master died is not applied twice.
 */
final class SysvMessageTable implements SysvMessageQueues {
    private static final Logger log = LoggerFactory.getLogger(SysvMessageTable.class);

    static final ServiceKey<MsgReq, MsgReply> MSG_OP = ServiceKey.of(150, "ipc.sysv.msg", MsgReq.class,
            MsgReply.class);

    static final int OP_SEND = 1;
    static final int OP_RECV = 2;
    static final int OP_CANCEL = 3;
    static final int OK = 0;
    static final int BLOCKED = 1;
    static final int ERROR = 2;
    /** errno of a reply for a queue that does not exist (EINVAL, or EIDRM for a caller that waited). */
    private static final String GONE = "GONE";
    private static final long RETRY_MILLIS = 30_000;

    private final SysvService svc;
    private final KddmSet<MsgQueue> queues;

    SysvMessageTable(SysvService svc) {
        this.svc = svc;
        this.queues = svc.msgQueues;
        svc.kddm().rpc().register(MSG_OP, HandlerKind.BLOCKING, (ctx, req) -> serve(req));
    }

    private static String name(int id) {
        return "message queue " + id;
    }

    // ------------------------------------------------------------------ get and control

    @Override
    public int get(int key, int flags, int mode) {
        SysvService.checkMode(mode);
        Credentials c = svc.ipc().callers().credentials();
        return svc.lookup(svc.msgKeys, "message queue", key, flags, id -> {
            Optional<Handle<MsgQueue>> oh = queues.getIfExists(id);
            if (oh.isEmpty()) {
                return false;
            }
            try (Handle<MsgQueue> h = oh.get()) {
                MsgQueue q = h.value();
                if (q == null || q.removed) {
                    return false;
                }
                SysvService.checkRequested(q.perm, c, mode, name(id));
                return true;
            }
        }, () -> {
            int id = svc.allocate(SysvService.FAMILY_MSG, queues);
            MsgQueue q = new MsgQueue();
            q.id = id;
            q.key = key;
            q.perm = IpcPerm.createdBy(c, mode);
            q.creator = svc.ipc().callers().caller();
            q.qbytes = Sysv.MSGMNB;
            q.ctime = System.currentTimeMillis();
            try (Handle<MsgQueue> h = queues.grab(id)) {
                h.set(q);
            }
            return id;
        });
    }

    @Override
    public MsgStat stat(int id) {
        Optional<Handle<MsgQueue>> oh = queues.getIfExists(id);
        if (oh.isEmpty()) {
            throw gone(id, false);
        }
        try (Handle<MsgQueue> h = oh.get()) {
            MsgQueue q = h.value();
            if (q == null || q.removed) {
                throw gone(id, false);
            }
            q.perm.check(svc.ipc().callers().credentials(), Access.READ, name(id));
            return new MsgStat(q.id, q.key, q.perm, q.messages.size(), q.cbytes, q.qbytes, q.lastSender,
                    q.lastReceiver, Instant.ofEpochMilli(q.stime), Instant.ofEpochMilli(q.rtime),
                    Instant.ofEpochMilli(q.ctime), q.creator);
        }
    }

    @Override
    public void setPerms(int id, int uid, int gid, int mode) {
        SysvService.checkMode(mode);
        change(id, q -> {
            q.perm.checkOwner(svc.ipc().callers().credentials(), "IPC_SET on " + name(id));
            q.perm = new IpcPerm(uid, gid, q.perm.cuid(), q.perm.cgid(), mode);
            q.ctime = System.currentTimeMillis();
        });
    }

    @Override
    public void setMaxBytes(int id, int qbytes) {
        if (qbytes < 1 || qbytes > Sysv.MSGMNB_MAX) {
            throw new SysvException("EINVAL", "the byte limit of " + name(id) + " must be 1 to " + Sysv.MSGMNB_MAX
                    + ", got " + qbytes);
        }
        change(id, q -> {
            q.perm.checkOwner(svc.ipc().callers().credentials(), "IPC_SET on " + name(id));
            q.qbytes = qbytes;
            q.ctime = System.currentTimeMillis();
            wake(q, true, null);
        });
    }

    @Override
    public void remove(int id) {
        List<MsgWaiter> waiters = new ArrayList<>();
        int[] key = new int[1];
        change(id, q -> {
            q.perm.checkOwner(svc.ipc().callers().credentials(), "IPC_RMID on " + name(id));
            q.removed = true;
            key[0] = q.key;
            q.messages.clear();
            q.cbytes = 0;
            waiters.addAll(q.waiters);
            q.waiters.clear();
        });
        svc.forgetKey(svc.msgKeys, key[0], id);
        queues.remove(id);
        for (MsgWaiter w : waiters) {
            svc.sleepers().wake(w.ref(), SysvSemaphoreTable.WAKE_REMOVED, 0);
        }
    }

    private void change(int id, Consumer<MsgQueue> f) {
        Optional<Handle<MsgQueue>> oh = queues.grabIfExists(id);
        if (oh.isEmpty()) {
            throw gone(id, false);
        }
        Handle<MsgQueue> h = oh.get();
        boolean changed = false;
        try {
            MsgQueue q = h.value();
            if (q == null || q.removed) {
                throw gone(id, false);
            }
            f.accept(q);
            changed = true;
        } finally {
            h.release(changed);
        }
    }

    private static SysvException gone(int id, boolean waited) {
        return waited ? new IdentifierRemovedException(name(id) + " was removed while the caller waited on it")
                : new SysvException("EINVAL", "no " + name(id) + " (never made, or removed)");
    }

    // ------------------------------------------------------------------ send and receive (caller side)

    @Override
    public void send(int id, long type, byte[] body, int flags) throws InterruptedException {
        send(id, type, body, flags, Long.MAX_VALUE, TimeUnit.NANOSECONDS);
    }

    @Override
    public boolean send(int id, long type, byte[] body, int flags, long timeout, TimeUnit unit)
            throws InterruptedException {
        if (type <= 0) {
            throw new SysvException("EINVAL", "send on " + name(id) + ": a message's type must be > 0, got " + type);
        }
        if (body == null || body.length > Sysv.MSGMAX) {
            throw new SysvException("EINVAL", "send on " + name(id) + ": the body must be 0 to " + Sysv.MSGMAX
                    + " bytes, got " + (body == null ? "null" : body.length));
        }
        if ((flags & ~Sysv.IPC_NOWAIT) != 0) {
            throw new SysvException("EINVAL", "send flags are IPC_NOWAIT, got 0" + Integer.toOctalString(flags));
        }
        return call(id, OP_SEND, type, body, flags, 0, SysvSemaphoreTable.deadline(timeout, unit)) != null;
    }

    @Override
    public Message receive(int id, int maxSize, long type, int flags) throws InterruptedException {
        return receive(id, maxSize, type, flags, Long.MAX_VALUE, TimeUnit.NANOSECONDS).orElseThrow();
    }

    @Override
    public Optional<Message> receive(int id, int maxSize, long type, int flags, long timeout, TimeUnit unit)
            throws InterruptedException {
        if (maxSize < 0) {
            throw new SysvException("EINVAL", "receive on " + name(id) + ": maxSize must be >= 0, got " + maxSize);
        }
        if ((flags & ~(Sysv.IPC_NOWAIT | Sysv.MSG_NOERROR | Sysv.MSG_EXCEPT)) != 0) {
            throw new SysvException("EINVAL", "receive flags are IPC_NOWAIT, MSG_NOERROR and MSG_EXCEPT, got 0"
                    + Integer.toOctalString(flags));
        }
        MsgReply r = call(id, OP_RECV, type, null, flags, maxSize, SysvSemaphoreTable.deadline(timeout, unit));
        return r == null ? Optional.empty() : Optional.of(new Message(r.type(), r.body()));
    }

    /** Runs a send or receive at the master, sleeping here between attempts; null when the deadline passed. */
    private MsgReply call(int id, int op, long type, byte[] body, int flags, int maxSize, long deadline)
            throws InterruptedException {
        Credentials creds = svc.ipc().callers().credentials();
        var caller = svc.ipc().callers().caller();
        boolean noWait = (flags & Sysv.IPC_NOWAIT) != 0;
        long reqId = ThreadLocalRandom.current().nextLong();
        Sleepers.Sleeper sleeper = noWait ? null : svc.sleepers().sleeper();
        boolean waited = false;
        try {
            while (true) {
                WaiterRef ref = sleeper == null || SysvSemaphoreTable.expired(deadline) ? null : sleeper.ref();
                MsgReply r = invoke(id, new MsgReq(id, op, creds, caller, type, body, flags, maxSize, ref, reqId));
                switch (r.status()) {
                    case OK -> {
                        return r;
                    }
                    case ERROR -> throw error(id, r, waited);
                    default -> {
                        if (ref == null) {
                            return null;                  // deadline passed: the master registered nothing
                        }
                    }
                }
                try {
                    if (!sleeper.await(deadline)) {
                        cancel(id, ref);
                        return null;
                    }
                } catch (InterruptedException e) {
                    cancel(id, ref);
                    throw e;
                }
                waited = true;
            }
        } finally {
            if (sleeper != null) {
                sleeper.close();
            }
        }
    }

    private static RuntimeException error(int id, MsgReply r, boolean waited) {
        return switch (r.errno()) {
            case GONE -> gone(id, waited);
            case "EACCES" -> new PermissionDeniedException(r.message());
            default -> SysvException.of(r.errno(), r.message());
        };
    }

    private void cancel(int id, WaiterRef ref) {
        try {
            invoke(id, new MsgReq(id, OP_CANCEL, null, null, 0, null, 0, 0, ref, 0));
        } catch (RuntimeException e) {
            log.debug("cancelling waiter {} of {} failed: {}", ref, name(id), e.toString());
        }
    }

    /** The queue's master: the node that made it while it is a member, else a live member chosen by the id. */
    int master(int id) {
        int creator = SysvService.creatorNode(id);
        if (svc.kddm().isMember(creator)) {
            return creator;
        }
        int[] m = svc.kddm().members().clone();
        Arrays.sort(m);
        return m.length == 0 ? svc.kddm().nodeId() : m[Integer.remainderUnsigned(id >>> 8, m.length)];
    }

    /**
     * Sends {@code req} to the queue's master (or serves it here), re-sending it to the new master when the
     * master fails or does not answer (its id makes a re-sent request harmless), for up to
     * {@value #RETRY_MILLIS} ms.
     */
    private MsgReply invoke(int id, MsgReq req) {
        long giveUp = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS);
        while (true) {
            int m = master(id);
            if (m == svc.kddm().nodeId()) {
                return serve(req);
            }
            try {
                return svc.kddm().rpc().call(m, MSG_OP, req).join();
            } catch (CompletionException e) {
                Throwable cause = e.getCause();
                // a master whose KDDM stopped (it is closing or fenced) is failing: try again, as when it does not
                // answer; any other error of the master's is the request's
                if (cause instanceof RemoteException re && !KddmException.class.getName().equals(re.remoteType())) {
                    throw new KddmException(name(id) + ": its master node " + m + " failed the request: "
                            + re.getMessage());
                }
                if (!(cause instanceof KerrighedException) || System.nanoTime() - giveUp >= 0) {
                    throw new KddmException(name(id) + ": its master node " + m + " did not answer: " + cause);
                }
                log.debug("{}: master {} did not answer ({}); trying again", name(id), m, cause.toString());
                try {
                    Thread.sleep(50);                  // only while a node fails: until the view drops it
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new KddmException(name(id) + ": interrupted while its master node " + m + " failed");
                }
            }
        }
    }

    // ------------------------------------------------------------------ send and receive (master side)

    private static MsgReply fail(String errno, String message) {
        return new MsgReply(ERROR, 0, null, errno, message);
    }

    private static final MsgReply SENT = new MsgReply(OK, 0, null, null, null);
    private static final MsgReply BLOCKED_REPLY = new MsgReply(BLOCKED, 0, null, null, null);

    /** Applies a request under the queue's write handle (on the master, usually: the queue is then local). */
    MsgReply serve(MsgReq req) {
        int id = req.qid();
        Optional<Handle<MsgQueue>> oh = queues.grabIfExists(id);
        if (oh.isEmpty()) {
            return fail(GONE, name(id));
        }
        Handle<MsgQueue> h = oh.get();
        boolean changed = false;
        try {
            MsgQueue q = h.value();
            if (q == null || q.removed) {
                return fail(GONE, name(id));
            }
            if (req.op() == OP_CANCEL) {
                changed = q.waiters.removeIf(w -> w.ref().equals(req.waiter()));
                return SENT;
            }
            for (int i = 0; i < MsgQueue.RECENT; i++) {
                if (q.recentIds[i] == req.reqId() && req.reqId() != 0) {
                    Message m = q.recentResults[i];
                    return m == null ? SENT : new MsgReply(OK, m.type(), m.body(), null, null);
                }
            }
            Access access = req.op() == OP_SEND ? Access.WRITE : Access.READ;
            try {
                q.perm.check(req.creds(), access, name(id));
            } catch (PermissionDeniedException e) {
                return fail("EACCES", e.getMessage());       // rethrown as such on the caller's node
            }
            MsgReply r = req.op() == OP_SEND ? send(q, req) : receive(q, req);
            changed = r.status() == OK || r.status() == BLOCKED;
            return r;
        } finally {
            h.release(changed);
        }
    }

    private MsgReply send(MsgQueue q, MsgReq req) {
        int len = req.body().length;
        if (len > q.qbytes) {
            return fail("EINVAL", "send on " + name(q.id) + ": a " + len + "-byte message can never fit the queue's "
                    + q.qbytes + "-byte limit");
        }
        if (q.cbytes + len > q.qbytes || q.messages.size() + 1 > q.qbytes) {
            return block(q, req, "EAGAIN", "send on " + name(q.id) + " would wait: " + q.cbytes + " of "
                    + q.qbytes + " bytes used, " + len + " more asked, and IPC_NOWAIT was given");
        }
        Message m = new Message(req.type(), req.body());
        q.messages.add(m);
        q.cbytes += len;
        q.lastSender = req.caller();
        q.stime = System.currentTimeMillis();
        remember(q, req.reqId(), null);
        dropWaiter(q, req.waiter());
        wake(q, false, m);
        return SENT;
    }

    private MsgReply receive(MsgQueue q, MsgReq req) {
        int at = find(q.messages, req.type(), req.flags());
        if (at < 0) {
            return block(q, req, "ENOMSG", "receive on " + name(q.id) + ": no message of type " + req.type()
                    + " and IPC_NOWAIT was given");
        }
        Message m = q.messages.get(at);
        byte[] body = m.body();
        if (body.length > req.maxSize()) {
            if ((req.flags() & Sysv.MSG_NOERROR) == 0) {
                return fail("E2BIG", "receive on " + name(q.id) + ": the message of type " + m.type() + " has "
                        + body.length + " bytes, more than the " + req.maxSize()
                        + " asked (MSG_NOERROR truncates); it stays in the queue");
            }
            body = Arrays.copyOf(body, req.maxSize());
        }
        q.messages.remove(at);
        q.cbytes -= m.body().length;
        q.lastReceiver = req.caller();
        q.rtime = System.currentTimeMillis();
        Message given = new Message(m.type(), body);
        remember(q, req.reqId(), given);
        dropWaiter(q, req.waiter());
        wake(q, true, null);
        return new MsgReply(OK, given.type(), given.body(), null, null);
    }

    /** The index of the message a receive of {@code type} with {@code flags} takes, or -1. */
    static int find(List<Message> messages, long type, int flags) {
        if (type == 0) {
            return messages.isEmpty() ? -1 : 0;
        }
        if (type > 0) {
            boolean except = (flags & Sysv.MSG_EXCEPT) != 0;
            for (int i = 0; i < messages.size(); i++) {
                if ((messages.get(i).type() == type) != except) {
                    return i;
                }
            }
            return -1;
        }
        long limit = type == Long.MIN_VALUE ? Long.MAX_VALUE : -type;
        int best = -1;
        for (int i = 0; i < messages.size(); i++) {
            long t = messages.get(i).type();
            if (t <= limit && (best < 0 || t < messages.get(best).type())) {
                best = i;
            }
        }
        return best;
    }

    private MsgReply block(MsgQueue q, MsgReq req, String errno, String noWaitMessage) {
        if ((req.flags() & Sysv.IPC_NOWAIT) != 0) {
            return fail(errno, noWaitMessage);
        }
        if (req.waiter() == null) {
            return BLOCKED_REPLY;              // timed out: the caller only wanted a last try
        }
        dropWaiter(q, req.waiter());
        q.waiters.add(new MsgWaiter(req.waiter(), req.op() == OP_SEND, req.type(), req.flags()));
        return BLOCKED_REPLY;
    }

    private static void dropWaiter(MsgQueue q, WaiterRef ref) {
        if (ref != null) {
            q.waiters.removeIf(w -> w.ref().equals(ref));
        }
    }

    private static void remember(MsgQueue q, long reqId, Message result) {
        q.recentIds[q.recentPos] = reqId;
        q.recentResults[q.recentPos] = result;
        q.recentPos = (q.recentPos + 1) % MsgQueue.RECENT;
    }

    /**
     * Wakes the senders ({@code senders}: room was made) or the receivers that {@code sent} matches, dropping
     * them from the list (they register again if they must still wait), and forgets waiters of departed nodes.
     */
    private void wake(MsgQueue q, boolean senders, Message sent) {
        for (Iterator<MsgWaiter> it = q.waiters.iterator(); it.hasNext(); ) {
            MsgWaiter w = it.next();
            if (!svc.sleepers().isLive(w.ref())) {
                it.remove();
            } else if (senders ? w.sender()
                    : !w.sender() && find(List.of(sent), w.type(), w.flags()) == 0) {
                it.remove();
                svc.sleepers().wake(w.ref(), SysvSemaphoreTable.WAKE_CHANGED, 0);
            }
        }
    }
}
