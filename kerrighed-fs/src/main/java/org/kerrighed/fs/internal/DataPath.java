package org.kerrighed.fs.internal;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import org.kerrighed.kddm.Kddm;
import org.kerrighed.kddm.KddmException;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.LinkClosedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.RpcTimeoutException;
import org.kerrighed.rpc.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * File data: the client side (cut a read or write into chunk pieces, send each to the right node) and the serving
 * side (a chunk's primary orders the writes to it and forwards each to the other replicas before it answers).
 *
 * <p>A chunk's acting primary is the first node of its replica list that is alive. It applies a write to its own
 * copy, then to every other listed replica, and answers once all did: a write that returned is on every live
 * replica. A replica that failed to apply it (dead, out of space) is removed from the list before the answer, so
 * the list only ever names current copies; repair copies the chunk elsewhere later. When that change of the list
 * fails (KDDM recovering from a failure), the write fails saying so, and the change is retried in the background:
 * until it is done, a read may see the chunk without that write.
 */
final class DataPath {
    private static final Logger log = LoggerFactory.getLogger(DataPath.class);
    /** Largest piece of a chunk in one message (smaller when the frame limit asks). */
    static final int MAX_PIECE = 4 << 20;
    /**
     * Largest piece of a chunk in one write or remote read: the pieces of one call travel at once, so that one
     * piece is written (or sent) while the next one travels, and each message stays within the transport's pooled
     * buffer sizes.
     */
    static final int STREAM_PIECE = 1 << 20;
    private static final int ATTEMPTS = 50;
    private static final int LOCKS = 256;

    static final ServiceKey<Op, Boolean> PRIMARY = ServiceKey.of(190, "fs.primary", Op.class, Boolean.class);
    static final ServiceKey<Op, Boolean> REPLICA = ServiceKey.of(191, "fs.replica", Op.class, Boolean.class);
    static final ServiceKey<Op, byte[]> READ = ServiceKey.of(192, "fs.read", Op.class, byte[].class);
    static final ServiceKey<Long, Boolean> FORCE = ServiceKey.of(193, "fs.force", Long.class, Boolean.class);

    /**
     * WRITE and TRUNCATE come from a chunk's acting primary (a replica checks that); WHOLE and COPY are a repair's
     * copy of a chunk to a node not listed yet (its first piece, which replaces the file, and the others); a
     * TRUNCATE also sets the file's size, at the primary, under the chunk's lock.
     */
    enum Kind { WRITE, WHOLE, TRUNCATE, DELETE, READ, COPY }

    /** One operation on one chunk. */
    record Op(Kind kind, long inode, int index, int generation, long offset, int length, byte[] data,
              int dataOffset) {
        Op(Kind kind, long inode, int index, int generation, long offset, int length, byte[] data) {
            this(kind, inode, index, generation, offset, length, data, 0);
        }

        /** The bytes it carries, {@code data[dataOffset, dataOffset + length)}, or null. */
        ByteBuffer bytes() {
            return data == null ? null : ByteBuffer.wrap(data, dataOffset, length);
        }
    }

    /**
     * Sends an {@link Op}'s bytes straight from the array they sit in ({@code dataOffset} and {@code length}), so
     * that a write is not first copied out of the caller's buffer; the receiver gets an array of exactly the bytes.
     */
    static final class OpSerializer extends Serializer<Op> {
        private static final Kind[] KINDS = Kind.values();

        @Override
        public void write(Kryo kryo, Output out, Op op) {
            out.writeVarInt(op.kind().ordinal(), true);
            out.writeVarLong(op.inode(), true);
            out.writeVarInt(op.index(), true);
            out.writeVarInt(op.generation(), true);
            out.writeVarLong(op.offset(), true);
            out.writeVarInt(op.length(), true);
            out.writeBoolean(op.data() != null);
            if (op.data() != null) {
                out.writeBytes(op.data(), op.dataOffset(), op.length());
            }
        }

        @Override
        public Op read(Kryo kryo, Input in, Class<? extends Op> type) {
            int kind = in.readVarInt(true);
            if (kind < 0 || kind >= KINDS.length) {
                throw new IllegalArgumentException("unknown chunk operation " + kind);
            }
            long inode = in.readVarLong(true);
            int index = in.readVarInt(true);
            int generation = in.readVarInt(true);
            long offset = in.readVarLong(true);
            int length = in.readVarInt(true);
            byte[] data = in.readBoolean() ? in.readBytes(length) : null;   // the codec checks the length first
            return new Op(KINDS[kind], inode, index, generation, offset, length, data);
        }
    }

    /** A primary's answer that it is not the chunk's acting primary (any more): the caller looks again. */
    static final class NotPrimary extends IOException {
        NotPrimary(String message) {
            super(message);
        }
    }

    /**
     * A replica's answer that the node that sent it a write is not the chunk's acting primary by the chunk's list now
     * (a node back from the dead, or a list changed by a repair), or that it could not read that list to check (a
     * view change): the sender answers {@link NotPrimary}, its caller tries again, and the replica stays listed.
     */
    static final class StaleSender extends IOException {
        StaleSender(String message) {
            super(message);
        }
    }

    private final Kddm kddm;
    private final Namespace ns;
    private final ChunkStore store;
    private final Placement placement;
    private final Runnable repairNeeded;
    private final ReentrantLock[] locks = new ReentrantLock[LOCKS];
    private final Map<Integer, Long> fullUntil = new ConcurrentHashMap<>();
    /** When each node last failed a read of ours: such a node is asked last for a while ({@link #nearest}). */
    private final Map<Integer, Long> readFailed = new ConcurrentHashMap<>();
    private static final long READ_AVOID_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    private final int piece;
    private final int writePiece;
    // False until this node's chunk store was checked against the chunk lists (a node back with an emptied disk
    // leaves them first): until then it serves no chunk, not even its own reads from it.
    private volatile boolean ready;
    private volatile boolean closed;

    /** Tests only: how many of the next changes of a chunk's list that drop nodes fail (as a timeout would). */
    static final java.util.concurrent.atomic.AtomicInteger FAIL_DROPS_FOR_TESTS =
            new java.util.concurrent.atomic.AtomicInteger();
    /** Tests only: the nodes whose replicas refuse writes (as a failing disk would), or null. */
    static volatile java.util.function.IntPredicate refuseWritesForTests;

    DataPath(Kddm kddm, Namespace ns, ChunkStore store, Placement placement, Runnable repairNeeded) {
        this.kddm = kddm;
        this.ns = ns;
        this.store = store;
        this.placement = placement;
        this.repairNeeded = repairNeeded;
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new ReentrantLock();
        }
        RpcNode rpc = kddm.rpc();
        this.piece = Math.min(MAX_PIECE, Math.max(4096, rpc.config().maxFrameBytes() / 2));
        this.writePiece = Math.min(STREAM_PIECE, piece);
        rpc.register(PRIMARY, HandlerKind.BLOCKING, (ctx, op) -> primary(op));
        rpc.registerOrdered(REPLICA, op -> op.inode() * 31 + op.index(), (ctx, op) -> replica(ctx.caller(), op));
        rpc.register(READ, HandlerKind.BLOCKING, (ctx, op) -> {
            if (!ready) {
                throw new NotPrimary("node " + me() + " is still checking its chunk store");
            }
            return readLocal(op);
        });
        rpc.register(FORCE, HandlerKind.BLOCKING, (ctx, ino) -> {
            store.force(ino);
            return true;
        });
    }

    void close() {
        closed = true;
        RpcNode rpc = kddm.rpc();
        for (ServiceKey<?, ?> k : List.of(PRIMARY, REPLICA, READ, FORCE)) {
            rpc.unregister(k.id());
        }
    }

    int me() {
        return kddm.nodeId();
    }

    /** This node's chunk store was checked: it serves chunks from now on. */
    void ready() {
        ready = true;
    }

    ReentrantLock lock(long inode, int index) {
        return locks[(int) ((inode * 31 + index) & (LOCKS - 1))];
    }

    /** A held {@link #guard}. */
    interface Guard extends AutoCloseable {
        @Override
        void close();
    }

    private record ChunkKey(long inode, int index) {
    }

    private static final class ChunkGuard {
        final ReentrantLock lock = new ReentrantLock();
        int users;                                             // changed only in the map's compute
    }

    private final Map<ChunkKey, ChunkGuard> guards = new ConcurrentHashMap<>();

    /**
     * One chunk's guard between a replica's check-and-apply of a write and a repair of that chunk (from its list's
     * fence to its new list). Per chunk, not striped like {@link #lock}: a replica never waits for a repair of
     * another chunk, which may hold its lock for a whole copy to a slow node.
     */
    Guard guard(long inode, int index) {
        ChunkKey k = new ChunkKey(inode, index);
        ChunkGuard g = guards.compute(k, (key, v) -> {
            ChunkGuard held = v == null ? new ChunkGuard() : v;
            held.users++;
            return held;
        });
        g.lock.lock();
        return () -> {
            g.lock.unlock();
            guards.compute(k, (key, v) -> --v.users == 0 ? null : v);
        };
    }

    // ---- client side

    /**
     * Chunks placed past the end of a large write (half a chunk or more) that extends its file, for the writes that
     * follow it: sequential writes then change the inode for their placement once every {@value} chunks.
     */
    private static final int LOOKAHEAD = 8;

    /** Writes {@code src} at {@code position} of file {@code ino}; the size is the caller's to update. */
    void write(Inode file, long position, ByteBuffer src) throws IOException {
        long ino = file.id();
        int chunkSize = file.chunkSize();
        int first = Math.toIntExact(position / chunkSize);
        long end = position + src.remaining();
        int last = Math.toIntExact((end - 1) / chunkSize);
        for (int i = first; i <= last; i++) {
            if (file.replicas(i) == null) {
                boolean streaming = end >= file.size() && src.remaining() >= chunkSize / 2;
                allocate(ino, first, last + (streaming ? LOOKAHEAD : 0));   // one change for all it places
                break;
            }
        }
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        long at = position;
        while (src.hasRemaining()) {
            int index = Math.toIntExact(at / chunkSize);
            long offset = at % chunkSize;
            int n = (int) Math.min(Math.min(src.remaining(), chunkSize - offset), writePiece);
            Op op;
            if (src.hasArray()) {                              // sent from the caller's array: it is not changed
                op = new Op(Kind.WRITE, ino, index, 0, offset, n, src.array(), src.arrayOffset() + src.position());
                src.position(src.position() + n);              // until this call returns
            } else {
                byte[] bytes = new byte[n];
                src.get(bytes);
                op = new Op(Kind.WRITE, ino, index, 0, offset, n, bytes);
            }
            if (pending.isEmpty() && !src.hasRemaining()) {
                send(op);                                      // the only piece: on this thread
                return;
            }
            pending.add(CompletableFuture.runAsync(() -> {
                try {
                    send(op);
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            }, Thread::startVirtualThread));
            at += n;
        }
        awaitAll(pending);
    }

    /**
     * Sends one write, truncation or delete to the chunk's acting primary, allocating the chunk if needed. Returns
     * false when the chunk is a hole (a truncation or delete then has nothing to do), true once it was applied.
     */
    boolean send(Op op) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Inode inode = ns.inode(op.inode());
            int[] reps = inode.replicas(op.index());
            if (reps == null) {
                if (op.kind() != Kind.WRITE) {
                    return false;                        // a hole: nothing to cut or delete
                }
                inode = allocate(op.inode(), op.index(), op.index());
                reps = inode.replicas(op.index());
            }
            Op sent = new Op(op.kind(), op.inode(), op.index(), inode.generation(op.index()), op.offset(),
                    op.length(), op.data(), op.dataOffset());
            int target = firstLive(reps);
            if (target < 0) {
                throw new FileSystemException("inode " + op.inode(), null, "chunk " + op.index()
                        + " is lost: none of its nodes " + Arrays.toString(reps) + " is alive");
            }
            try {
                if (target == me()) {
                    primary(sent);
                } else {
                    await(kddm.rpc().call(target, PRIMARY, sent));
                }
                return true;
            } catch (NotPrimary | Retry again) {
                if (attempt >= ATTEMPTS) {
                    throw new FileSystemException("inode " + op.inode(), null, "chunk " + op.index()
                            + " could not be written after " + ATTEMPTS + " attempts: " + again.getMessage());
                }
                pause(attempt);
            }
        }
    }

    /** Places the chunks from {@code first} to {@code last} that have no nodes yet. */
    private Inode allocate(long ino, int first, int last) throws IOException {
        return ns.update(ino, i -> {
            Inode next = i;
            int copies = Math.max(1, i.replication());
            for (int index = first; index <= last; index++) {
                if (next.replicas(index) == null) {
                    next = next.withChunk(index, (int) (i.version() + 1), placement.choose(copies, me(), fullUntil));
                }
            }
            return next;
        });
    }

    /**
     * The live node of {@code reps} a read goes to: this one when it holds a copy, else the one whose link had the
     * shortest round trip at the last heartbeat (links not yet measured count as slow), or -1.
     */
    private int nearest(int[] reps) {
        if (contains(reps, me()) && ready) {
            return me();
        }
        Map<Integer, Long> rtt = kddm.rpc().lastRttMicros();
        long now = System.nanoTime();
        int best = -1;
        long bestRtt = Long.MAX_VALUE;
        for (int n : reps) {
            if (n == me() || kddm.isMember(n)) {
                long r = n == me() ? Long.MAX_VALUE - 2 : rtt.getOrDefault(n, Long.MAX_VALUE - 3);
                if (failedLately(n, now)) {
                    r = Long.MAX_VALUE - 1;                    // failed a read lately: asked last
                }
                if (best < 0 || r < bestRtt) {
                    best = n;
                    bestRtt = r;
                }
            }
        }
        return best;
    }

    /**
     * Node {@code n} failed a read ({@code e}): it is asked last for a while, and {@code piece} is rewound for the
     * next copy. Returns {@code e}; an interrupt is thrown instead.
     */
    private IOException failedRead(int n, IOException e, ByteBuffer piece) throws InterruptedIOException {
        if (e instanceof InterruptedIOException interrupted) {
            throw interrupted;
        }
        readFailed.put(n, System.nanoTime());
        piece.rewind();
        return e;
    }

    /** True when node {@code n} failed a read of ours less than {@link #READ_AVOID_NANOS} before {@code now}. */
    private boolean failedLately(int n, long now) {
        Long at = readFailed.get(n);
        return at != null && now - at < READ_AVOID_NANOS;
    }

    private int firstLive(int[] reps) {
        for (int n : reps) {
            if (n == me() || kddm.isMember(n)) {
                return n;
            }
        }
        return -1;
    }

    /**
     * Reads from {@code position} up to {@code length} bytes (the caller keeps them within the file's size) into
     * {@code dst}; holes and chunk ends never written read as zeros.
     */
    void read(Inode inode, long position, ByteBuffer dst, int length) throws IOException {
        int chunkSize = inode.chunkSize();
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        long at = position;
        int left = length;
        while (left > 0) {
            int index = Math.toIntExact(at / chunkSize);
            long offset = at % chunkSize;
            int[] reps = inode.replicas(index);
            int most = reps != null && contains(reps, me()) ? piece : writePiece;   // a local file: one read
            int n = (int) Math.min(Math.min(left, chunkSize - offset), most);
            ByteBuffer piece = dst.slice(dst.position(), n);
            dst.position(dst.position() + n);
            long ino = inode.id();
            if (reps == null) {
                zero(piece);
            } else if (pending.isEmpty() && left == n) {
                readPiece(inode, index, offset, piece);        // the only piece: on this thread
            } else {
                Inode seen = inode;
                pending.add(CompletableFuture.runAsync(() -> {
                    try {
                        readPiece(seen, index, offset, piece);
                    } catch (IOException e) {
                        throw new CompletionException(e);
                    }
                }, Thread::startVirtualThread));
            }
            at += n;
            left -= n;
        }
        awaitAll(pending);
    }

    private void readPiece(Inode inode, int index, long offset, ByteBuffer piece) throws IOException {
        for (int attempt = 0; ; attempt++) {
            int[] reps = inode.replicas(index);
            int gen = inode.generation(index);
            if (reps == null) {
                zero(piece);
                return;
            }
            int from = nearest(reps);
            if (from < 0) {
                throw new FileSystemException("inode " + inode.id(), null, "chunk " + index
                        + " is lost: none of its nodes " + Arrays.toString(reps) + " is alive");
            }
            try {
                IOException failed = null;
                boolean none = false;
                try {
                    if (readFrom(from, inode.id(), index, gen, offset, piece)) {
                        return;
                    }
                    none = true;
                } catch (IOException e) {
                    failed = failedRead(from, e, piece);      // a copy that failed or did not answer: another may
                }
                if (none) {
                    Inode now = ns.inode(inode.id());         // NoSuchFileException once the file is deleted
                    if (now.generation(index) != gen || !Arrays.equals(now.replicas(index), reps)) {
                        throw new Retry(new IOException("the copy on node " + from + " went away"));
                    }
                }
                if (readElsewhere(inode.id(), index, gen, offset, piece, reps, from, failed)) {
                    return;
                }
                zero(piece);                                   // never written anywhere: a hole, or past its end
                return;
            } catch (Retry again) {
                if (attempt >= ATTEMPTS) {
                    throw new FileSystemException("inode " + inode.id(), null, "chunk " + index
                            + " could not be read after " + ATTEMPTS + " attempts: " + again.getMessage());
                }
                pause(attempt);
                inode = ns.inode(inode.id());
                piece.rewind();
            }
        }
    }

    /**
     * Reads a piece from node {@code n}'s copy into {@code piece}, the part past the end of its file as zeros (never
     * written): false when it has no file for the chunk.
     *
     * @throws Retry when the node did not answer (or is still checking its store); other I/O errors as they come
     */
    private boolean readFrom(int n, long ino, int index, int gen, long offset, ByteBuffer piece) throws IOException {
        if (n == me()) {
            if (!ready) {
                throw new Retry(new IOException("node " + me() + " is still checking its chunk store"));
            }
            if (store.read(ino, index, gen, offset, piece, piece.remaining()) < 0) {
                return false;
            }
        } else {
            byte[] b = await(kddm.rpc().call(n, READ, new Op(Kind.READ, ino, index, gen, offset, piece.remaining(),
                    null)));
            if (b == null) {
                return false;
            }
            piece.put(b);
        }
        zero(piece);
        return true;
    }

    /**
     * Node {@code tried} had no file for the chunk ({@code failed} null), or could not be read ({@code failed}):
     * asks the other live listed nodes, so that a copy lost with a node's disk is never read as zeros while another
     * copy has the bytes, and a copy that does not answer does not fail the read while another one does. True when
     * one had the bytes; false when none has a file (the chunk was placed but never written).
     *
     * @throws Retry when no copy could be read and one (or {@code tried}) failed: its bytes may exist
     */
    private boolean readElsewhere(long ino, int index, int gen, long offset, ByteBuffer piece, int[] reps, int tried,
                                  IOException failed) throws IOException {
        List<Integer> others = new ArrayList<>();
        for (int n : reps) {
            if (n != tried && (n == me() || kddm.isMember(n))) {
                others.add(n);
            }
        }
        long now = System.nanoTime();
        others.sort(java.util.Comparator.comparing(n -> failedLately(n, now)));   // a copy that failed lately: last
        for (int n : others) {
            try {
                if (readFrom(n, ino, index, gen, offset, piece)) {
                    return true;
                }
            } catch (IOException e) {
                IOException f = failedRead(n, e, piece);
                failed = failed == null ? f : failed;
            }
        }
        if (failed != null) {
            throw failed instanceof Retry r ? r : new Retry(failed);
        }
        return false;
    }

    private static void zero(ByteBuffer b) {
        while (b.hasRemaining()) {
            b.put((byte) 0);
        }
    }

    /** Fsyncs the file's chunks on every live node holding some. */
    void force(Inode inode) throws IOException {
        java.util.Set<Integer> nodes = new java.util.TreeSet<>();
        for (int i = 0; i < inode.chunkCount(); i++) {
            int[] reps = inode.replicas(i);
            if (reps != null) {
                for (int n : reps) {
                    nodes.add(n);
                }
            }
        }
        List<CompletableFuture<Boolean>> pending = new ArrayList<>();
        for (int n : nodes) {
            if (n == me()) {
                store.force(inode.id());
            } else if (kddm.isMember(n)) {
                pending.add(kddm.rpc().call(n, FORCE, inode.id()).exceptionally(e -> {
                    if (unwrap(e) instanceof LinkClosedException) {
                        return false;                          // died: it holds nothing current any more
                    }
                    throw e instanceof CompletionException c ? c : new CompletionException(e);
                }));
            }
        }
        for (CompletableFuture<Boolean> f : pending) {
            await(f);
        }
    }

    /** Deletes chunks' files on their nodes, best effort (files missed are collected later). */
    void deleteChunks(Inode gone, int fromIndex) {
        for (int i = fromIndex; i < gone.chunkCount(); i++) {
            int[] reps = gone.replicas(i);
            if (reps == null) {
                continue;
            }
            Op op = new Op(Kind.DELETE, gone.id(), i, gone.generation(i), 0, 0, null);
            for (int n : reps) {
                if (n == me()) {
                    try {
                        store.delete(gone.id(), i, op.generation());
                    } catch (IOException e) {
                        log.debug("fs: could not delete chunk {} of inode {} here: {}", i, gone.id(), e.toString());
                    }
                } else if (kddm.isMember(n)) {
                    kddm.rpc().call(n, REPLICA, op);
                }
            }
        }
    }

    // ---- serving side

    /**
     * Applies {@code op} as the chunk's acting primary: here, then on every other listed replica. The chunk's lock
     * is held while the copies are sent and this node's own is written, which orders the operations on a chunk the
     * same way on every copy (a replica applies a chunk's operations from one primary in the order they arrive);
     * it is released before waiting for the replicas' answers, so that the next piece of the chunk travels while
     * they write this one, unless this node's own write failed: it then leaves the list before the lock is
     * released.
     */
    boolean primary(Op op) throws IOException {
        long received = System.nanoTime();
        ReentrantLock lock = lock(op.inode(), op.index());
        List<Integer> failed = new ArrayList<>();
        List<CompletableFuture<Boolean>> sent = new ArrayList<>();
        List<Integer> to = new ArrayList<>();
        IOException local = null;
        int[] reps;
        lock.lock();
        try {
            if (!ready) {
                throw new NotPrimary("node " + me() + " is still checking its chunk store");
            }
            Inode inode = ns.inode(op.inode());
            reps = inode.replicas(op.index());
            if (reps == null || inode.generation(op.index()) != op.generation() || !contains(reps, me())) {
                throw new NotPrimary("node " + me() + " does not hold chunk " + op.index() + " of inode "
                        + op.inode() + " generation " + op.generation());
            }
            if (reps[0] != me()) {
                if (firstLive(reps) != me()) {
                    throw new NotPrimary("node " + me() + " is not the first live node of " + Arrays.toString(reps));
                }
                reps = dropNodes(op, reps, deadBefore(reps));
            }
            for (int i = 1; i < reps.length; i++) {           // the copies travel while this node writes its own
                if (kddm.isMember(reps[i])) {
                    sent.add(kddm.rpc().call(reps[i], REPLICA, op));
                    to.add(reps[i]);
                } else {
                    failed.add(reps[i]);
                }
            }
            try {
                apply(op);
            } catch (IOException e) {
                local = e;
                failed.add(me());
                if (noSpace(e.getMessage())) {
                    markFull(me());                            // new chunks avoid this node for a while too
                }
            }
            if (local != null || op.kind() == Kind.TRUNCATE) {
                // This copy missed the operation: it must leave the list before the lock lets anything else in
                // (a repair would copy the stale chunk, a later write would still find this node its primary).
                // A truncation sets the size once the copies took the cut (one that refused it, this node not
                // being the primary any more, leaves the size as it is), still under the lock.
                boolean done;
                try {
                    done = settle(op, reps, sent, to, failed, local, true, received);
                } catch (DropPending applied) {
                    truncated(op, inode);                      // the copies left listed took the cut
                    throw applied;
                }
                truncated(op, inode);
                return done;
            }
        } finally {
            lock.unlock();
        }
        return settle(op, reps, sent, to, failed, null, false, received);
    }

    /**
     * After a TRUNCATE's cut, under the chunk's lock: the file's size is set, before any write of the chunk that
     * comes after the cut. A write that landed before the cut, or whose size change sees the truncation counted, is
     * done again after it ({@link FsEngine#write}), so no byte past the new end is left in the chunk.
     */
    private void truncated(Op op, Inode inode) throws IOException {
        if (op.kind() == Kind.TRUNCATE) {
            long size = (long) op.index() * inode.chunkSize() + op.offset();
            ns.update(op.inode(), i -> i.truncated(Math.min(i.size(), size), op.index() + 1, Clock.micros()));
        }
    }

    /**
     * Waits for the copies' answers to {@code op}, then takes every node that missed it out of the chunk's list
     * ({@link #dropMissed}; {@code underLock}: the caller holds the chunk's lock; {@code received}: when the
     * operation came, in {@link System#nanoTime}).
     *
     * @throws IOException {@code local} when no copy at all took it
     * @throws DropPending when it was applied, but a copy that missed it could not be taken out of the list yet
     */
    private boolean settle(Op op, int[] reps, List<CompletableFuture<Boolean>> sent, List<Integer> to,
                           List<Integer> failed, IOException local, boolean underLock, long received)
            throws IOException {
        int applied = local == null ? 1 : 0;
        RemoteException stale = null;
        for (int i = 0; i < sent.size(); i++) {
            try {
                sent.get(i).join();
                applied++;
            } catch (CompletionException | java.util.concurrent.CancellationException e) {
                Throwable cause = unwrap(e);
                if (cause instanceof RemoteException r && r.remoteType().endsWith("$StaleSender")) {
                    stale = r;                                 // this node is not the primary: the caller looks again
                    continue;
                }
                if (cause instanceof RemoteException r && noSpace(r.getMessage())) {
                    markFull(to.get(i));
                }
                log.info("fs: node {} missed {} of chunk {} of inode {} ({}); to be dropped from its list",
                        to.get(i), op.kind(), op.index(), op.inode(), cause.toString());
                failed.add(to.get(i));
            }
        }
        if (stale != null) {
            throw new NotPrimary("node " + me() + " is not the acting primary of chunk " + op.index() + " of inode "
                    + op.inode() + " by its list now (" + stale.getMessage() + ")");
        }
        if (applied == 0) {
            throw local;                                       // nothing changed anywhere: the caller sees why
        }
        if (!failed.isEmpty()) {
            dropMissed(op, reps, failed, underLock, received);
        }
        return true;
    }

    /**
     * Takes {@code nodes}, which missed {@code op}, out of its chunk's list. Until they are out, a read may go to a
     * copy without {@code op}, and a node that comes back with its disk would serve it. The change is retried
     * (50 ms, doubling) until a quarter of a call timeout after the operation came ({@code received}), well within
     * the time its caller waits for the answer, or not at all {@code underLock} (the chunk's lock, which other
     * writers and repair wait for); if it still fails (KDDM recovering from a failure, say), it goes on in the
     * background until done or this node's file system closes, and the operation fails with {@link DropPending}. A
     * file deleted meanwhile has nothing left to change.
     */
    private void dropMissed(Op op, int[] reps, List<Integer> nodes, boolean underLock, long received)
            throws IOException {
        long deadline = underLock ? System.nanoTime()
                : received + kddm.rpc().config().defaultCallTimeout().toNanos() / 4;
        long pause = 50;
        while (true) {
            try {
                dropNodes(op, reps, nodes);
                return;
            } catch (java.nio.file.NoSuchFileException gone) {
                return;
            } catch (IOException e) {
                if (System.nanoTime() + pause * 1_000_000 > deadline) {
                    dropInBackground(op, reps, nodes, e);
                    throw new DropPending("inode " + op.inode(), "chunk " + op.index() + ": nodes " + nodes
                            + " missed this " + op.kind() + " and are not out of its list yet (" + e.getMessage()
                            + "); until they are (retried in the background), a read may see the chunk without it");
                }
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                dropInBackground(op, reps, nodes, null);
                throw new InterruptedIOException("interrupted while dropping nodes " + nodes + " from chunk "
                        + op.index() + " of inode " + op.inode() + " (retried in the background)");
            }
            pause = Math.min(pause * 2, 1000);
        }
    }

    /** An operation that was applied, but whose copies that missed it are not out of the chunk's list yet. */
    static final class DropPending extends FileSystemException {
        DropPending(String file, String reason) {
            super(file, null, reason);
        }
    }

    /** The background drops under way: one per chunk generation and set of nodes. */
    private final java.util.Set<String> dropping = ConcurrentHashMap.newKeySet();

    /**
     * {@link #dropMissed}'s background part ({@link BackgroundRetry}: until done or closed). One at a time
     * per chunk generation and nodes: a later drop of a node that a repair listed again with a fresh copy meanwhile
     * would only make it copy again.
     */
    private void dropInBackground(Op op, int[] reps, List<Integer> nodes, IOException first) {
        String key = op.inode() + "/" + op.index() + "/" + op.generation() + "/" + new java.util.TreeSet<>(nodes);
        if (!dropping.add(key)) {
            return;
        }
        log.warn("fs: nodes {} missed {} of chunk {} of inode {}; dropping them from its list in the background ({})",
                nodes, op.kind(), op.index(), op.inode(), first == null ? "interrupted" : first.toString());
        BackgroundRetry.start("fs-drop-" + op.inode() + "-" + op.index(), () -> closed, () -> {
            try {
                dropNodes(op, reps, nodes);
                log.info("fs: nodes {} dropped from the list of chunk {} of inode {}", nodes, op.index(), op.inode());
                return true;
            } catch (java.nio.file.NoSuchFileException gone) {
                return true;                                   // the file is gone: nothing lists them any more
            } catch (IOException e) {
                log.warn("fs: nodes {} still listed for chunk {} of inode {} ({}); trying again", nodes, op.index(),
                        op.inode(), e.toString());
                return false;
            }
        }, () -> dropping.remove(key));
    }

    private List<Integer> deadBefore(int[] reps) {
        List<Integer> dead = new ArrayList<>();
        for (int n : reps) {
            if (n == me()) {
                break;
            }
            dead.add(n);
        }
        return dead;
    }

    /** Removes {@code nodes} from the chunk's replicas (when its generation is still {@code op}'s). */
    private int[] dropNodes(Op op, int[] reps, List<Integer> nodes) throws IOException {
        if (FAIL_DROPS_FOR_TESTS.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IOException("a change of the list made to fail (tests)");
        }
        Inode after = ns.update(op.inode(), i -> {
            int[] now = i.replicas(op.index());
            if (now == null || i.generation(op.index()) != op.generation()) {
                return i;
            }
            int[] kept = Arrays.stream(now).filter(n -> !nodes.contains(n)).toArray();
            return kept.length == now.length ? i : i.withChunk(op.index(), op.generation(), kept);
        });
        repairNeeded.run();
        int[] now = after.replicas(op.index());
        return now == null ? reps : now;
    }

    /**
     * Applies {@code op} from node {@code from} to this node's copy, as a replica. A write or truncation must come
     * from the chunk's acting primary by the chunk's list now, and name its generation, checked under the chunk's
     * {@link #guard} (which a repair holds from its fence to its new list): a node that came back and
     * still takes itself for the primary, or a primary whose list a repair changed, cannot add a write to a copy
     * after the repair read it. A repair's copies (to a node not listed yet) and deletions are applied as they come.
     */
    boolean replica(int from, Op op) throws IOException {
        java.util.function.IntPredicate refuse = refuseWritesForTests;
        if (refuse != null && op.kind() == Kind.WRITE && refuse.test(me())) {
            throw new IOException("node " + me() + " refuses writes (tests)");
        }
        if (op.kind() != Kind.WRITE && op.kind() != Kind.TRUNCATE) {
            apply(op);
            return true;
        }
        try (Guard ignored = guard(op.inode(), op.index())) {
            Inode inode;
            try {
                inode = ns.read(op.inode()).orElse(null);
            } catch (IOException e) {                          // the list could not be had (a view change)
                throw new StaleSender("node " + me() + " could not check the list of chunk " + op.index()
                        + " of inode " + op.inode() + " now: " + e.getMessage());
            }
            int[] reps = inode == null ? null : inode.replicas(op.index());
            if (reps == null || inode.generation(op.index()) != op.generation() || !contains(reps, me())
                    || firstLive(reps) != from) {
                throw new StaleSender("node " + me() + " does not take " + op.kind() + " of chunk " + op.index()
                        + " of inode " + op.inode() + " generation " + op.generation() + " from node " + from
                        + ": its list is " + (reps == null ? "gone" : Arrays.toString(reps) + " generation "
                        + inode.generation(op.index())));
            }
            apply(op);
            return true;
        }
    }

    private void apply(Op op) throws IOException {
        switch (op.kind()) {
            case WRITE -> store.write(op.inode(), op.index(), op.generation(), op.offset(), op.bytes(), false);
            case WHOLE -> store.write(op.inode(), op.index(), op.generation(), 0, op.bytes(), true);
            case COPY -> store.write(op.inode(), op.index(), op.generation(), op.offset(), op.bytes(), false);
            case TRUNCATE -> store.truncate(op.inode(), op.index(), op.generation(), op.offset());
            case DELETE -> store.delete(op.inode(), op.index(), op.generation());
            case READ -> throw new IllegalArgumentException("a read is not applied");
        }
    }

    /** A chunk's bytes held here, or null when this node has no file for it. */
    byte[] readLocal(Op op) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(op.length());
        int got = store.read(op.inode(), op.index(), op.generation(), op.offset(), b, op.length());
        return got < 0 ? null : got == op.length() ? b.array() : Arrays.copyOf(b.array(), got);
    }

    /** The most bytes of a chunk one message carries. */
    int piece() {
        return piece;
    }

    /** Marks a node out of space for a while, so placement skips it. */
    void markFull(int node) {
        fullUntil.put(node, System.nanoTime() + 10_000_000_000L);
    }

    // ---- errors

    /** A failure worth trying again: a link or node lost, a timeout, a primary that changed. */
    static final class Retry extends IOException {
        Retry(Throwable cause) {
            super(cause.toString(), cause);
        }
    }

    private <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a chunk");
        } catch (ExecutionException e) {
            throw translate(e.getCause());
        }
    }

    /**
     * Waits for every piece of a read or write, even when interrupted or when one fails: the pieces use the
     * caller's buffer (a write sends from its array, a read fills slices of it), which is the caller's again once
     * this returns. Each piece's calls are bounded by the RPC timeout and a number of attempts.
     */
    private void awaitAll(List<CompletableFuture<Void>> pending) throws IOException {
        IOException first = null;
        RuntimeException unexpected = null;
        boolean interrupted = false;
        for (CompletableFuture<Void> f : pending) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    try {
                        IOException io = translate(e.getCause());
                        first = first == null ? io : first;
                    } catch (RuntimeException r) {
                        unexpected = unexpected == null ? r : unexpected;
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
            first = first == null ? new InterruptedIOException("interrupted while waiting for a chunk") : first;
        }
        if (unexpected != null) {
            throw unexpected;
        }
        if (first != null) {
            throw first;
        }
    }

    /** The exception a caller sees for a failed chunk call. */
    IOException translate(Throwable t) {
        t = unwrap(t);
        if (t instanceof IOException io) {
            return io;
        }
        if (t instanceof LinkClosedException || t instanceof RpcTimeoutException) {
            return new Retry(t);
        }
        if (t instanceof RemoteException r) {
            String type = r.remoteType();
            if (type.endsWith("$NotPrimary")) {
                return new Retry(r);
            }
            if (type.equals(FileSystemException.class.getName()) && noSpace(r.getMessage())) {
                markFull(r.peer());
                return new FileSystemException(null, null, stripType(r.getMessage()));
            }
            if (type.equals(KddmException.class.getName())) {
                return new Retry(r);
            }
            return new FileSystemException(null, null, "node " + r.peer() + ": " + stripType(r.getMessage()));
        }
        if (t instanceof KddmException k) {
            return Namespace.io("chunk", k);
        }
        if (t instanceof RuntimeException e) {
            throw e;
        }
        return new IOException(t);
    }

    /** A full disk or quota, by its message: ours ("no space left on node N") or the system's (ENOSPC). */
    private static boolean noSpace(String message) {
        return message != null && message.toLowerCase(java.util.Locale.ROOT).contains("no space left");
    }

    private static String stripType(String message) {
        return message == null ? "" : message;
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private static void pause(int attempt) throws InterruptedIOException {
        try {
            Thread.sleep(Math.min(200, 5L << Math.min(attempt, 6)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }
}
