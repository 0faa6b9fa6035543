package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.epm.internal.EpmWire.Migrate;
import org.kerrighed.epm.internal.EpmWire.MoveOpen;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.access.Caller;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Process migration, both sides. The old node's side runs on the process's own thread at a safe point: it hands
 * the process's locks over, writes its ghost, streams it to the new node (conversation {@link EpmWire#GHOST_MOVE}),
 * which reads it and binds its handles (prepared), then commits. Until the commit the process can go on here; after
 * it, it runs there.
 */
final class Migration {
    /*
     * Overview of one move, old node A, new node B:
     *   A (process thread): its queued table writes done; locks handed over (reserved for the pid); ghost
     *      written; pieces sent.
     *   B: ghost checked and read, handles bound (segments attached, pipe ends opened). A refusal up to here
     *      leaves the process on A (B closes what it opened, A takes its locks back). Then B installs the process
     *      and starts its thread (which takes the locks back), answers ARRIVED, and off the path rewrites its row,
     *      then (only then) tells its parent's and children's nodes where it is. A ghost sent in one call is
     *      installed (listed) before the answer but started once the answer was written to the link, row and
     *      notices after that: on a busy node the answer does not wait for the new thread, and a B that dies before
     *      its answer left never ran the process nor rewrote its row. An error that may stand for an answer B could
     *      not encode (the RPC layer sends one instead) is settled by asking, not taken as a refusal.
     *   A: lets it go (remembers where it went: signals, moves and exit notices that still come here are
     *      forwarded), and the caller of migrate is told (for a one-call ghost, the caller itself waits for the
     *      answer and does this, woken by the I/O thread that receives it, while the process's thread waits for
     *      that commit, or for the caller to hand the answer over); then, on the process's old thread, forwards
     *      the signals posted meanwhile and the children's exits it took meanwhile, tells the parent's node too (in
     *      case B dies before it does), detaches and closes its copies. A move of the process back to A waits until
     *      A has done so (leaving).
     * When the answer is lost after every piece went, A asks B (service ARRIVED) until B answers or leaves the
     * view: the process then goes on on exactly one node. Each move has an id A draws; B answers "no" for a move
     * whose ghost it is still reading or has not seen yet, and then refuses that move, so a slow arrival (a JAR to
     * fetch, handles to bind, pieces still on the way) cannot start the process on B after A took it back.
     * Once B answered ARRIVED, A never takes the process back: what fails while it lets it go is logged.
     * B leaving the view without answering may have installed the process and started telling other nodes: the
     * row decides. Still naming A, nobody was told, and the process goes on on A; naming B (or removed: the
     * parent's node took it for lost with B), it is lost with B, and A ends it as killed. A parent's node takes a
     * child on a node that left for lost only when the child's row names no live node, and ignores the notices of
     * earlier moves (each carries the move's count), so that every node ends up on the row's side.
     *
     * Bounds. From the hand-over of its locks, a move waits: for its ghost's pieces to get credit and for B's
     * answer, a call timeout each; without an answer, for the asks, a call timeout each (B, silent for a whole call
     * timeout, is declared dead by the membership, whose failure detection takes seconds, before the next ask
     * ends: two); B gone, for its row to be read, two at most; then for its locks to be taken back, a call timeout.
     * MOVE_TIMEOUTS covers this, with room to
     * write and send a large ghost: the locks are reserved for the process that long, and a caller waits that long
     * once the move started. B silent and still a member for longer (A cut off from the rest, say) is asked on;
     * a process whose locks lapsed meanwhile and were taken is killed rather than run without them.
     */
    private static final Logger log = LoggerFactory.getLogger(Migration.class);
    private static final long GONE_TTL_NANOS = TimeUnit.MINUTES.toNanos(5);
    /** The longest a move takes, from the hand-over of its locks to its end, in call timeouts (see above). */
    static final int MOVE_TIMEOUTS = 10;
    /** How long, in call timeouts, a caller waits for a move: its safe point, then the move. */
    static final int CALLER_TIMEOUTS = 1 + MOVE_TIMEOUTS;

    private final Epm epm;
    private final RpcNode rpc;
    private final int self;
    private final Duration timeout;
    private final Duration moveBound;                  // MOVE_TIMEOUTS call timeouts
    private final GhostPieces pieces;
    private final int smallGhost;                  // ghosts up to this size travel in one call
    private final java.util.concurrent.Executor arrivals = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    private final Map<Integer, Gone> gone = new ConcurrentHashMap<>();
    // This node's processes that are moving away, by pid, until their move ended (their old copies released, or the
    // process kept): an arrival of the same pid waits for that, so that the copies released here are never the new
    // ones (the caller of migrate is told before they are released).
    private final Map<Integer, CompletableFuture<Void>> leaving = new ConcurrentHashMap<>();
    // This node as a move's target, by move id, guarded by this: the moves whose ghost is being read (true once
    // the old node asked), and those installed or refused (answered no before their ghost came), for GONE_TTL.
    private final Map<Long, Boolean> arriving = new java.util.HashMap<>();
    private final java.util.LinkedHashMap<Long, Long> arrived = new java.util.LinkedHashMap<>();
    private final java.util.LinkedHashMap<Long, Long> refused = new java.util.LinkedHashMap<>();

    /** Tests only: called with the pid and move id of an arrival once its ghost is read, before it is installed. */
    static volatile java.util.function.ObjLongConsumer<Integer> beforeInstallForTests;
    /** Tests only: called with the pid when a move's old node starts settling it without its answer. */
    static volatile java.util.function.IntConsumer beforeSettleForTests;
    /** Tests only: called with this node's id and a moved process's pid before its copies here are released. */
    static volatile java.util.function.BiConsumer<Integer, Integer> beforeReleaseForTests;
    /** Tests only: called with the pid and move id of an arrival once it is installed, before the answer. */
    static volatile java.util.function.ObjLongConsumer<Integer> afterInstallForTests;

    private record Gone(int node, int pgid, long atNanos) {
    }

    Migration(Epm epm, RpcNode rpc) {
        this.epm = epm;
        this.rpc = rpc;
        this.self = rpc.nodeId();
        this.timeout = rpc.config().defaultCallTimeout();
        this.moveBound = timeout.multipliedBy(MOVE_TIMEOUTS);
        this.pieces = new GhostPieces(rpc);
        this.smallGhost = rpc.config().maxFrameBytes() / 4;
        rpc.registerConversation(EpmWire.GHOST_MOVE, this::receive);
        rpc.registerAsync(EpmWire.GHOST_MOVE_SMALL, org.kerrighed.rpc.HandlerKind.NON_BLOCKING, this::arriveSmall);
        rpc.register(EpmWire.ARRIVED, org.kerrighed.rpc.HandlerKind.NON_BLOCKING, (ctx, a) -> askedArrived(a.move()));
    }

    /** Tests only: forgets where process {@code pid} moved from here, as {@link #wentTo} does after a while. */
    void forgetForTests(int pid) {
        gone.remove(pid);
    }

    /**
     * The processes of group {@code pgid} that moved from here recently (and are no longer here): pid to the node
     * each went to. A group signal that reaches this node after one of them left follows it there.
     */
    Map<Integer, Integer> wentAwayFrom(int pgid) {
        long now = System.nanoTime();
        gone.values().removeIf(g -> now - g.atNanos() > GONE_TTL_NANOS);      // the records past their time go
        Map<Integer, Integer> went = new java.util.HashMap<>();
        gone.forEach((pid, g) -> {
            if (g.pgid() == pgid) {
                went.put(pid, g.node());
            }
        });
        return went;
    }

    /** The node process {@code pid} moved to from here (recently), or -1. */
    int wentTo(int pid) {
        Gone g = gone.get(pid);
        if (g == null) {
            return -1;
        }
        if (System.nanoTime() - g.atNanos() > GONE_TTL_NANOS) {
            gone.remove(pid, g);
            return -1;
        }
        return g.node();
    }

    // ------------------------------------------------------------------ the old node

    /** Serves a migration of {@code p}, one of this node's processes: waits for it to be done or refused. */
    MigrationReport moveFromHere(LocalProcess p, Migrate m) {
        long t0 = System.nanoTime();
        if (m.node() == self) {
            throw new MigrationException("process " + p.pid + " already runs on node " + self);
        }
        if (!epm.isMember(m.node())) {
            throw new MigrationException("node " + m.node() + " is not a live member of the cluster");
        }
        if (!p.capabilities().has(Capability.CAN_MIGRATE)) {
            throw new CapabilityException("process " + p.pid + " may not migrate: CAN_MIGRATE is not effective ("
                    + Capabilities.names(p.capabilities().effective()) + ")");
        }
        MoveOut out = new MoveOut(m.node(), t0);
        try {
            p.request(out);
        } catch (IllegalStateException e) {
            throw new MigrationException(e.getMessage());
        }
        try {
            return out.await(timeout.toNanos());
        } catch (TimeoutException e) {
            if (p.withdraw(out)) {
                throw new MigrationException("process " + p.pid + " did not reach a safe point in " + timeout
                        + " (a step that long, or a loop without ctx.safepoint()): not moved");
            }
            return awaitStarted(out, p);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (!p.withdraw(out)) {
                return awaitStarted(out, p);
            }
            throw new MigrationException("interrupted while waiting for process " + p.pid + " to move");
        } catch (ExecutionException e) {
            throw ProcessErrors.fromRemote(e.getCause(), "move process " + p.pid);
        }
    }

    /**
     * The move started: waits for its end, which comes within {@link #MOVE_TIMEOUTS} call timeouts unless its target
     * stays a silent member that long. Only the move's end says where the process is: a caller interrupted before,
     * or still without it then, gets a {@link KerrighedException} that is not a {@link MigrationException} (the
     * process may have moved).
     */
    private MigrationReport awaitStarted(MoveOut out, LocalProcess p) {
        try {
            return out.await(moveBound.toNanos());
        } catch (ExecutionException e) {
            throw ProcessErrors.fromRemote(e.getCause(), "move process " + p.pid);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (!out.done.isDone()) {
                throw undecided(out, p, "interrupted while it moves");
            }
            if (out.done.isCompletedExceptionally()) {
                throw ProcessErrors.fromRemote(out.done.exceptionNow(), "move process " + p.pid);
            }
            return out.done.resultNow();
        } catch (TimeoutException e) {
            throw undecided(out, p, "its move did not end in " + moveBound);
        }
    }

    private KerrighedException undecided(MoveOut out, LocalProcess p, String why) {
        return new KerrighedException("process " + p.pid + ": " + why + ": it runs on node " + self + " or on node "
                + out.target + ", as the move ends (see its status)");
    }

    /** The move, run by the process's thread at a safe point. */
    private final class MoveOut implements LocalProcess.SafepointAction {
        final int target;
        final long t0;
        final long move = java.util.concurrent.ThreadLocalRandom.current().nextLong();
        final CompletableFuture<MigrationReport> done = new CompletableFuture<>();
        // A ghost sent in one call: its answer, completed on the I/O thread that receives it (the caller waits on it
        // from the start: the answer alone wakes it, with no hand-off), and what commits it (set before it leaves).
        private final CompletableFuture<EpmWire.Arrived> answer = new CompletableFuture<>();
        private volatile java.util.function.Consumer<EpmWire.Arrived> onAnswer;
        // The caller stopped waiting without committing (a refusal, a lost answer, its timeout or interrupt): the
        // process's thread takes the answer itself.
        private final CompletableFuture<Void> callerLeft = new CompletableFuture<>();
        private boolean letGo;                          // guarded by this: the process runs on the target
        private boolean kept;                           // guarded by this: settled as not moved (it stays or is lost)

        MoveOut(int target, long t0) {
            this.target = target;
            this.t0 = t0;
        }

        @Override
        public void cancel(String why) {
            done.completeExceptionally(new MigrationException(why + " before it could move"));
        }

        @Override
        public boolean moves() {
            return true;
        }

        /**
         * The caller's wait for the move's end, {@code nanos} at most. When the ghost went in one call, the caller
         * waits for that call's answer itself and commits the move ({@link #commit}): the I/O thread that receives
         * the answer wakes it directly, and only it; the process's thread, which waits for the commit, then releases
         * the copies. A caller that leaves without committing hands the answer over to the process's thread.
         */
        MigrationReport await(long nanos) throws InterruptedException, ExecutionException, TimeoutException {
            long deadline = System.nanoTime() + nanos;
            try {
                try {
                    CompletableFuture.anyOf(done, answer).get(nanos, TimeUnit.NANOSECONDS);
                } catch (ExecutionException refusedOrLost) {
                    // the answer failed (the process's thread takes it from here), or the move: done says which
                }
                java.util.function.Consumer<EpmWire.Arrived> commit = onAnswer;
                if (!done.isDone() && !callerLeft.isDone() && commit != null
                        && answer.state() == java.util.concurrent.Future.State.SUCCESS) {
                    commit.accept(answer.resultNow());
                }
            } finally {
                if (!done.isDone()) {
                    callerLeft.complete(null);          // the process's thread takes the answer from here
                }
            }
            return done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }

        @Override
        public boolean run(LocalProcess p) {
            long tSafe = System.nanoTime();
            List<Ipc.HeldLock> locks = List.of();
            GhostCodec.Binding binding = new GhostCodec.Binding(epm);
            CompletableFuture<Void> ended = new CompletableFuture<>();
            leaving.put(p.pid, ended);
            p.startMoving();
            try (AutoCloseable ignored = p.useCapability(Capability.CAN_MIGRATE)) {
                locks = epm.ipc().handOverLocks(p.pid, moveBound);
                ProcessImage.State state = p.capture(locks);
                if (p.ghostHint <= smallGhost / 2) {
                    Boolean moved = transferInOneCall(p, state, binding, tSafe);
                    if (moved != null) {
                        return moved;
                    }
                    binding = new GhostCodec.Binding(epm);      // the ghost outgrew a call: nothing went
                }
                GhostCodec.Sealed g = epm.ghosts().write(p, Ghost.MIGRATION, state, binding);
                return transfer(p, g, state, binding, tSafe, System.nanoTime());
            } catch (Exception | Error e) {
                if (e instanceof LocalProcess.Moved || e instanceof LocalProcess.Ended) {
                    throw (Error) e;
                }
                if (e instanceof LostWithTarget lost) {
                    done.completeExceptionally(new KerrighedException(lost.getMessage()));
                    try {
                        p.takeLocksBack(locks, "to release them");    // its end releases them
                    } catch (LocalProcess.Ended ignored) {
                        // it ends anyway
                    }
                    throw new LocalProcess.Ended(ExitStatus.killed(Signal.KILL, lost.getMessage()));
                }
                Throwable failure = e instanceof MigrationException || e instanceof GhostException
                        || e instanceof CapabilityException ? e
                        : new MigrationException("process " + p.pid + " was not moved to node " + target + ": " + e, e);
                retake(p, locks, failure);
                done.completeExceptionally(failure);
                return false;
            } finally {
                p.stopMoving();
                leaving.remove(p.pid, ended);
                ended.complete(null);
            }
        }

        /** Takes the locks back after a failed move; a process that cannot is killed (the caller is told first). */
        private void retake(LocalProcess p, List<Ipc.HeldLock> locks, Throwable failure) {
            try {
                p.takeLocksBack(locks, "after its failed move to node " + target);
            } catch (LocalProcess.Ended killed) {
                done.completeExceptionally(new MigrationException("process " + p.pid + " was not moved to node "
                        + target + " (" + failure.getMessage() + "), and was then killed: " + killed.status.reason(),
                        failure));
                throw killed;
            }
        }

        /**
         * Streams the ghost; the target installs and starts the process as soon as it has read it (the commit is the
         * last piece). Returns true once the process runs on the target; throws when it was not moved.
         */
        private boolean transfer(LocalProcess p, GhostCodec.Sealed g, ProcessImage.State state,
                                 GhostCodec.Binding binding, long tSafe, long tExport) throws Exception {
            Conversation c;
            try {
                c = rpc.openConversation(target, EpmWire.GHOST_MOVE, new MoveOpen(p.pid, g.length(), move));
            } catch (KerrighedException e) {
                throw new MigrationException("node " + target + " cannot be reached: " + e.getMessage(), e);
            }
            boolean sentAll = false;
            try {
                pieces.send(c, g.buf(), g.length());
                sentAll = true;
                Optional<Object> m = c.receive(timeout);
                if (m.isEmpty() || !(m.get() instanceof EpmWire.Arrived a)) {
                    throw new MigrationException("node " + target + " broke the move protocol (got "
                            + m.orElse("the end") + ")");
                }
                c.close();
                return arrived(p, g.length(), state, binding, tSafe, tExport, a);
            } catch (org.kerrighed.rpc.RemoteException refused) {
                c.abort("process " + p.pid + " stays on node " + self);  // the target fails only before installing
                throw ProcessErrors.fromRemote(refused, "move");
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();             // a signal's: kept for later
                }
                if (!sentAll) {
                    c.abort("process " + p.pid + " stays on node " + self + ": " + e.getMessage());
                    throw new MigrationException("process " + p.pid + " was not moved to node " + target + ": "
                            + e.getMessage(), e);
                }
                try {
                    return settled(p, g.length(), state, binding, tSafe, tExport, e);
                } finally {
                    c.abort("the move of process " + p.pid + " was settled by asking node " + target);
                }
            }
        }

        /**
         * A ghost that its last size says is small, in one call: the same protocol as the pieces of a conversation, in
         * one round trip (its request is the commit; a refusal comes back as the call's error). The ghost is written
         * straight into the request's frame. Returns null, nothing sent, when it outgrew one call (a quarter of the frame
         * limit; the frame stops it at the limit): then the caller streams it.
         */
        private Boolean transferInOneCall(LocalProcess p, ProcessImage.State state, GhostCodec.Binding binding,
                                          long tSafe) {
            long[] written = new long[2];                       // the ghost's length, when its writing ended
            try {
                rpc.call(target, EpmWire.GHOST_MOVE_SMALL, EpmWire.Ghost.toSend(p.pid, move, out -> {
                    int length = epm.ghosts().writeInto(out, p, Ghost.MIGRATION, state, binding);
                    if (length > smallGhost) {
                        throw new org.kerrighed.rpc.FrameTooLargeException("a ghost of " + length + " bytes is"
                                + " streamed, not sent in one call");
                    }
                    long tExport = System.nanoTime();
                    written[0] = length;
                    written[1] = tExport;
                    onAnswer = a -> commit(p, length, state, tSafe, tExport, a);   // before the ghost leaves
                    return length;
                }), timeout).whenCompleteAsync((a, failure) -> {       // the caller waits on answer
                    if (failure != null) {
                        answer.completeExceptionally(failure);
                    } else {
                        answer.complete(a);
                    }
                }, org.kerrighed.rpc.RpcNode.ON_IO_THREAD);
            } catch (org.kerrighed.rpc.FrameTooLargeException e) {
                onAnswer = null;
                return null;                                    // nothing went (the frame outgrew, or the ghost)
            } catch (org.kerrighed.rpc.SerializationException e) {
                onAnswer = null;
                for (Throwable c = e; c != null; c = c.getCause()) {
                    if (c instanceof MigrationException m) {
                        throw m;                                // a part of the state cannot travel
                    }
                }
                throw e;
            }
            long deadline = System.nanoTime() + timeout.toNanos() + TimeUnit.SECONDS.toNanos(1);
            EpmWire.Arrived a;
            try {
                // The caller takes the answer and commits (done), or hands it over (callerLeft).
                CompletableFuture.anyOf(done, callerLeft).get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (hasLetGo()) {
                    release(p, binding);
                    return true;
                }
                a = answer.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof org.kerrighed.rpc.RemoteException refused && !replyLost(refused)) {
                    throw ProcessErrors.fromRemote(refused, "move");      // refused before it was installed
                }
                return settled(p, written[0], state, binding, tSafe, written[1], e.getCause());
            } catch (TimeoutException | InterruptedException e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();             // a signal's: kept for later
                }
                return settled(p, written[0], state, binding, tSafe, written[1], e);
            }
            return arrived(p, written[0], state, binding, tSafe, written[1], a);
        }

        /**
         * Whether the target's error may stand for its answer: the RPC layer sends one of these instead of a reply it
         * could not encode, after the handler installed the process. The move is then settled by asking the target
         * (which also refuses it if the request itself could not be decoded), not taken as refused.
         */
        private static boolean replyLost(org.kerrighed.rpc.RemoteException e) {
            return e.remoteType().equals(org.kerrighed.rpc.SerializationException.class.getName())
                    || e.remoteType().equals(org.kerrighed.rpc.FrameTooLargeException.class.getName());
        }

        /** The target answered that the process runs there: this node lets it go, reports, and releases its copies. */
        private boolean arrived(LocalProcess p, long length, ProcessImage.State state,
                                GhostCodec.Binding binding, long tSafe, long tExport, EpmWire.Arrived a) {
            commit(p, length, state, tSafe, tExport, a);
            release(p, binding);
            return true;
        }

        /**
         * The target answered: lets the process go ({@link #letGo}) and tells the caller, with the phases. Run by the
         * caller or the process's thread, whichever comes first (then a no-op; a no-op too when the process's thread
         * settled the move as not done first); the copies are released after, by the process's thread
         * ({@link #release}).
         */
        private void commit(LocalProcess p, long length, ProcessImage.State state, long tSafe, long tExport,
                            EpmWire.Arrived a) {
            long tArrived = System.nanoTime();
            if (letGo(p, state)) {
                long tEnd = System.nanoTime();
                done.complete(new MigrationReport(p.pid, self, target, length, ms(tSafe - t0), ms(tExport - tSafe),
                        ms(tArrived - tExport) - a.installMillis(), a.installMillis() + ms(tEnd - tArrived),
                        ms(tEnd - t0)));
            }
        }

        /**
         * The ghost went but this thread has no answer (its wait ended, or was interrupted): true, the process let go
         * and its copies released, if it runs on the target. The caller may have taken the target's answer and let
         * the process go meanwhile: that stands (the target answered that it runs there).
         */
        private boolean settled(LocalProcess p, long length, ProcessImage.State state,
                                GhostCodec.Binding binding, long tSafe, long tExport, Throwable why) {
            java.util.function.IntConsumer hook = beforeSettleForTests;
            if (hook != null) {
                hook.accept(p.pid);
            }
            boolean moved = hasLetGo() || settleArrived(p.pid);
            if (!moved && !keep()) {
                moved = true;                               // the caller took the target's answer meanwhile
            }
            if (!moved) {
                if (!epm.isClosed() && !epm.isMember(target) && !rowNamesThisNode(p.pid)) {
                    throw new LostWithTarget("process " + p.pid + " was lost: node " + target + " failed after it had"
                            + " taken it over (its row names that node), before it answered");
                }
                throw new MigrationException("process " + p.pid + " was not moved to node " + target + " (no answer"
                        + " after its ghost went): " + why, why);
            }
            letGo(p, state);
            long tEnd = System.nanoTime();
            done.complete(new MigrationReport(p.pid, self, target, length, ms(tSafe - t0), ms(tExport - tSafe),
                    Double.NaN, Double.NaN, ms(tEnd - t0)));
            release(p, binding);
            return true;
        }

        /**
         * Whether process {@code pid}'s row still names this node, read once its target, silent, left the view. The
         * target rewrites the row before it tells any other node of the move, and a node that sees the target go
         * takes the process for lost only if the row names the target: the row is where a move commits. Read for a
         * call timeout at most; unread, the process goes on here (as it did before the move), and an error is logged.
         */
        private boolean rowNamesThisNode(int pid) {
            try {
                return epm.table().nodeOf(pid, System.nanoTime() + timeout.toNanos()) == self;
            } catch (RuntimeException e) {
                log.error("node {}: node {} left before it said whether process {} arrived there, and its row could"
                        + " not be read ({}): it goes on here", self, target, pid, e.toString());
                return true;
            }
        }

        /**
         * A commit whose answer was lost: asks the target until it answers or leaves the view (each ask waits a call
         * timeout at most), so that the process goes on on exactly one node. An interrupt meanwhile (a signal's) is
         * kept for later. Once this node's process layer closes, asks until the close stops waiting for its
         * processes ({@link Epm#closeDeadline}), and at least once, a second at least, then gives up.
         */
        private boolean settleArrived(int pid) {
            boolean interrupted = Thread.interrupted();
            long since = System.nanoTime();
            boolean told = false;
            boolean asked = false;
            try {
                while (epm.isMember(target) && (!epm.isClosed() || !asked
                        || System.nanoTime() < epm.closeDeadline())) {
                    long wait = timeout.toNanos();
                    if (epm.isClosed()) {
                        wait = Math.min(wait, Math.max(TimeUnit.SECONDS.toNanos(1),
                                epm.closeDeadline() - System.nanoTime()));
                    }
                    asked = true;
                    try {
                        return rpc.call(target, EpmWire.ARRIVED, new EpmWire.Arrival(pid, move))
                                .get(wait, TimeUnit.NANOSECONDS) == 1;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (Exception e) {
                        if (!told && System.nanoTime() - since > moveBound.toNanos()) {
                            told = true;
                            log.error("node {}: node {} has not said for {} whether process {} arrived there, yet it"
                                    + " is still a member: asking on ({})", self, target, moveBound, pid, e.toString());
                        }
                        interrupted |= pause();
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            if (epm.isMember(target)) {
                log.error("node {}: cannot tell whether process {} arrived on node {}: this node is closing", self, pid,
                        target);
            }
            return false;
        }

        private synchronized boolean hasLetGo() {
            return letGo;
        }

        /** Settles the move as not done, unless the process was let go first: then false. */
        private synchronized boolean keep() {
            if (letGo) {
                return false;
            }
            kept = true;
            return true;
        }

        /**
         * The process runs on the target: this node no longer takes it for one of its own. Later signals, moves and
         * children's exits go on to the target, and those that came since its ghost was written are sent on now
         * (before the caller is told: a signal its caller sends next comes after them), and waits until the target
         * took those signals (a call timeout at most; the caller's thread may run it). Throws nothing. True if this
         * call did it: the first, and the move was not settled as not done before ({@link #keep}).
         */
        private boolean letGo(LocalProcess p, ProcessImage.State state) {
            int late;
            List<EpmWire.Exit> exits = List.of();
            synchronized (this) {
                if (letGo || kept) {
                    return false;
                }
                letGo = true;
                gone.put(p.pid, new Gone(target, p.pgid, System.nanoTime()));
                late = p.leave(state.pending());
                try {
                    exits = epm.reaper().leftHere(p, state.children());
                } catch (RuntimeException e) {
                    log.warn("node {}: process {} moved to node {}, but this node could not take it out of its"
                            + " process list: {}", self, p.pid, target, e.toString());
                }
            }
            List<EpmWire.Exit> taken = exits;
            bestEffort(p, "forward its children's exits", () -> epm.reaper().forwardLate(p, target, taken));
            List<CompletableFuture<Integer>> sent = new java.util.ArrayList<>();
            for (Signal s : Signal.values()) {
                if ((late & 1 << s.ordinal()) != 0) {
                    bestEffort(p, "forward " + s, () -> sent.add(epm.forwardSignal(p.pid, s, target)));
                }
            }
            for (LocalProcess.GroupSignal g : p.takeHeldGroupSignals()) {   // stopMoving leaves them to us now
                bestEffort(p, "forward " + g.signal(), () -> sent.add(epm.forwardHeldGroupSignal(p, g, target)));
            }
            awaitTaken(p, sent);
            return true;
        }

        /**
         * Waits, a call timeout at most, until the target took the signals sent on ({@code sent}): a signal that the
         * caller sends once told (a CONT after a STOP sent during the move) must not overtake them, and the target
         * takes concurrent signals in any order. Interrupts do not end the wait (the signals sent on interrupted the
         * process's thread themselves): they are kept for later.
         */
        private void awaitTaken(LocalProcess p, List<CompletableFuture<Integer>> sent) {
            if (sent.isEmpty()) {
                return;
            }
            CompletableFuture<Void> all = CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new));
            long end = System.nanoTime() + timeout.toNanos();
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        all.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                        return;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (ExecutionException | TimeoutException e) {
                        log.warn("node {}: process {} moved to node {}, which has not taken the signals sent on yet:"
                                + " {}", self, p.pid, target, e.toString());
                        return;
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /**
         * After {@link #letGo}, on the process's thread: tells the parent's node and releases this node's copies.
         * Throws nothing: the move stands whatever fails here (logged).
         */
        private void release(LocalProcess p, GhostCodec.Binding binding) {
            java.util.function.BiConsumer<Integer, Integer> hook = beforeReleaseForTests;
            if (hook != null) {
                hook.accept(self, p.pid);
            }
            bestEffort(p, "tell its parent's node where it went", () -> Thread.ofVirtual()
                    .name("krg-epm-moved-" + p.pid).start(() -> epm.reaper().movedAway(p, target)));
            bestEffort(p, "close the handles its ghost met", binding::closeAll);
            bestEffort(p, "detach its segments", () -> epm.shm().detachAll(new Caller(self, p.pid, 0)));
            bestEffort(p, "close its pipe ends", () -> epm.ipc().closePipeEnds(new Caller(self, p.pid, 0)));
            log.debug("node {}: process {} moved to node {}", self, p.pid, target);
        }

        private void bestEffort(LocalProcess p, String what, Runnable step) {
            try {
                step.run();
            } catch (RuntimeException | Error e) {
                log.warn("node {}: process {} moved to node {}, but this node could not {}: {}", self, p.pid, target,
                        what, e.toString());
            }
        }
    }

    /** A move whose target left the view after it took the process over: the process is lost with it. */
    private static final class LostWithTarget extends RuntimeException {
        LostWithTarget(String message) {
            super(message, null, false, false);
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** Sleeps 100 ms; true if interrupted meanwhile (the caller keeps the interrupt for later). */
    private static boolean pause() {
        try {
            Thread.sleep(100);
            return false;
        } catch (InterruptedException e) {
            return true;
        }
    }

    // ------------------------------------------------------------------ the new node

    /**
     * The old node asks whether {@code move} installed its process here (it stopped waiting for the answer): 1 if it
     * did; 0 if not, and then the move is refused, whether its ghost is being read or has not come yet.
     */
    private synchronized int askedArrived(long move) {
        long now = System.nanoTime();
        prune(arrived, now);
        prune(refused, now);
        if (arrived.containsKey(move)) {
            return 1;
        }
        if (arriving.containsKey(move)) {
            arriving.put(move, true);
        } else {
            refused.put(move, now);
        }
        return 0;
    }

    /** Drops the entries older than {@link #GONE_TTL_NANOS} (oldest first: insertion order). */
    private static void prune(java.util.LinkedHashMap<Long, Long> byAge, long now) {
        java.util.Iterator<Long> it = byAge.values().iterator();
        while (it.hasNext() && now - it.next() > GONE_TTL_NANOS) {
            it.remove();
        }
    }

    /** Lists {@code move} as arriving, unless its old node already stopped waiting for it. */
    private synchronized void startArriving(long move, int pid, int from) {
        if (refused.remove(move) != null) {
            throw stoppedWaiting(pid, from);
        }
        arriving.put(move, false);
    }

    private synchronized void stopArriving(long move) {
        arriving.remove(move);
    }

    private MigrationException stoppedWaiting(int pid, int from) {
        return new MigrationException("process " + pid + " was not installed on node " + self + ": node " + from
                + " stopped waiting for it");
    }

    /**
     * Receives a ghost, rebuilds the process, installs and starts it, and answers {@link EpmWire.Arrived} (the
     * accepting side of GHOST_MOVE). It throws (refuses) only before installing: the old node takes a refusal as
     * "not moved".
     */
    private void receive(Conversation c, MoveOpen o) throws Exception {
        startArriving(o.move(), o.pid(), c.peer());             // before the pieces: the old node may ask meanwhile
        byte[] buf;
        try {
            buf = pieces.gather(c, o.length(), "the ghost of process " + o.pid() + " from node " + c.peer());
        } catch (Exception | Error e) {
            stopArriving(o.move());
            throw e;
        }
        EpmWire.Arrived a = arrive(java.nio.ByteBuffer.wrap(buf), o.pid(), o.move(), c.peer(), false, true, null);
        try {
            c.send(a, timeout);
            c.close();
        } catch (Exception e) {
            log.debug("node {}: process {} arrived, but its old node was not told ({}): it will ask", self, o.pid(),
                    e.toString());
        }
    }

    /**
     * A small ghost (on the I/O thread, read from the request's frame): read, installed and answered right there when
     * it holds no handle that needs messages to bind (the common case: two thread hand-offs fewer); else copied out of
     * the frame and read on a handler thread.
     */
    private java.util.concurrent.CompletionStage<EpmWire.Arrived> arriveSmall(org.kerrighed.rpc.CallContext ctx,
                                                                             EpmWire.Ghost g) {
        if (ctx.callerIsClient()) {
            return CompletableFuture.failedFuture(new PermissionDeniedException("a tool may not send a process here"));
        }
        try {
            return CompletableFuture.completedFuture(arrive(g.bytes(), g.pid(), g.move(), ctx.caller(), true, false,
                    ctx::afterReply));
        } catch (GhostCodec.WouldBlock blocking) {
            try {                                               // still arriving: the entry carries over
                java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate(g.bytes().remaining()).put(g.bytes()).flip();
                return CompletableFuture.supplyAsync(() -> arrive(copy, g.pid(), g.move(), ctx.caller(), false, true,
                        ctx::afterReply), arrivals);
            } catch (RuntimeException | OutOfMemoryError e) {
                stopArriving(g.move());
                return CompletableFuture.failedFuture(e);
            }
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Waits until process {@code pid}'s last move away from this node ended (its copies here released), a call timeout
     * at most (then refuses the move); on an I/O thread ({@code mayNotBlock}) throws {@link GhostCodec.WouldBlock}
     * instead, for a thread that may wait. True if it waited.
     */
    private boolean awaitLeft(int pid, boolean mayNotBlock) {
        CompletableFuture<Void> ended = leaving.get(pid);
        if (ended == null || ended.isDone()) {
            return false;
        }
        if (mayNotBlock) {
            throw new GhostCodec.WouldBlock();
        }
        try {
            ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new MigrationException("process " + pid + " was not moved back to node " + self + ": its move away"
                    + " from there has not ended in " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("process " + pid + " was not moved back to node " + self + ": interrupted");
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);                 // never: completed with null
        }
        return true;
    }

    /** Whether the old node of {@code move} asked about it (true), or not yet (false); null when not arriving. */
    private synchronized Boolean arrivingState(long move) {
        return arriving.get(move);
    }

    /**
     * Reads ghost {@code ghost} of process {@code pid} (move {@code move}) from node {@code from}, binds its handles,
     * installs and starts it. Throws (refuses) only before installing, also when the old node stopped waiting for it;
     * with {@code mayNotBlock}, {@link GhostCodec.WouldBlock} before any handle that needs messages (nothing bound
     * yet), the move left listed as arriving for the call that reads it again ({@code again}: already listed). With
     * {@code later} (a call's {@link org.kerrighed.rpc.CallContext#afterReply}: the ghost came in one message, so it
     * may go without its checksum), the process is listed here before the answer and started once the answer was
     * written (its thread's wake-up and first step, its row rewrite and notices do not delay the answer).
     */
    private EpmWire.Arrived arrive(java.nio.ByteBuffer ghost, int pid, long move, int from, boolean mayNotBlock,
                                   boolean again, java.util.function.Consumer<Runnable> later) {
        String source = "the ghost of process " + pid + " from node " + from;
        GhostCodec.Binding binding = new GhostCodec.Binding(epm);
        binding.mayNotBlock = mayNotBlock;
        if (!again) {
            startArriving(move, pid, from);
        }
        LocalProcess p = null;
        boolean read = false;
        boolean retry = false;
        try {
            if (awaitLeft(pid, mayNotBlock) && Boolean.TRUE.equals(arrivingState(move))) {
                throw stoppedWaiting(pid, from);                // it asked meanwhile: refused, nothing bound
            }
            p = epm.ghosts().read(ghost, Ghost.MIGRATION, source, binding, later != null);
            if (p.pid != pid) {
                throw new GhostException(source + " holds process " + p.pid);
            }
            if (epm.isLocal(p.pid)) {
                throw new MigrationException("process " + p.pid + " already runs on node " + self);
            }
            java.util.function.ObjLongConsumer<Integer> hook = beforeInstallForTests;
            if ((hook != null || afterInstallForTests != null) && mayNotBlock) {
                throw new GhostCodec.WouldBlock();               // a hook may block: not on an I/O thread
            }
            if (hook != null) {
                hook.accept(pid, move);
            }
            read = true;
        } catch (GhostCodec.WouldBlock w) {
            retry = true;
            throw w;
        } finally {
            if (!read) {
                if (!retry) {
                    stopArriving(move);
                }
                epm.ghosts().abandon(binding);
            }
        }
        long tRead = System.nanoTime();
        RuntimeException notStarted = null;
        boolean installed = false;
        synchronized (this) {                                   // against askedArrived: installed, or refused
            if (!Boolean.TRUE.equals(arriving.remove(move))) {
                try {
                    if (later == null) {
                        epm.install(p);                         // nothing left of it here if it throws
                    } else {
                        epm.installThenStart(p, later);         // started once the answer left
                    }
                    installed = true;
                } catch (RuntimeException e) {
                    notStarted = e;                             // a refusal: the old node keeps it
                }
                if (installed) {
                    gone.remove(p.pid);
                    prune(arrived, tRead);
                    arrived.put(move, tRead);
                }
            }
        }
        if (installed) {
            java.util.function.ObjLongConsumer<Integer> after = afterInstallForTests;
            if (after != null) {
                after.accept(pid, move);
            }
            return new EpmWire.Arrived(ms(System.nanoTime() - tRead));
        }
        epm.ghosts().abandon(binding);
        throw notStarted != null ? notStarted : stoppedWaiting(pid, from);
    }
}
