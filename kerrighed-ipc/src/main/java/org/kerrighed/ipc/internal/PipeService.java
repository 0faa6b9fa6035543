package org.kerrighed.ipc.internal;

import org.kerrighed.ipc.BrokenPipeException;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.ipc.PipeEndHandle;
import org.kerrighed.ipc.internal.PipeWire.Adopt;
import org.kerrighed.ipc.internal.PipeWire.Counts;
import org.kerrighed.ipc.internal.PipeWire.EndRef;
import org.kerrighed.ipc.internal.PipeWire.PipeInfo;
import org.kerrighed.ipc.internal.PipeWire.PipeOp;
import org.kerrighed.ipc.internal.PipeWire.PipeReply;
import org.kerrighed.kddm.Handle;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmSet;
import org.kerrighed.kddm.SetFlag;
import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.access.Access;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.IpcPerm;
import org.kerrighed.kddm.linkers.ObjectLinker;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RpcTimeoutException;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Pipes and FIFOs on this node. A pipe's bytes live in one {@link PipeBuffer} on the node of one of its readers;
 * writers send their bytes straight to that node, remote readers fetch from it, and the pipe's
 * {@link PipeInfo} (a replicated KDDM object) says which node it is and which ends are open where. When the last
 * reader on the buffer's node closes while readers remain elsewhere, the buffer (with its bytes) moves to one
 * of them; so an end that is passed to another node and opened there gets a direct path, and the node that
 * created the pipe relays nothing once its own ends are closed. Ends on a dead node count as closed. Thread-safe.
 */
public final class PipeService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PipeService.class);

    static final ServiceKey<PipeOp, PipeReply> IO = ServiceKey.of(146, "ipc.pipe.io", PipeOp.class, PipeReply.class);
    static final ServiceKey<Counts, Void> COUNTS = ServiceKey.oneWay(147, "ipc.pipe.counts", Counts.class);
    static final ServiceKey<Adopt, Boolean> ADOPT = ServiceKey.of(148, "ipc.pipe.adopt", Adopt.class, Boolean.class);

    /** Default buffer size, as Linux. */
    public static final int DEFAULT_CAPACITY = 65536;
    /** Writes up to this size are never interleaved with other writers' bytes (PIPE_BUF). */
    public static final int PIPE_BUF = 4096;
    /** Largest piece of a big write sent at once (each piece is atomic). */
    static final int CHUNK = 16384;

    private final Ipc ipc;
    private final Kddm kddm;
    private final Sleepers sleepers;
    private final KddmSet<PipeInfo> infos;
    private final Map<Long, PipeBuffer> buffers = new ConcurrentHashMap<>();
    /** Pipe -> ends open on this node. */
    private final Map<Long, Set<Long>> localEnds = new ConcurrentHashMap<>();
    private final AtomicLong endIds = new AtomicLong(ThreadLocalRandom.current().nextLong(1L << 40) << 16);

    PipeService(Ipc ipc) {
        this.ipc = ipc;
        this.kddm = ipc.kddm();
        this.sleepers = ipc.sleepers();
        // LOCAL_EXCLUSIVE: a write handle excludes this node's other threads too, so each read-change-write of an
        // info (an open, a close with its buffer hand-over, a view change's cleanup) is atomic, not only between nodes
        this.infos = kddm.createStaticSet(ChannelsService.PIPE_INFO_SET,
                kddm.objectSpec(PipeInfo.class).withReplication(SetSpec.SYSTEM_REPLICATION)
                        .withFlags(SetFlag.LOCAL_EXCLUSIVE),
                new ObjectLinker<>(PipeInfo.class));
        kddm.rpc().register(IO, HandlerKind.NON_BLOCKING, (ctx, op) -> io(op, ctx.caller()));
        kddm.rpc().register(COUNTS, HandlerKind.NON_BLOCKING, (ctx, c) -> {
            counts(c);
            return null;
        });
        kddm.rpc().register(ADOPT, HandlerKind.NON_BLOCKING, (ctx, a) -> {
            adopt(a);
            return true;
        });
    }

    // ------------------------------------------------------------------ creating and opening

    /** A new pipe with a reading and a writing end open on this node: {@code [read, write]}. */
    public End[] pipe(int capacity) {
        long id = newPipeId();
        int self = kddm.nodeId();
        long r = endIds.incrementAndGet();
        long w = endIds.incrementAndGet();
        List<EndRef> ends = List.of(new EndRef(self, r, true), new EndRef(self, w, false));
        PipeInfo info = new PipeInfo(id, null, null, capacity, self, 1, ends, true, true, List.of(), 0, false);
        buffers.put(id, new PipeBuffer(id, capacity, info.counts(), sleepers));
        try (Handle<PipeInfo> h = infos.grab(id)) {
            h.set(info);
        }
        localEnds.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).addAll(List.of(r, w));
        return new End[]{opened(new End(id, r, true, "pipe " + id)), opened(new End(id, w, false, "pipe " + id))};
    }

    private static long newPipeId() {
        return ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE | (1L << 62);
    }

    /**
     * Creates FIFO {@code name} with permission {@code mode} for the current caller, if it does not exist. The
     * FIFO is a new pipe (a fresh id), which the name's entry points to: a FIFO made again after an unlink never
     * meets the old one's ends or bytes.
     *
     * @return true when created, false when it already existed
     */
    public boolean mkfifo(String name, int mode) {
        long nameId = Names.id(name);
        try (Handle<PipeInfo> h = infos.grab(nameId)) {
            PipeInfo i = h.value();
            if (i != null) {
                Names.checkSame(name, i.name(), "fifo");
                return false;
            }
            IpcPerm perm = IpcPerm.createdBy(ipc.callers().credentials(), mode);
            long pipe = newPipeId();
            try (Handle<PipeInfo> p = infos.grab(pipe)) {
                p.set(new PipeInfo(pipe, name, perm, DEFAULT_CAPACITY, -1, 1, List.of(), false, false, List.of(), 0,
                        false));
            }
            h.set(new PipeInfo(nameId, name, perm, DEFAULT_CAPACITY, -1, 1, List.of(), false, false, List.of(), pipe,
                    false));
            return true;
        }
    }

    /**
     * Removes FIFO {@code name} (owner or root only): the name is free at once (a new FIFO may be made under it),
     * while ends already open keep working until closed; the pipe goes with its last end.
     */
    public boolean unlinkFifo(String name) {
        long nameId = Names.id(name);
        long pipe;
        try (Handle<PipeInfo> h = infos.grab(nameId)) {
            PipeInfo i = h.value();
            if (i == null) {
                return false;
            }
            Names.checkSame(name, i.name(), "fifo");
            i.perm().checkOwner(ipc.callers().credentials(), "unlink fifo '" + name + "'");
            pipe = i.fifoPipe();
            h.set(null);                           // the name is free (kept as an empty entry: no racing remove)
        }
        PipeInfo dead = null;
        if (pipe == 0) {
            return true;
        }
        try (Handle<PipeInfo> h = infos.grab(pipe)) {
            PipeInfo i = h.value();
            if (i != null && !i.unlinked()) {
                if (i.ends().isEmpty()) {          // nobody has it open: it goes now
                    dead = i.unlink();
                    h.set(null);
                } else {
                    h.set(i.unlink());             // a tombstone until its last end closes
                }
            }
        }
        if (dead != null) {
            forget(dead);
        }
        return true;
    }

    /** Drops a pipe whose entry was just emptied (an unlinked FIFO with no end left): its entry and its buffer. */
    private void forget(PipeInfo dead) {
        try {
            infos.remove(dead.id());
        } catch (RuntimeException ex) {
            log.debug("pipe {}: entry not removed: {}", dead.id(), ex.toString());
        }
        tellCounts(dead);                          // its counts say gone: the buffer node drops the buffer
    }

    /**
     * Opens FIFO {@code name} for reading or writing, checking the caller's credentials against its mode.
     *
     * @throws IllegalArgumentException when no such FIFO exists
     * @throws org.kerrighed.kddm.access.PermissionDeniedException when the mode does not allow it
     */
    public End openFifo(String name, boolean read) {
        long nameId = Names.id(name);
        Credentials c = ipc.callers().credentials();
        String what = "fifo '" + name + "'";
        for (long last = 0; ; ) {
            long pipe;
            try (Handle<PipeInfo> h = infos.get(nameId)) {
                PipeInfo n = h.value();
                if (n == null || n.fifoPipe() == 0) {
                    throw new IllegalArgumentException("no such " + what);
                }
                Names.checkSame(name, n.name(), "fifo");
                pipe = n.fifoPipe();
            }
            if (pipe == last) {                    // the name still names a pipe found gone: none to open
                throw new IllegalArgumentException("no such " + what);
            }
            last = pipe;
            End e = open(pipe, read, info -> {
                Names.checkSame(name, info.name(), "fifo");
                if (info.perm() != null) {
                    info.perm().check(c, read ? Access.READ : Access.WRITE, what);
                }
            }, what, true);
            if (e != null) {
                return e;
            }
            // unlinked meanwhile: the name is free, or names a FIFO made again since
        }
    }

    /** Opens a new end of the pipe {@code h} names, on this node (an unlinked FIFO's too: its ends move so). */
    public End open(PipeEndHandle h) {
        return open(h.pipe(), h.readEnd(), i -> {
        }, "pipe " + h.pipe(), false);
    }

    /** Null when {@code byName} and the pipe is gone or unlinked (the caller looks the name up again). */
    private End open(long id, boolean read, java.util.function.Consumer<PipeInfo> check, String what,
                     boolean byName) {
        int self = kddm.nodeId();
        long end = endIds.incrementAndGet();
        PipeInfo now;
        List<WaiterRef> toWake = List.of();
        try (Handle<PipeInfo> h = infos.grab(id)) {
            PipeInfo i = h.value();
            if (byName && (i == null || i.unlinked())) {
                return null;
            }
            if (i == null || i.fifoPipe() != 0) {  // a FIFO's name entry is no pipe
                throw new IllegalArgumentException("no such " + what);
            }
            check.accept(i);
            List<EndRef> ends = new ArrayList<>(i.ends());
            ends.add(new EndRef(self, end, read));
            int buffer = i.bufferNode();
            if (read && (buffer < 0 || (buffer != self && !kddm.isMember(buffer)))) {
                buffer = self;
            }
            List<WaiterRef> waiters = i.openWaiters();
            if (read) {
                toWake = waiters;
                waiters = List.of();
            }
            now = i.with(buffer, ends, i.everReader() || read, i.everWriter() || !read, waiters);
            if (buffer == self) {
                PipeInfo n = now;
                buffers.compute(id, (k, b) -> b == null || b.isMoved()
                        ? new PipeBuffer(id, n.capacity(), n.counts(), sleepers) : b);
            }
            h.set(now);
        }
        localEnds.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(end);
        tellCounts(now);
        toWake.forEach(w -> sleepers.wake(w, 1, 0));
        return opened(new End(id, end, read, what));
    }

    /** Ends open on this node, by who opened them (a process's are closed when it ends or leaves). */
    private final Set<End> open = ConcurrentHashMap.newKeySet();

    private End opened(End e) {
        open.add(e);
        return e;
    }

    /**
     * Closes every end that {@code holder} opened on this node and has not closed, as Unix closes a process's
     * descriptors when it exits. Returns how many.
     */
    public int closeAll(org.kerrighed.kddm.access.Caller holder) {
        int n = 0;
        for (End e : List.copyOf(open)) {
            if (holder.sameHolder(e.holder)) {
                e.close();
                n++;
            }
        }
        return n;
    }

    private void counts(Counts c) {
        if (c.gone()) {
            PipeBuffer b = buffers.remove(c.pipe());
            if (b != null) {
                b.wakeAll();
            }
            return;
        }
        PipeBuffer b = buffers.get(c.pipe());
        if (b != null) {
            b.counts(c);
        }
    }

    private void tellCounts(PipeInfo i) {
        if (i.bufferNode() == kddm.nodeId()) {
            counts(i.counts());
        } else if (i.bufferNode() >= 0 && kddm.isMember(i.bufferNode())) {
            try {
                kddm.rpc().send(i.bufferNode(), COUNTS, i.counts());
            } catch (RuntimeException e) {
                log.debug("pipe {}: counts not sent to node {}: {}", i.id(), i.bufferNode(), e.toString());
            }
        }
    }

    private void adopt(Adopt a) {
        PipeBuffer b = new PipeBuffer(a.pipe(), a.capacity(), a.counts(), sleepers);
        b.fill(a.data());
        b.adopted(a);
        buffers.put(a.pipe(), b);
    }

    /** {@code op} from node {@code caller}, at this node's buffer. */
    private PipeReply io(PipeOp op, int caller) {
        PipeBuffer b = buffers.get(op.pipe());
        if (b == null) {
            return new PipeReply(PipeWire.MOVED, null);
        }
        EndRef by = new EndRef(caller, op.end(), op.kind() == PipeWire.READ);
        return switch (op.kind()) {
            case PipeWire.WRITE -> b.write(by, op.seq(), op.data(), op.waiter());
            case PipeWire.PEEK -> new PipeReply(PipeWire.OK, b.peek());
            default -> b.read(by, op.seq(), op.max(), op.waiter());
        };
    }

    /**
     * Pipe {@code id} as it is now: capacity, open ends, and a copy of its buffered bytes (not taken); null when
     * it no longer exists. Meant for a pipe whose ends are all quiet (their processes frozen).
     */
    public org.kerrighed.ipc.PipeSnapshot snapshot(long id) {
        PipeInfo i;
        try (Handle<PipeInfo> h = infos.get(id)) {
            i = h.value();
        }
        if (i == null) {
            return null;
        }
        byte[] data = new byte[0];
        for (int attempt = 0; i.bufferNode() >= 0 && attempt < 3; attempt++) {
            PipeOp op = new PipeOp(id, PipeWire.PEEK, null, 0, null, 0, 0);
            PipeReply r = i.bufferNode() == kddm.nodeId() ? io(op, kddm.nodeId())
                    : kddm.rpc().call(i.bufferNode(), IO, op).join();
            if (r.status() == PipeWire.OK) {
                data = r.data();
                break;
            }
            try (Handle<PipeInfo> h = infos.get(id)) {     // the buffer moved meanwhile
                i = h.value();
            }
            if (i == null) {
                return null;
            }
        }
        return new org.kerrighed.ipc.PipeSnapshot(id, i.capacity(), i.count(true), i.count(false), data);
    }

    /** A new pipe like {@link #pipe}, its buffer holding {@code data} already (a restored checkpoint's bytes). */
    public End[] pipe(int capacity, byte[] data) {
        if (data.length > capacity) {
            throw new IllegalArgumentException("pipe of " + capacity + " bytes cannot hold " + data.length);
        }
        End[] ends = pipe(capacity);
        buffers.get(ends[0].pipe).fill(data);
        return ends;
    }

    // ------------------------------------------------------------------ closing and failures

    private void close(End e) {
        int self = kddm.nodeId();
        PipeInfo now;
        boolean gone = false;
        try (Handle<PipeInfo> h = infos.grab(e.pipe)) {
            PipeInfo i = h.value();
            if (i == null) {
                return;                            // gone (a pipe's ends all closed; not expected while one is open)
            }
            List<EndRef> ends = new ArrayList<>(i.ends());
            ends.removeIf(r -> r.node() == self && r.end() == e.end);
            now = i.with(i.bufferNode(), ends, i.everReader(), i.everWriter(), i.openWaiters());
            if (e.read && i.bufferNode() == self && ends.stream().noneMatch(r -> r.read() && r.node() == self)) {
                now = handOver(i, now);            // the buffer follows the readers (stays here if it cannot)
            }
            if (now.unlinked() && ends.isEmpty()) {
                gone = true;                       // an unlinked FIFO's last end: the tombstone goes
                h.set(null);
            } else {
                h.set(now);
            }
        }
        Set<Long> mine = localEnds.get(e.pipe);
        if (mine != null) {
            mine.remove(e.end);
        }
        if (gone) {
            forget(now);
        } else {
            tellCounts(now);
        }
    }

    /**
     * Moves this node's buffer of pipe {@code i} (with its bytes) to the node of a remaining reader, {@code next}
     * being the info after the close with the buffer still here. Tries the readers' nodes in turn; when no hand-over
     * succeeds (the target died, the link dropped, a timeout), the buffer serves here again with every byte it had
     * and {@code next} is returned unchanged: remote readers fetch from here, as before.
     */
    private PipeInfo handOver(PipeInfo i, PipeInfo next) {
        int self = kddm.nodeId();
        List<Integer> targets = next.ends().stream().filter(r -> r.read() && r.node() != self)
                .map(EndRef::node).distinct().filter(kddm::isMember).toList();
        for (int target : targets) {
            PipeInfo moved = next.withBuffer(target);
            PipeBuffer old = buffers.get(i.id());
            byte[] left = old == null ? new byte[0] : old.moveOut();
            try {
                kddm.rpc().call(target, ADOPT, old == null ? new Adopt(i.id(), i.capacity(), moved.counts())
                        : old.adoption(left, moved.counts())).join();
                buffers.remove(i.id(), old);
                return moved;
            } catch (RuntimeException ex) {
                if (old != null) {
                    old.moveBack(left);            // nothing lost: the buffer serves here again
                }
                log.warn("pipe {}: buffer not handed over to node {} ({}); it stays on node {}", i.id(), target,
                        ex.toString(), self);
                try {                              // it may have taken it after all (a timeout): drop that copy
                    kddm.rpc().send(target, COUNTS, new Counts(i.id(), moved.version(), 0, 0, false, false, true,
                            List.of()));
                } catch (RuntimeException ignored) {
                    // the target is gone: so is its copy
                }
            }
        }
        return next;
    }

    /** After a view with failed nodes: their ends are closed, a dead buffer node is replaced by a live reader's. */
    void viewChanged(Set<Integer> members, Set<Integer> failed) {
        int self = kddm.nodeId();
        Set<Long> pipes = new java.util.HashSet<>(localEnds.keySet());
        pipes.addAll(buffers.keySet());
        for (long id : pipes) {
            try {
                try (Handle<PipeInfo> h = infos.get(id)) {     // most pipes have no end on a departed node
                    PipeInfo i = h.value();
                    if (i == null || (members.contains(i.bufferNode()) || i.bufferNode() < 0)
                            && i.ends().stream().allMatch(r -> members.contains(r.node()))) {
                        continue;
                    }
                }
                PipeInfo now = null;
                boolean gone = false;
                try (Handle<PipeInfo> h = infos.grab(id)) {
                    PipeInfo i = h.value();
                    if (i == null) {
                        continue;
                    }
                    List<EndRef> ends = new ArrayList<>(i.ends());
                    boolean changed = ends.removeIf(r -> !members.contains(r.node()));
                    int buffer = i.bufferNode();
                    if (buffer >= 0 && !members.contains(buffer)) {
                        changed = true;
                        buffer = ends.stream().anyMatch(r -> r.read() && r.node() == self) ? self
                                : ends.stream().filter(EndRef::read).map(EndRef::node).findFirst().orElse(-1);
                    }
                    if (changed) {
                        now = i.with(buffer, ends, i.everReader(), i.everWriter(), i.openWaiters());
                        if (now.unlinked() && ends.isEmpty()) {
                            gone = true;           // an unlinked FIFO whose last ends died with their node
                            h.set(null);
                        } else {
                            if (buffer == self) {
                                PipeInfo n = now;
                                buffers.compute(id, (k, b) -> b == null || b.isMoved()
                                        ? new PipeBuffer(id, n.capacity(), n.counts(), sleepers) : b);
                            } else if (buffer >= 0 && buffer != i.bufferNode()) {   // a live buffer keeps its bytes
                                kddm.rpc().call(buffer, ADOPT, new Adopt(id, i.capacity(), now.counts())).join();
                            }
                            h.set(now);
                        }
                        log.info("pipe {}: ends on departed node(s) closed; buffer on node {}", id, buffer);
                    }
                }
                if (gone) {
                    forget(now);
                } else if (now != null) {
                    tellCounts(now);
                }
            } catch (RuntimeException e) {
                log.warn("pipe {}: cleanup after failure of {} failed on node {}: {}", id, failed, self, e.toString());
            }
        }
        buffers.values().forEach(PipeBuffer::wakeAll);
    }

    @Override
    public void close() {
        buffers.values().forEach(PipeBuffer::wakeAll);
    }

    // ------------------------------------------------------------------ ends

    /** How long an end retries a buffer that keeps answering MOVED while the info names its node. */
    static final long MOVED_LIMIT_SECONDS = 120;

    /** Consecutive MOVED answers to one read or write. */
    private static final class Moves {
        int count;
        long since;

        void reset() {
            count = 0;
        }
    }

    /** One open end on this node. Reads (or writes) are serialised per end; several ends may be used at once. */
    public final class End implements AutoCloseable {
        private final long pipe;
        private final long end;
        private final boolean read;
        private final String what;
        private volatile boolean closed;
        private int bufferNode = -2;               // cached; -2: unknown
        private final org.kerrighed.kddm.access.Caller holder = ipc.callers().caller();
        private boolean eof;
        /** The number of this end's last write (of one piece) or read: its retries carry it too. */
        private long seq;

        End(long pipe, long end, boolean read, String what) {
            this.pipe = pipe;
            this.end = end;
            this.read = read;
            this.what = what;
        }

        public PipeEndHandle handle() {
            return new PipeEndHandle(pipe, read);
        }

        public boolean isOpen() {
            return !closed;
        }

        /** Reads into {@code dst}: at least one byte, blocking while the pipe is empty; -1 at EOF. */
        public synchronized int read(ByteBuffer dst) throws IOException {
            check(true);
            if (!dst.hasRemaining()) {
                return 0;
            }
            if (eof) {
                return -1;
            }
            try (Sleepers.Sleeper s = sleepers.sleeper()) {
                Moves moves = new Moves();
                long n = ++seq;
                while (true) {
                    PipeReply r = op(new PipeOp(pipe, PipeWire.READ, null, dst.remaining(), s.ref(), end, n));
                    switch (r.status()) {
                        case PipeWire.OK -> {
                            dst.put(r.data());
                            return r.data().length;
                        }
                        case PipeWire.EOF -> {
                            return -1;
                        }
                        case PipeWire.WAIT -> {
                            moves.reset();
                            sleep(s);
                        }
                        case PipeWire.MOVED -> moved(s, moves);
                        default -> throw new IOException(what + ": unexpected read status " + r.status());
                    }
                }
            }
        }

        /** Writes all of {@code src}, blocking while the pipe is full; pieces of up to {@value #CHUNK} bytes are atomic. */
        public synchronized int write(ByteBuffer src) throws IOException {
            check(false);
            int total = 0;
            try (Sleepers.Sleeper s = sleepers.sleeper()) {
                Moves moves = new Moves();
                while (src.hasRemaining()) {
                    int n = Math.min(src.remaining(), chunk());
                    byte[] data = new byte[n];
                    src.get(src.position(), data);
                    long number = ++seq;
                    while (true) {
                        PipeReply r = op(new PipeOp(pipe, PipeWire.WRITE, data, 0, s.ref(), end, number));
                        if (r.status() == PipeWire.OK) {
                            moves.reset();
                            src.position(src.position() + n);
                            total += n;
                            break;
                        } else if (r.status() == PipeWire.BROKEN) {
                            throw new BrokenPipeException(what + ": no reader left (broken pipe)");
                        } else if (r.status() == PipeWire.WAIT) {
                            moves.reset();
                            try {
                                sleep(s);
                            } catch (InterruptedIOException ie) {
                                ie.bytesTransferred = total;
                                throw ie;
                            }
                        } else {
                            try {
                                moved(s, moves);
                            } catch (InterruptedIOException ie) {
                                ie.bytesTransferred = total;
                                throw ie;
                            }
                        }
                    }
                }
            }
            return total;
        }

        private int chunk() {
            return Math.min(CHUNK, capacityHint);
        }

        private int capacityHint = PIPE_BUF;

        private void check(boolean reading) throws IOException {
            if (closed) {
                throw new ClosedChannelException();
            }
            if (reading != read) {
                throw new IOException(what + ": this end is for " + (read ? "reading" : "writing"));
            }
            if (bufferNode == -2) {
                refresh(null);
            }
        }

        private void sleep(Sleepers.Sleeper s) throws IOException {
            try {
                s.await(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + ": interrupted");
            }
            if (closed) {
                throw new ClosedChannelException();
            }
        }

        /**
         * After a MOVED answer: reads the info again ({@link #refresh}). A buffer that answers MOVED while the info
         * still names its node is being handed over (the info follows when the hand-over ends, or the buffer serves
         * again if it fails): the end backs off, sleeping a little longer each time, instead of spinning, and gives
         * up with an IOException if that lasts {@value #MOVED_LIMIT_SECONDS} s.
         */
        private void moved(Sleepers.Sleeper s, Moves moves) throws IOException {
            refresh(s);
            if (bufferNode < 0) {                  // waited for a reader, or at EOF: no hand-over under way
                moves.reset();
                return;
            }
            long now = System.nanoTime();
            if (moves.count++ == 0) {
                moves.since = now;
                return;                            // the first one: the info had just changed, most likely
            }
            if (now - moves.since > MOVED_LIMIT_SECONDS * 1_000_000_000L) {
                throw new IOException(what + ": the buffer on node " + bufferNode + " has answered MOVED for "
                        + MOVED_LIMIT_SECONDS + " s while the pipe's info names it");
            }
            try {
                Thread.sleep(Math.min(50, moves.count));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(what + ": interrupted");
            }
            if (closed) {
                throw new ClosedChannelException();
            }
        }

        /** Reads the info again: where the buffer is; a writer with no reader yet sleeps until one opens. */
        private void refresh(Sleepers.Sleeper s) throws IOException {
            while (true) {
                PipeInfo i;
                if (!read && s != null) {
                    try (Handle<PipeInfo> h = infos.grab(pipe)) {
                        i = h.value();
                        if (i != null && i.bufferNode() < 0 && !i.everReader()) {
                            List<WaiterRef> w = new ArrayList<>(i.openWaiters());
                            w.add(s.ref());
                            h.set(i.with(-1, i.ends(), false, i.everWriter(), w));
                        }
                    }
                } else {
                    try (Handle<PipeInfo> h = infos.get(pipe)) {
                        i = h.value();
                    }
                }
                if (i == null) {
                    throw read ? new IOException(what + " no longer exists")
                            : new BrokenPipeException(what + " no longer exists");
                }
                capacityHint = i.capacity();
                bufferNode = i.bufferNode();
                if (bufferNode >= 0 || s == null) {
                    return;
                }
                if (read || i.everReader()) {
                    if (!read) {
                        throw new BrokenPipeException(what + ": no reader left (broken pipe)");
                    }
                    eof = i.count(false) == 0 && i.everWriter();
                    if (eof) {
                        return;
                    }
                }
                sleep(s);                          // no reader yet: woken when one opens
            }
        }

        /**
         * Sends {@code op} to the buffer node (or applies it here). A call that fails without an answer (the link
         * closed, a timeout) may or may not have been applied there: the same op, with the same number, is sent
         * again (to where the buffer is now), and the buffer, which remembers each end's last applied op, answers a
         * repeat with its first reply instead of writing or taking bytes again.
         */
        private PipeReply op(PipeOp op) throws IOException {
            for (int attempt = 0; ; attempt++) {
                int node = bufferNode;
                if (node < 0) {
                    if (read && eof) {
                        return new PipeReply(PipeWire.EOF, null);
                    }
                    return new PipeReply(PipeWire.MOVED, null);
                }
                if (node == kddm.nodeId()) {
                    return io(op, node);
                }
                try {
                    return kddm.rpc().call(node, IO, op).join();
                } catch (CompletionException | LinkClosedException | RpcTimeoutException e) {
                    Throwable c = e instanceof CompletionException ? e.getCause() : e;
                    if (!(c instanceof LinkClosedException || c instanceof RpcTimeoutException) || attempt > 200) {
                        throw new IOException(what + ": buffer node " + node + " failed: " + c, c);
                    }
                    try {
                        Thread.sleep(Math.min(100, 5L * (attempt + 1)));   // failure path: cleanup under way
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException(what + ": interrupted");
                    }
                    refresh(null);
                }
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            open.remove(this);
            PipeService.this.close(this);
        }

        @Override
        public String toString() {
            return what + (read ? " read end" : " write end") + (closed ? " (closed)" : "");
        }
    }
}
