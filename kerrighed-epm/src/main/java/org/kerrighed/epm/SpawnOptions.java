package org.kerrighed.epm;

import org.kerrighed.kddm.access.Credentials;
import org.kerrighed.rpc.Checks;

import java.util.List;
import java.util.Map;

/**
 * How to start a process: its arguments and environment, where it runs, its process group and session, and (for
 * a process started from outside any process) its credentials and capabilities. Immutable; start from
 * {@link #defaults()}.
 *
 * <p>A child of a process inherits its parent's credentials, group, session and the capabilities its parent's
 * inheritable sets give ({@link Capabilities#forChild}); options change the capabilities as a capset would
 * ({@link Capabilities#change}: within the permitted set the child got, never beyond it),
 * and only a root parent may give its child other credentials.
 *
 * @param node         the node to run on, or {@link #ANY_NODE} to let the placement hook choose
 * @param processGroup {@link #SAME_GROUP}, {@link #NEW_GROUP} (the child leads a new group), or an existing
 *                     group of the same session to join
 * @param sessionLeader the process leads a new session (and a new group)
 * @param capabilities null: derived from the parent (or {@link Capabilities#DEFAULT} from outside a process)
 * @param credentials  null: the parent's (or the node's from outside a process)
 * @param name         the command shown by {@code ps}; null: the program's class name and arguments
 */
public record SpawnOptions(List<String> args, Map<String, String> env, int node, int processGroup, boolean sessionLeader,
                           Capabilities capabilities, Credentials credentials, String name) {
    public static final int ANY_NODE = -1;
    public static final int SAME_GROUP = 0;
    public static final int NEW_GROUP = -1;

    public SpawnOptions {
        args = List.copyOf(Checks.notNull(args, "args"));
        env = Map.copyOf(Checks.notNull(env, "env"));
        if (node < ANY_NODE || node > 255) {
            throw new IllegalArgumentException("node must be 0-255 or ANY_NODE, got " + node);
        }
        if (processGroup < NEW_GROUP) {
            throw new IllegalArgumentException("processGroup must be SAME_GROUP, NEW_GROUP or a pid, got " + processGroup);
        }
        if (capabilities != null) {
            capabilities.validate();
        }
    }

    /** No arguments, empty environment, placed by the hook, same group and session, inherited rights. */
    public static SpawnOptions defaults() {
        return new SpawnOptions(List.of(), Map.of(), ANY_NODE, SAME_GROUP, false, null, null, null);
    }

    public SpawnOptions args(String... a) {
        return new SpawnOptions(List.of(a), env, node, processGroup, sessionLeader, capabilities, credentials, name);
    }

    public SpawnOptions args(List<String> a) {
        return new SpawnOptions(a, env, node, processGroup, sessionLeader, capabilities, credentials, name);
    }

    public SpawnOptions env(Map<String, String> e) {
        return new SpawnOptions(args, e, node, processGroup, sessionLeader, capabilities, credentials, name);
    }

    /** Runs the process on {@code n} (for a child of a process on another node: needs {@code DISTANT_FORK}). */
    public SpawnOptions onNode(int n) {
        return new SpawnOptions(args, env, n, processGroup, sessionLeader, capabilities, credentials, name);
    }

    /** The process leads a new process group. */
    public SpawnOptions newProcessGroup() {
        return new SpawnOptions(args, env, node, NEW_GROUP, sessionLeader, capabilities, credentials, name);
    }

    /** The process joins group {@code pgid} (of its session). */
    public SpawnOptions processGroup(int pgid) {
        return new SpawnOptions(args, env, node, pgid, sessionLeader, capabilities, credentials, name);
    }

    /** The process leads a new session and a new group (Unix {@code setsid}). */
    public SpawnOptions newSession() {
        return new SpawnOptions(args, env, node, NEW_GROUP, true, capabilities, credentials, name);
    }

    public SpawnOptions capabilities(Capabilities c) {
        return new SpawnOptions(args, env, node, processGroup, sessionLeader, c, credentials, name);
    }

    public SpawnOptions credentials(Credentials c) {
        return new SpawnOptions(args, env, node, processGroup, sessionLeader, capabilities, c, name);
    }

    public SpawnOptions name(String n) {
        return new SpawnOptions(args, env, node, processGroup, sessionLeader, capabilities, credentials, n);
    }
}
