package org.kerrighed.node.cli;

import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.Signal;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import java.util.concurrent.Callable;

/**
 * {@code krg kill}: signals to processes and process groups, with POSIX kill's operands. Picocli keeps the
 * arguments that are not this command's options as operands, in order, {@code -9}, {@code -KILL}, {@code -123} and
 * {@code --} included ({@link #configure}, {@link Operand}); {@link #parse} then reads them.
 */
@Command(name = "kill", mixinStandardHelpOptions = true,
        description = {"Sends a signal (default TERM) to processes, or to process groups given as -PGID, on any"
                + " node.",
                "The signal is -SIG as the first operand, or -s SIG: a name (KILL, SIGKILL, kill) or a number (9). A"
                        + " negative operand after the signal, or after --, is a process group: krg kill -9 -123,"
                        + " krg kill -- -123.",
                "Exit code 1 when a target does not exist or may not be signalled (the others are still"
                        + " signalled)."},
        footer = "Signals: HUP(1) INT(2) KILL(9) USR1(10) USR2(12) TERM(15) CHLD(17) CONT(18) STOP(19)")
final class KillCommand implements Callable<Integer> {
    /** Picocli's end-of-options marker here: one nobody types, so that {@code --} reaches {@link #parse}. */
    private static final String NO_DELIMITER = "\u0000";

    @Mixin
    ToolOptions tool;

    @Option(names = {"-s", "--signal"}, paramLabel = "SIG", description = "the signal to send (name or number)")
    String signal;

    @Option(names = {"-l", "--list"}, description = "list the signals and their numbers")
    boolean list;

    @Parameters(paramLabel = "[-SIG] PID|-PGID", arity = "0..*", preprocessor = Operand.class,
            description = "processes (PID) and groups (-PGID)")
    List<String> operands = new ArrayList<>();

    /**
     * Takes the argument as an operand as it is: picocli would refuse one that starts like an option of this command
     * ({@code -hup} like {@code -h}, {@code -stop} like {@code -s}).
     */
    static final class Operand implements CommandLine.IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandLine.Model.CommandSpec command,
                                  CommandLine.Model.ArgSpec operands, Map<String, Object> info) {
            List<String> values = operands.getValue();
            values.add(args.pop());
            return true;
        }
    }

    /** A process ({@code group} false) or a process group to signal. */
    record Target(int id, boolean group) {
    }

    /** What the operands ask for. */
    record Request(Signal signal, List<Target> targets) {
    }

    /**
     * Makes {@code cl} (this command's) pass {@code -9}, {@code -KILL}, {@code -hup}, {@code -stop}, {@code -123} and
     * {@code --} to the operands instead of reading them as unknown options or clusters of short options ({@code -h}
     * and {@code u} and {@code p}).
     */
    static CommandLine configure(CommandLine cl) {
        return cl.setUnmatchedOptionsArePositionalParams(true)
                .setPosixClusteredShortOptionsAllowed(false)
                .setEndOfOptionsDelimiter(NO_DELIMITER);
    }

    /**
     * Reads the operands as POSIX kill does: without {@code -s}, a first operand that starts with {@code -} is the
     * signal; later ones that start with {@code -} are process groups, as is every operand after {@code --}.
     *
     * @throws IllegalArgumentException naming the bad operand
     */
    static Request parse(String signalOption, List<String> operands) {
        Signal sig = signalOption == null ? Signal.TERM : Signal.parse(signalOption);
        List<Target> targets = new ArrayList<>();
        boolean signalGiven = signalOption != null;
        boolean dashDash = false;
        for (int i = 0; i < operands.size(); i++) {
            String op = operands.get(i);
            if (op.equals("--") && !dashDash) {
                dashDash = true;
            } else if (i == 0 && !signalGiven && op.startsWith("-") && op.length() > 1) {
                try {
                    sig = Signal.parse(op.substring(1));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(e.getMessage() + (op.matches("-[0-9]+")
                            ? "; for process group " + op.substring(1) + " write: krg kill -- " + op : ""));
                }
                signalGiven = true;
            } else {
                targets.add(target(op));
            }
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("which process? give one or more PID or -PGID (after -- for a group"
                    + " when no signal is given)");
        }
        return new Request(sig, targets);
    }

    private static Target target(String op) {
        boolean group = op.startsWith("-");
        String digits = group ? op.substring(1) : op;
        if (!digits.matches("[0-9]{1,10}")) {
            throw new IllegalArgumentException("'" + op + "' is neither a PID nor a -PGID (a process group)");
        }
        long id = Long.parseLong(digits);
        if (id > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + op + "': no pid or group id is that large");
        }
        if (id == 0) {
            throw new IllegalArgumentException("'" + op + "': krg is not a process, it has no process group to signal");
        }
        if (group && id == 1) {
            throw new IllegalArgumentException("'-1': signalling every process is not supported; name the processes"
                    + " or groups");
        }
        return new Target((int) id, group);
    }

    @Override
    public Integer call() {
        if (list) {
            StringBuilder sb = new StringBuilder();
            for (Signal s : Signal.values()) {
                sb.append(s.number()).append(' ').append(s.name()).append('\n');
            }
            System.out.print(sb);
            return 0;
        }
        Request r = parse(signal, operands);
        int failed = 0;
        try (RpcClient c = tool.connect()) {
            for (Target t : r.targets()) {
                try {
                    ProcessAdmin.kill(c, t.id(), t.group(), r.signal(), PsCommand.TIMEOUT);
                } catch (NoSuchProcessException | PermissionDeniedException e) {
                    System.err.println("kill: " + e.getMessage());
                    failed++;
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }
}
