package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A process running on this node: its runtime state, its signals, and the context its program sees.
 */
final class LocalProcess implements ProcessContext {
    /*
     * Overview: signals are posted from any thread (RPC handlers, other processes) into `pending` under `signals`'
     * monitor, and delivered on the process's own thread at safe points. KILL and STOP interrupt the thread; other
     * signals interrupt it only while it waits inside the runtime (`inRuntimeWait`), so program code sees
     * interrupts only for the two signals that must reach it. `signalInterrupt` tells a wait inside the runtime
     * that the interrupt it took was a signal's (it delivers and waits on) rather than the process's own (it
     * throws). `ended` (under the same monitor) stops posts from
     * interrupting the pooled thread once the program has returned. A stopped process waits on the monitor until
     * CONT or KILL is pending.
     */
    private static final Logger log = LoggerFactory.getLogger(LocalProcess.class);

    /**
     * Unwinds the program's stack on the old node once the process moved to another one (its state went at the
     * safe point that throws this); programs must let it through.
     */
    static final class Moved extends Error {
        Moved() {
            super("the process moved to another node", null, false, false);
        }
    }

    /**
     * Work the process does on its own thread at its next safe point (between two steps of a {@link StepProgram}):
     * a migration, a checkpoint's freeze and capture.
     */
    interface SafepointAction {
        /** Runs on the process's thread; true when the process has left this node (its thread then unwinds). */
        boolean run(LocalProcess p);

        /** The action will not run: the process ended first. */
        void cancel(String why);

        /** True for a move: the process counts as moving from the moment the action is taken. */
        default boolean moves() {
            return false;
        }
    }

    /** Unwinds the program's stack to end the process; programs must let it through. */
    static final class Ended extends Error {
        final ExitStatus status;

        Ended(ExitStatus status) {
            super(status.toString(), null, false, false);
            this.status = status;
        }
    }

    final Epm epm;
    final int pid;
    final int pgid;
    final int sid;
    final String command;
    final long startMillis;
    private volatile Program program;
    private final List<String> args;
    private final Map<String, String> env;
    volatile int ppid;
    volatile int parentNode;                                // -1: an orphan (init reaps it, no exit notice)
    volatile Credentials credentials;
    private volatile Capabilities capabilities;             // written under `this`
    private final int[] capabilityUse = new int[Capability.values().length];   // guarded by this
    final Children children = new Children();

    private final Object signals = new Object();
    private int pending;                                    // guarded by signals: bits by Signal ordinal
    private boolean ended;                                  // guarded by signals
    private volatile boolean interruptRequested;            // an interrupt of the process, not a signal's
    private boolean signalInterrupt;                        // guarded by signals: a signal interrupted the thread
    private volatile boolean inRuntimeWait;
    private final Map<Signal, SignalHandler> handlers = new ConcurrentHashMap<>();
    private final Set<Signal> ignored = ConcurrentHashMap.newKeySet();
    volatile boolean stopped;
    volatile boolean killPending;

    private volatile Thread thread;
    private long cpuStart;
    private long allocStart;
    private volatile long cpuEnd = -1;
    private volatile long allocEnd;
    private volatile Object result;
    private CompletableFuture<Void> tableOps = CompletableFuture.completedFuture(null);   // guarded by this
    private PrintStream out;                                // guarded by this
    private SafepointAction action;                         // guarded by signals
    private boolean left;                                   // guarded by signals: moved to another node
    private volatile boolean betweenSteps;                  // a StepProgram is between two steps
    private long runningSince;                              // process thread only: nanoTime it last got the CPU
    private long restUntil;                                 // process thread only: see nextStepAfter
    private boolean restAsked;                              // process thread only: nextStepAfter called in this step
    private volatile boolean resting;                       // between steps, parked until restUntil (see rest)
    private long cpuCarried;                                // CPU and allocation before the last move or restart
    private long allocCarried;
    private int moves;                                      // moves and restarts so far
    private List<org.kerrighed.ipc.Ipc.HeldLock> resumeLocks = List.of();   // taken back when the thread starts
    private boolean resumeStopped;
    volatile boolean forked;                                // a copy made by a distant fork (set before it starts)
    private volatile boolean moving;                        // a migration of it is under way (ps shows M)
    private boolean killAfterMove;                          // guarded by signals: see killHereOnly
    // Group signals that came while it moved (sent on, or taken here if it stays), and the ids of the group signals
    // it took lately (one sent on from a node it left is not taken twice); both guarded by signals.
    private final List<GroupSignal> heldGroupSignals = new java.util.ArrayList<>();
    private final java.util.LinkedHashSet<Long> groupSignalsTaken = new java.util.LinkedHashSet<>();
    private static final int GROUP_SIGNALS_REMEMBERED = 64;

    /** Signal {@code signal}, part of group signal {@code id}. */
    record GroupSignal(Signal signal, long id) {
    }
    volatile int ghostHint;                                 // the size of its last ghost, to size the next one

    LocalProcess(Epm epm, EpmWire.Entry entry, Program program, EpmWire.Spawn spawn, int parentNode) {
        this.epm = epm;
        this.pid = entry.pid();
        this.pgid = entry.pgid();
        this.sid = entry.sid();
        this.ppid = entry.ppid();
        this.command = entry.command();
        this.startMillis = entry.startMillis();
        this.program = program;
        this.args = List.copyOf(spawn.args());
        this.env = Map.copyOf(spawn.env());
        this.parentNode = parentNode;
        this.credentials = spawn.credentials();
        this.capabilities = spawn.capabilities();
    }

    /** A process rebuilt from a ghost's identity (its state follows with {@link #restore}). */
    LocalProcess(Epm epm, ProcessImage.Identity id) {
        this.epm = epm;
        this.pid = id.pid();
        this.pgid = id.pgid();
        this.sid = id.sid();
        this.ppid = id.ppid();
        this.command = id.command();
        this.startMillis = id.startMillis();
        this.program = null;
        this.args = List.copyOf(id.args());
        this.env = Map.copyOf(id.env());
        this.parentNode = id.parentNode();
        this.credentials = id.credentials();
        this.capabilities = id.capabilities();
    }

    Program program() {
        return program;
    }

    /** How many times the process moved or restarted (a ghost's count plus one, once rebuilt). */
    int moves() {
        return moves;
    }

    ProcessImage.Identity identity() {
        return new ProcessImage.Identity(pid, ppid, parentNode, pgid, sid, command, args, env, credentials, capabilities,
                startMillis);
    }

    /**
     * The process's state as a ghost carries it (on its own thread, at a safe point), with the locks it handed
     * over. Zombies among its children go with it.
     */
    ProcessImage.State capture(List<org.kerrighed.ipc.Ipc.HeldLock> locks) {
        int sigs;
        List<Long> groups;
        synchronized (signals) {
            sigs = pending;
            groups = List.copyOf(groupSignalsTaken);
        }
        List<ProcessImage.ChildImage> kids = new java.util.ArrayList<>();
        for (Child c : children.all()) {
            ChildExit e = c.exit().getNow(null);
            kids.add(new ProcessImage.ChildImage(c.pid, c.node, c.moves, e == null ? null : e.status(),
                    e == null ? null : e.result(), c.last));
        }
        Thread t = Thread.currentThread();
        return new ProcessImage.State(program, result, sigs, List.copyOf(ignored), Map.copyOf(handlers),
                cpuCarried + Epm.cpuNanos(t) - cpuStart, allocCarried + Epm.allocatedBytes(t) - allocStart, kids, locks,
                moves, stopped, groups);
    }

    /**
     * The state a distant fork copies (on the process's thread): the program as it is now, with no children,
     * no held locks, no pending signal and no CPU time.
     */
    ProcessImage.State forkState() {
        return new ProcessImage.State(program, null, 0, List.copyOf(ignored), Map.copyOf(handlers), 0, 0, List.of(),
                List.of(), -1, false, List.of());
    }

    /** Puts a ghost's state into this rebuilt process (before its thread starts). */
    void restore(ProcessImage.State st) {
        program = st.program();
        result = st.result();
        synchronized (signals) {
            pending = st.pending();
        }
        ignored.addAll(st.ignored());
        handlers.putAll(st.handlers());
        cpuCarried = st.cpuNanos();
        allocCarried = st.allocatedBytes();
        moves = st.moves() + 1;
        resumeLocks = List.copyOf(st.locks());
        resumeStopped = st.stopped();
        synchronized (signals) {
            groupSignalsTaken.addAll(st.groupSignals());
        }
        restoreChildren(st.children());
        killPending = (pending & bit(Signal.KILL)) != 0;
    }

    /**
     * Lists a ghost's children in this rebuilt process, those not listed yet: the ghost reader lists them before it
     * reads the program (so that its handles on them bind to these records), then {@link #restore} again.
     */
    void restoreChildren(List<ProcessImage.ChildImage> images) {
        for (ProcessImage.ChildImage ci : images) {
            if (children.get(ci.pid()) != null) {
                continue;
            }
            Child c = children.add(ci.pid(), ci.node());
            c.moves = ci.moves();
            if (ci.status() != null) {
                c.exited(ci.status(), ci.result(), ci.last());
            }
        }
    }

    /** Runs the program on the calling (pooled, platform) thread, then hands the end to the node. */
    void runOnThread() {
        Thread t = Thread.currentThread();
        String poolName = t.getName();
        ClassLoader poolLoader = t.getContextClassLoader();
        t.setName("krg-proc-" + pid);
        t.setContextClassLoader(epm.applications().contextLoader(program));
        thread = t;
        cpuStart = Epm.cpuNanos(t);
        allocStart = Epm.allocatedBytes(t);
        Epm.CURRENT.set(this);
        ExitStatus status = null;
        try {
            resume();
            deliverPending();
            int code = runProgram();
            status = killPending ? ExitStatus.killed(Signal.KILL, "") : ExitStatus.exited(code);
        } catch (Moved e) {
            // the process runs on another node now
        } catch (Ended e) {
            status = e.status;
        } catch (Throwable e) {
            if (hasLeft()) {
                log.debug("node {}: process {} moved; its old stack unwound with {}", epm.nodeId(), pid, e.toString());
            } else if (killPending) {
                status = ExitStatus.killed(Signal.KILL, "");
            } else {
                log.warn("node {}: process {} ({}) failed", epm.nodeId(), pid, command, e);
                status = ExitStatus.exited(1, "uncaught " + e);
            }
        } finally {
            synchronized (signals) {
                ended = true;                              // no more interrupts aimed at this (pooled) thread
            }
            cpuEnd = cpuCarried + Epm.cpuNanos(t) - cpuStart;
            allocEnd = allocCarried + Epm.allocatedBytes(t) - allocStart;
            Epm.CURRENT.remove();
            Thread.interrupted();
            flushOut();
            t.setName(poolName);
            t.setContextClassLoader(poolLoader);
        }
        if (hasLeft()) {
            cancelAction("process " + pid + " moved to another node");
        } else {
            cancelAction("process " + pid + " ended");
            epm.reaper().exited(this, status);
        }
    }

    /** After a move or a restart: takes the handed-over locks back, and stops again if it was stopped. */
    private void resume() {
        if (!resumeLocks.isEmpty()) {
            takeLocksBack(resumeLocks, "on node " + epm.nodeId());
            resumeLocks = List.of();
        }
        if (resumeStopped) {
            resumeStopped = false;
            stopHere();
        }
    }

    /**
     * On the process's thread: takes back the cluster locks it handed over for a move ({@code where}: after a move
     * that failed, on the node it moved to), within a call timeout. An interrupt meanwhile (a STOP or KILL posted)
     * does not stop it: it is kept for later. A process that cannot take them back must not run without them: it
     * is killed ({@link Ended}, reason given).
     */
    void takeLocksBack(List<org.kerrighed.ipc.Ipc.HeldLock> locks, String where) {
        if (locks.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + epm.callTimeout().toNanos();
        boolean interrupted = false;
        RuntimeException failed = null;
        try {
            while (true) {
                try {
                    epm.ipc().takeOverLocks(locks, pid, interrupted ? java.time.Duration.ofMillis(Math.max(0,
                            (deadline - System.nanoTime()) / 1_000_000)) : epm.callTimeout());
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;                    // what it took is reserved again: try on
                } catch (RuntimeException e) {
                    failed = e;
                    break;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        String reason = "its cluster locks " + locks.stream().map(org.kerrighed.ipc.Ipc.HeldLock::name).toList()
                + " could not be taken back " + where + ": " + failed.getMessage();
        log.warn("node {}: process {} killed: {}", epm.nodeId(), pid, reason);
        throw new Ended(ExitStatus.killed(Signal.KILL, reason));
    }

    /**
     * How long a process computes before a safe point lets the node's other threads run (see {@link #giveWay}).
     * Each time costs a system call; a thread woken behind a computing process waits for about this long at most.
     */
    static final long GIVE_WAY_NANOS = 100_000;

    /** Runs the program: a {@link StepProgram} step by step, with safe points (and moves) between steps. */
    private int runProgram() throws Exception {
        runningSince = System.nanoTime();
        if (!(program instanceof StepProgram sp)) {
            return program.run(this);
        }
        while (true) {
            betweenSteps = false;
            restAsked = false;
            boolean done = sp.step(this);
            betweenSteps = true;
            if (done) {
                return sp.exitCode();
            }
            if (restAsked) {
                rest();
            }
            giveWay();                                      // first: a move or a signal asked meanwhile is taken here
            deliverPending();
        }
    }

    /**
     * Between two steps, until {@link #restUntil} ({@link #nextStepAfter}): a move, a checkpoint or a signal asked
     * meanwhile is taken at once ({@link #request} and {@link #post} unpark the thread). An interrupt of the process
     * ({@link ClusterThread#interrupt}, during the rest or the step before it) ends the wait and is spent, as an
     * interrupted {@link #sleep} spends it by throwing. A thread of the program that interrupts this one ends the
     * wait too, and the flag stays set for the next step (a rest with the flag set ends at once, as
     * {@link Thread#sleep} would throw at once).
     */
    private void rest() {
        while (true) {
            deliverPending();
            synchronized (signals) {
                if (pending != 0 || action != null) {
                    continue;                               // came meanwhile: taken on the next turn
                }
                if (interruptRequested) {
                    interruptRequested = false;
                    signalInterrupt = false;
                    Thread.interrupted();
                    return;
                }
                if (Thread.currentThread().isInterrupted()) {
                    if (!signalInterrupt) {
                        return;                             // the program's own: its next step sees the flag
                    }
                    signalInterrupt = false;                // a signal's, taken above
                    Thread.interrupted();
                }
                resting = true;
            }
            try {
                long left = restUntil - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(left);
            } finally {
                resting = false;
            }
            runningSince = System.nanoTime();               // what woke it is taken on the next turn
        }
    }

    /**
     * At a safe point of a process that has run for {@link #GIVE_WAY_NANOS} since it last waited in the runtime or
     * gave way: yields the CPU for a moment, before taking what is pending (the thread that ran meanwhile may have
     * asked for a move or sent a signal). A thread the kernel wakes on the CPU a computing process holds (the node's
     * I/O threads, the thread a move or a call waits on) could otherwise wait for the process's whole time slice, a
     * few milliseconds: on a node whose processes compute, each hand-off of a message or a move paid that. Moving a
     * process whose steps never block took 1.2 to 4 ms for 1 KiB of state without this, 0.6 to 1.4 ms with it (two
     * nodes on a 2-core machine).
     */
    private void giveWay() {
        long now = System.nanoTime();
        if (now - runningSince >= GIVE_WAY_NANOS) {
            Thread.yield();
            runningSince = System.nanoTime();
        }
    }

    /** True when run() was entered again after a move or a restart (main-shaped programs resume from fields). */
    @Override
    public boolean resumed() {
        return moves > 0;
    }

    @Override
    public boolean forked() {
        return forked;
    }

    @Override
    public ClusterProcess fork(SpawnOptions options) {
        safepoint();
        return epm.fork(this, options);
    }

    // ------------------------------------------------------------------ safe-point actions

    /**
     * Asks the process to run {@code a} at its next safe point.
     *
     * @throws IllegalStateException when another action is pending, or the process ended or left
     */
    void request(SafepointAction a) {
        synchronized (signals) {
            if (ended || left) {
                throw new IllegalStateException("process " + pid + " is no longer running on node " + epm.nodeId());
            }
            if (action != null) {
                throw new IllegalStateException("process " + pid + " is already being moved or checkpointed");
            }
            action = a;
            signals.notifyAll();                            // a stopped process runs it where it waits
            Thread th = thread;
            if (th != null && inRuntimeWait && !(program instanceof StepProgram)) {
                signalInterrupt = true;
                th.interrupt();
            } else if (th != null && resting) {
                java.util.concurrent.locks.LockSupport.unpark(th);     // between steps: runs it at once
            }
        }
    }

    /** Withdraws {@code a} if it has not started; true if it was withdrawn. */
    boolean withdraw(SafepointAction a) {
        synchronized (signals) {
            if (action == a) {
                action = null;
                return true;
            }
            return false;
        }
    }

    private void cancelAction(String why) {
        SafepointAction a;
        synchronized (signals) {
            a = action;
            action = null;
        }
        if (a != null) {
            a.cancel(why);
        }
    }

    /** True where an action may run: anywhere in a main-shaped program, between steps in a step program. */
    private boolean atMovePoint() {
        return !(program instanceof StepProgram) || betweenSteps;
    }

    /** Runs a pending action here (on the process's thread, at a safe point). */
    private void runAction() {
        SafepointAction a;
        synchronized (signals) {
            if (action == null || !atMovePoint() || (pending & bit(Signal.KILL)) != 0) {
                return;                                    // a KILL is taken first: the process ends here
            }
            a = action;
            action = null;
            if (a.moves()) {
                moving = true;                             // atomic with the KILL check (killHereOnly)
            }
        }
        if (a.run(this)) {
            throw new Moved();
        }
    }

    /**
     * Marks the process as gone to another node: later signals are refused here ({@link #post} returns false, and
     * the node forwards them). Returns the signals posted since {@code captured} was taken, which the ghost lacks.
     */
    int leave(int captured) {
        synchronized (signals) {
            left = true;
            return pending & ~captured;
        }
    }

    private boolean hasLeft() {
        synchronized (signals) {
            return left;
        }
    }

    // ------------------------------------------------------------------ signals

    private static int bit(Signal s) {
        return 1 << s.ordinal();
    }

    /**
     * Posts {@code s} (any thread); the process takes it at its next safe point. False when the process has left
     * this node (the caller forwards the signal); true otherwise, even when the process ended.
     */
    /** What {@link #postGroup} did with a group signal. */
    enum GroupPost {
        /** Posted, or held while the process moves. */
        TAKEN,
        /** Taken before: the same group signal reached it on two nodes as it moved. */
        TAKEN_BEFORE,
        /** The process has left this node: the caller sends it on, with its id. */
        LEFT
    }

    /**
     * Posts {@code s}, part of group signal {@code id} (any thread): taken once per id; held while the process
     * moves ({@link #stopMoving}, {@link #takeHeldGroupSignals}).
     */
    GroupPost postGroup(Signal s, long id) {
        synchronized (signals) {
            if (left) {
                return GroupPost.LEFT;
            }
            if (!groupSignalsTaken.add(id)) {
                return GroupPost.TAKEN_BEFORE;
            }
            if (groupSignalsTaken.size() > GROUP_SIGNALS_REMEMBERED) {
                groupSignalsTaken.remove(groupSignalsTaken.iterator().next());
            }
            if (moving) {
                heldGroupSignals.add(new GroupSignal(s, id));
                return GroupPost.TAKEN;
            }
            return post(s) ? GroupPost.TAKEN : GroupPost.LEFT;
        }
    }

    /**
     * A closing node's KILL, which must not follow the process to a new node: posted now, or, when a move of the
     * process is under way, once the move ends with the process still here ({@link #stopMoving}); a process that
     * left is not sent it.
     */
    void killHereOnly() {
        synchronized (signals) {
            if (moving) {
                killAfterMove = true;
            } else {
                post(Signal.KILL);
            }
        }
    }

    /** A move of the process starts (on its thread): group signals are held until it ends. */
    void startMoving() {
        synchronized (signals) {
            moving = true;
        }
    }

    /**
     * A move ended (on its thread): the group signals held meanwhile, if it stayed, are posted now, and a closing
     * node's KILL held back for the move ({@link #killHereOnly}).
     */
    void stopMoving() {
        List<GroupSignal> held;
        synchronized (signals) {
            moving = false;
            held = left ? List.of() : takeHeldGroupSignals();    // left: the move sends them on
            if (!left && killAfterMove) {
                post(Signal.KILL);
            }
        }
        for (GroupSignal g : held) {
            post(g.signal());
        }
    }

    /** The group signals held while the process moved, to send on once it has left ({@link #leave}). */
    List<GroupSignal> takeHeldGroupSignals() {
        synchronized (signals) {
            List<GroupSignal> held = List.copyOf(heldGroupSignals);
            heldGroupSignals.clear();
            return held;
        }
    }

    boolean post(Signal s) {
        synchronized (signals) {
            if (left) {
                return false;
            }
            if (ended) {
                return true;
            }
            if (s == Signal.CONT) {
                pending &= ~bit(Signal.STOP);
            } else if (s == Signal.STOP) {
                pending &= ~bit(Signal.CONT);
            }
            if (s != Signal.CONT && s.catchable() && (ignored.contains(s)
                    || s.defaultAction() == Signal.Action.IGNORE && !handlers.containsKey(s))) {
                return true;                               // discarded when generated, as POSIX does
            }
            pending |= bit(s);
            if (s == Signal.KILL) {
                killPending = true;
            }
            signals.notifyAll();                          // a stopped process waits on this monitor
            Thread th = thread;
            if (th != null && (s == Signal.KILL || s == Signal.STOP || inRuntimeWait)) {
                signalInterrupt = true;
                th.interrupt();
            } else if (th != null && resting) {
                java.util.concurrent.locks.LockSupport.unpark(th);     // between steps: taken at once
            }
            return true;
        }
    }

    /** Interrupts the process's thread (for {@link ClusterThread#interrupt}): not a signal. */
    void interrupt() {
        synchronized (signals) {
            if (ended) {
                return;
            }
            interruptRequested = true;
            Thread th = thread;
            if (th != null) {
                th.interrupt();
            }
        }
    }

    private boolean hasPending() {
        synchronized (signals) {
            return pending != 0;
        }
    }

    private Signal takeNext() {
        synchronized (signals) {
            if (pending == 0) {
                return null;
            }
            Signal s = (pending & bit(Signal.KILL)) != 0 ? Signal.KILL
                    : (pending & bit(Signal.STOP)) != 0 ? Signal.STOP
                    : Signal.values()[Integer.numberOfTrailingZeros(pending)];
            pending &= ~bit(s);
            return s;
        }
    }

    private void deliverPending() {
        for (Signal s = takeNext(); s != null; s = takeNext()) {
            deliver(s);
        }
        runAction();
    }

    private void deliver(Signal s) {
        if (s == Signal.KILL) {
            throw new Ended(ExitStatus.killed(Signal.KILL, ""));
        }
        if (s == Signal.STOP) {
            stopHere();
            return;
        }
        SignalHandler h = handlers.get(s);
        if (h != null) {
            try {
                h.handle(s);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException("handler of " + s + " failed", e);
            }
        } else if (!ignored.contains(s) && s.defaultAction() == Signal.Action.TERMINATE) {
            throw new Ended(ExitStatus.killed(s, ""));
        }
    }

    private void stopHere() {
        stopped = true;
        epm.table().update(this, e -> e.withState(ProcessState.STOPPED));
        while (true) {
            synchronized (signals) {
                while ((pending & (bit(Signal.CONT) | bit(Signal.KILL))) == 0 && (action == null || !atMovePoint())) {
                    try {
                        signals.wait();
                    } catch (InterruptedException e) {
                        // STOP's own interrupt, or a stray one: a stopped process waits for CONT or KILL only
                    }
                }
                if ((pending & (bit(Signal.CONT) | bit(Signal.KILL))) != 0) {
                    break;
                }
            }
            runAction();                                   // moved or checkpointed while stopped
        }
        synchronized (signals) {
            signalInterrupt = false;                       // STOP's interrupt is spent
            Thread.interrupted();
        }
        stopped = false;
        epm.table().update(this, e -> e.withState(ProcessState.RUNNING));
    }

    /** One step of a wait inside the runtime; true when the wait is over. */
    private interface Blocker {
        boolean block() throws InterruptedException;
    }

    /** Waits with {@code b}, delivering signals meanwhile; throws only for an interrupt of the process itself. */
    private void runtimeWait(Blocker b) throws InterruptedException {
        while (true) {
            deliverPending();
            inRuntimeWait = true;
            try {
                if (hasPending()) {
                    continue;
                }
                if (interruptRequested) {
                    throw new InterruptedException();
                }
                boolean done = b.block();
                runningSince = System.nanoTime();          // it waited: it gave the CPU up (or had little to wait)
                if (done) {
                    return;
                }
            } catch (InterruptedException e) {
                if (interruptRequested) {
                    interruptRequested = false;
                    Thread.interrupted();
                    throw e;
                }
                if (!spendSignalInterrupt()) {
                    throw e;                                   // a thread of the program interrupted this one
                }
            } finally {
                inRuntimeWait = false;
            }
        }
    }

    /** True when a signal caused the interrupt just taken (then it is spent). */
    private boolean spendSignalInterrupt() {
        synchronized (signals) {
            boolean was = signalInterrupt;
            signalInterrupt = false;
            return was;
        }
    }

    private void checkThread() {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("process " + pid + "'s context used from another thread ("
                    + Thread.currentThread().getName() + ")");
        }
    }

    // ------------------------------------------------------------------ ProcessContext

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public int ppid() {
        return ppid;
    }

    @Override
    public int pgid() {
        return pgid;
    }

    @Override
    public int sid() {
        return sid;
    }

    @Override
    public int node() {
        return epm.nodeId();
    }

    @Override
    public List<String> args() {
        return args;
    }

    @Override
    public Map<String, String> env() {
        return env;
    }

    @Override
    public Credentials credentials() {
        return credentials;
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    @Override
    public void safepoint() {
        checkThread();
        giveWay();
        deliverPending();
    }

    @Override
    public void sleep(Duration d) throws InterruptedException {
        checkThread();
        long end = System.nanoTime() + d.toNanos();
        runtimeWait(() -> {
            long left = end - System.nanoTime();
            if (left > 0) {
                TimeUnit.NANOSECONDS.sleep(left);
            }
            return true;
        });
    }

    @Override
    public void nextStepAfter(Duration d) {
        checkThread();
        Checks.notNull(d, "d");
        if (d.isNegative()) {
            throw new IllegalArgumentException("a negative wait: " + d);
        }
        if (!(program instanceof StepProgram)) {
            throw new IllegalStateException("process " + pid + " is not a step program: it has no next step (sleep"
                    + " with ctx.sleep)");
        }
        long max = TimeUnit.DAYS.toNanos(365L * 100);           // saturated: a century is forever here
        restUntil = System.nanoTime() + (d.compareTo(Duration.ofNanos(max)) > 0 ? max : d.toNanos());
        restAsked = true;
    }

    @Override
    public ClusterProcess spawn(Program p, SpawnOptions options) {
        safepoint();
        return epm.spawn(p, options);
    }

    @Override
    public ExitStatus waitFor(int childPid) throws InterruptedException {
        safepoint();
        Child c = children.get(childPid);
        if (c == null) {
            throw new NoSuchProcessException("process " + childPid + " is not a child of process " + pid
                    + " (or was already waited for)");
        }
        runtimeWait(() -> {
            c.await();
            return true;
        });
        c.reap();
        return c.exit().join().status();
    }

    @Override
    public ChildExit waitAny() throws InterruptedException {
        safepoint();
        Child[] found = new Child[1];
        runtimeWait(() -> {
            found[0] = children.anyExited();
            if (found[0] != null || children.isEmpty()) {
                return true;
            }
            children.awaitChange(1000);
            return false;
        });
        if (found[0] == null) {
            throw new NoSuchProcessException("process " + pid + " has no child to wait for");
        }
        found[0].reap();
        return found[0].exit().join();
    }

    @Override
    public void kill(int target, Signal signal) {
        safepoint();
        epm.kill(target, signal);
        deliverPending();                                  // a signal to itself takes effect before returning
    }

    @Override
    public void killGroup(int group, Signal signal) {
        safepoint();
        epm.killGroup(group, signal);
        deliverPending();
    }

    @Override
    public void handle(Signal signal, SignalHandler handler) {
        checkCatchable(signal);
        ignored.remove(signal);
        handlers.put(signal, org.kerrighed.rpc.Checks.notNull(handler, "handler"));
        safepoint();
    }

    @Override
    public void ignore(Signal signal) {
        checkCatchable(signal);
        handlers.remove(signal);
        ignored.add(signal);
        safepoint();
    }

    @Override
    public void resetSignal(Signal signal) {
        handlers.remove(signal);
        ignored.remove(signal);
        safepoint();
    }

    private static void checkCatchable(Signal signal) {
        if (!signal.catchable()) {
            throw new IllegalArgumentException(signal + " cannot be caught or ignored");
        }
    }

    @Override
    public void exit(int code) {
        checkThread();
        throw new Ended(ExitStatus.exited(code));
    }

    @Override
    public void setResult(Object r) {
        checkThread();
        epm.checkResultType(r);
        result = r;
    }

    Object result() {
        return result;
    }

    @Override
    public Capabilities setCapabilities(Capabilities requested) {
        safepoint();
        return epm.setCapabilities(pid, requested);
    }

    /** Applies a capability change on this node, refusing to drop one in use. */
    synchronized Capabilities changeCapabilities(Capabilities requested) {
        Capabilities next = capabilities.change(requested);
        int dropped = capabilities.effective() & ~next.effective();
        for (Capability c : Capabilities.set(dropped)) {
            if (capabilityUse[c.ordinal()] > 0) {
                throw new CapabilityInUseException("process " + pid + " is using " + c + " (" + capabilityUse[c.ordinal()]
                        + " action(s) in progress): it cannot be dropped now");
            }
        }
        capabilities = next;
        return next;
    }

    @Override
    public synchronized AutoCloseable useCapability(Capability c) {
        if (!capabilities.has(c)) {
            throw new CapabilityException("process " + pid + " does not have " + c + " effective ("
                    + Capabilities.names(capabilities.effective()) + ")");
        }
        capabilityUse[c.ordinal()]++;
        boolean[] closed = new boolean[1];
        return () -> {
            synchronized (LocalProcess.this) {
                if (!closed[0]) {
                    closed[0] = true;
                    capabilityUse[c.ordinal()]--;
                }
            }
        };
    }

    @Override
    public void setCredentials(Credentials c) {
        safepoint();
        if (!credentials.isRoot()) {
            throw new PermissionDeniedException("process " + pid + " (" + credentials + ") may not change its"
                    + " credentials: only root may");
        }
        credentials = org.kerrighed.rpc.Checks.notNull(c, "credentials");
        epm.table().update(this, e -> e.withCredentials(c.uid(), c.gid()));
    }

    @Override
    public synchronized PrintStream out() {
        if (out == null) {
            // No auto-flush: PrintStream would flush after every piece of a printf, and each flush emits a line.
            out = new PrintStream(new LinePrefixStream("[" + pid + "] ", System.out), false, StandardCharsets.UTF_8);
        }
        return out;
    }

    /** Emits the last line the program printed without ending it. */
    private synchronized void flushOut() {
        if (out != null) {
            out.flush();
        }
    }

    @Override
    public Epm epm() {
        return epm;
    }

    @Override
    public Ipc ipc() {
        return epm.ipc();
    }

    @Override
    public SharedMemory shm() {
        return epm.shm();
    }

    // ------------------------------------------------------------------ for the node

    /** Runs {@code op} after this process's earlier table operations (they must apply in order). */
    synchronized void chainTableOp(Runnable op) {
        tableOps = tableOps.thenRunAsync(op, epm.table().writes());
    }

    /**
     * Holds this process's later table operations until {@code gate} completes; if it fails, they never run (a
     * process that moved here but could not be started).
     */
    synchronized void gateTableOps(CompletableFuture<Void> gate) {
        tableOps = tableOps.thenCompose(v -> gate);
    }

    ProcessState state() {
        if (moving) {
            return ProcessState.MIGRATING;
        }
        if (stopped) {
            return ProcessState.STOPPED;
        }
        Thread t = thread;
        return t == null || t.getState() == Thread.State.RUNNABLE ? ProcessState.RUNNING : ProcessState.SLEEPING;
    }

    ProcessInfo info(ProcessState state, ExitStatus exit) {
        Thread t = thread;
        long cpu = cpuEnd >= 0 ? cpuEnd : cpuCarried + (t == null ? 0 : Epm.cpuNanos(t) - cpuStart);
        long alloc = cpuEnd >= 0 ? allocEnd : allocCarried + (t == null ? 0 : Epm.allocatedBytes(t) - allocStart);
        Credentials c = credentials;
        return new ProcessInfo(pid, ppid, pgid, sid, epm.nodeId(), c.uid(), c.gid(), state, Math.max(0, cpu),
                Math.max(0, alloc), startMillis, command, capabilities, killPending && exit == null, exit);
    }

    @Override
    public String toString() {
        return "process " + pid + " (" + command + ")";
    }
}
