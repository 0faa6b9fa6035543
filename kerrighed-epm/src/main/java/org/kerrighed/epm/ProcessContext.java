package org.kerrighed.epm;

import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.mm.SharedMemory;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What a running program sees of its process and of the cluster. Given to {@link Program#run}; use it only on the
 * process's thread (the runtime's checks and signal delivery rely on it). Every method that acts (all but the
 * getters of the process's identity, arguments, credentials and capabilities) is a safe point: pending signals are
 * delivered first (handlers run, a default action may end the process, STOP parks it until CONT).
 *
 * <p>Blocking methods ({@link #sleep}, {@link #waitFor}, {@link #waitAny}) deliver signals that arrive while they
 * wait, then go on waiting; a signal whose action ends the process ends it from there. They throw
 * {@link InterruptedException} only for an interrupt of the process itself ({@link ClusterThread#interrupt}, or a
 * thread of the program interrupting the process's thread), never for a signal.
 */
public interface ProcessContext {
    int pid();

    /** The parent's pid; {@link Pids#INIT} for an orphan or a process started from outside any process. */
    int ppid();

    int pgid();

    int sid();

    /** The node the process runs on. */
    int node();

    List<String> args();

    Map<String, String> env();

    Credentials credentials();

    Capabilities capabilities();

    /**
     * Delivers pending signals, and lets the process be moved or checkpointed here. Call it in loops that call
     * nothing else in the runtime. In a {@link StepProgram} the process moves only between steps. A process that
     * has computed for 100 us without blocking also yields the CPU here for a moment (as it does between steps), so
     * that the node's own threads, which carry its messages and moves, do not wait behind it for a time slice.
     */
    void safepoint();

    /**
     * True when the program was entered again from its saved state: after a move of a main-shaped program
     * ({@link Program#run} starts over on the new node with the program object's fields as they were at the safe
     * point), or after a restart from a checkpoint.
     */
    boolean resumed();

    /**
     * Starts a copy of this process (Kerrighed's distant fork): a child whose program is a copy of this program
     * object as it is now, made through the same ghost as a migration, so its handles are re-bound on the child's
     * node (segments attached again, pipe ends opened again; locks are not held by the copy). The child runs on the
     * node the options name, else where the placement hook puts it: {@code run()} from the start, or for a
     * {@link StepProgram} its next step, with {@link #forked()} true. It keeps this process's arguments,
     * environment, credentials, group and session, has the capabilities a child inherits, and no children. Other
     * options are ignored.
     *
     * @throws CapabilityException when the options name another node and {@code DISTANT_FORK} is not effective
     * @throws MigrationException  when the program's state cannot travel
     */
    ClusterProcess fork(SpawnOptions options);

    /** True in a process made by {@link #fork}. */
    boolean forked();

    /** Sleeps for {@code d}, delivering signals that arrive meanwhile. */
    void sleep(Duration d) throws InterruptedException;

    /**
     * In a {@link StepProgram}: runs the next step no sooner than {@code d} from now (the last call in a step counts).
     * The wait is between the two steps, a safe point: the process takes signals, moves and is checkpointed during it
     * at once, where a {@link #sleep} at the end of the step would make a move wait it out. After a move the next
     * step runs at once, without the rest of the wait; an interrupt of the process ({@link ClusterThread#interrupt})
     * ends the wait too, and is spent by it. Returns at once: the step goes on and ends as usual. A wait of more than
     * a century is taken as a century.
     *
     * @throws IllegalStateException    in a main-shaped program (it has no steps: it sleeps with {@link #sleep})
     * @throws IllegalArgumentException for a negative {@code d}
     */
    void nextStepAfter(Duration d);

    /**
     * Starts a child process (see {@link SpawnOptions} for what it inherits).
     *
     * @throws CapabilityException when the options name another node and {@code DISTANT_FORK} is not effective
     */
    ClusterProcess spawn(Program program, SpawnOptions options);

    /**
     * Waits for child {@code pid} to exit, wherever it runs, and reaps it.
     *
     * @throws NoSuchProcessException when {@code pid} is not a child of this process (or was reaped already)
     */
    ExitStatus waitFor(int pid) throws InterruptedException;

    /**
     * Waits for any child to exit and reaps it.
     *
     * @throws NoSuchProcessException when the process has no child left (Unix {@code ECHILD})
     */
    ChildExit waitAny() throws InterruptedException;

    /**
     * Sends {@code signal} to {@code pid}, wherever it runs.
     *
     * @throws NoSuchProcessException when no such process lives
     * @throws org.kerrighed.kddm.access.PermissionDeniedException when this process's credentials do not allow it
     */
    void kill(int pid, Signal signal);

    /** Sends {@code signal} to every member of process group {@code pgid}, on every node. */
    void killGroup(int pgid, Signal signal);

    /**
     * Installs {@code handler} for {@code signal}: it then runs instead of the default action.
     *
     * @throws IllegalArgumentException for KILL and STOP
     */
    void handle(Signal signal, SignalHandler handler);

    /** Ignores {@code signal} (CONT still continues a stopped process). KILL and STOP cannot be ignored. */
    void ignore(Signal signal);

    /** Restores {@code signal}'s default action. */
    void resetSignal(Signal signal);

    /** Ends the process with {@code code} (does not return). */
    void exit(int code);

    /**
     * Sets the value the process's parent receives with its exit status (a registered type, a JDK value type, or a
     * class of an application JAR; null for none). Executor tasks return their result this way.
     */
    void setResult(Object result);

    /**
     * Changes this process's capabilities (Kerrighed's rules, see {@link Capabilities#change}).
     *
     * @throws CapabilityException without {@code CHANGE_KERRIGHED_CAP} effective
     * @throws CapabilityInUseException when an effective capability being dropped is in use
     */
    Capabilities setCapabilities(Capabilities requested);

    /**
     * Marks {@code capability} in use until the returned handle is closed: meanwhile it cannot be dropped from the
     * effective set. The runtime does this itself around its own actions (a distant fork holds
     * {@code DISTANT_FORK}).
     *
     * @throws CapabilityException when it is not effective
     */
    AutoCloseable useCapability(Capability capability);

    /**
     * Changes the credentials of this process (and so of its future children).
     *
     * @throws org.kerrighed.kddm.access.PermissionDeniedException unless the process is root
     */
    void setCredentials(Credentials credentials);

    /** A stream whose lines go to this node's standard output, prefixed with the pid. */
    PrintStream out();

    /** This node's process layer: ps, node loads, spawning from outside a process. */
    Epm epm();

    /** Cluster IPC on this node (locks, queues, pipes...); they see this process as their caller. */
    Ipc ipc();

    /** Cluster shared memory on this node (attaching a segment needs {@code USE_REMOTE_MEMORY}). */
    SharedMemory shm();

    /** A child that exited: its pid, how it ended and the value it set with {@link #setResult}. */
    record ChildExit(int pid, ExitStatus status, Object result) {
    }
}
