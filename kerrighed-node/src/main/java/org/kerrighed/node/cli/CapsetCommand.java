package org.kerrighed.node.cli;

import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.ProcessInfo;
import org.kerrighed.node.ProcessAdmin;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code krg capset}: a process's capabilities, shown or changed (Kerrighed's {@code krgcapset}). */
@Command(name = "capset", mixinStandardHelpOptions = true,
        description = {"Shows (--show PID) or changes (-k PID) a process's four capability sets, as krgcapset"
                + " does.",
                "SPEC edits the set's current value: +CAP,-CAP adds and removes; CAP,CAP or =CAP,CAP sets it exactly"
                        + " (= alone: empty); an octal number (0o25, 025, 0) is a mask. CAP is a name, with or without"
                        + " CAP_: CHANGE_KERRIGHED_CAP CAN_MIGRATE DISTANT_FORK CHECKPOINTABLE USE_REMOTE_MEMORY"
                        + " SEE_LOCAL_PROC_STAT. A SPEC that starts with - and is taken for an option is given"
                        + " attached: -e=-distant_fork.",
                "A change never grants what the process is not permitted, and needs the node's user to be root or"
                        + " the process's user."})
final class CapsetCommand implements Callable<Integer> {
    @Mixin
    ToolOptions tool;

    @Option(names = {"-k", "--pid"}, paramLabel = "PID", description = "the process to change")
    Integer pid;

    @Option(names = "--show", paramLabel = "PID", description = "print the process's four sets")
    Integer show;

    @Option(names = {"-e", "--effective"}, paramLabel = "SPEC", description = "edit the effective set")
    String effective;

    @Option(names = {"-p", "--permitted"}, paramLabel = "SPEC", description = "edit the permitted set")
    String permitted;

    @Option(names = {"-d", "--inheritable-effective"}, paramLabel = "SPEC",
            description = "edit the inheritable effective set (what children start with effective)")
    String inheritableEffective;

    @Option(names = {"-i", "--inheritable-permitted"}, paramLabel = "SPEC",
            description = "edit the inheritable permitted set (what children start with permitted)")
    String inheritablePermitted;

    @Option(names = {"-f", "--force"},
            description = "allow dropping CHANGE_KERRIGHED_CAP from the effective set (the process cannot take it"
                    + " back)")
    boolean force;

    @Option(names = "--json", description = "print JSON instead of tables")
    boolean json;

    @Override
    public Integer call() {
        boolean edits = effective != null || permitted != null || inheritableEffective != null
                || inheritablePermitted != null;
        if ((pid == null) == (show == null)) {
            throw new IllegalArgumentException("give either --show PID or -k PID with one or more of -e -p -d -i");
        }
        if (show != null) {
            if (edits || force) {
                throw new IllegalArgumentException("--show: takes no -e -p -d -i or --force (use -k PID to change)");
            }
            return show(checkPid("--show", show));
        }
        if (!edits) {
            throw new IllegalArgumentException("-k: which set? give one or more of -e -p -d -i");
        }
        checkSpec("-e", effective);
        checkSpec("-p", permitted);
        checkSpec("-d", inheritableEffective);
        checkSpec("-i", inheritablePermitted);
        return change(checkPid("-k", pid));
    }

    private static int checkPid(String option, int p) {
        if (p <= 1) {
            throw new IllegalArgumentException(option + ": a process id is greater than 1, got " + p);
        }
        return p;
    }

    private static void checkSpec(String option, String spec) {
        if (spec == null) {
            return;
        }
        try {
            Capabilities.edit(0, spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }

    private int show(int target) {
        ProcessInfo p;
        try (RpcClient c = tool.connect()) {
            p = ProcessAdmin.status(c, target, PsCommand.TIMEOUT);
        }
        if (p == null) {
            System.err.println("capset: no live process " + target);
            return 1;
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pid", p.pid());
            m.put("node", p.node());
            m.put("capabilities", Processes.toMap(p.capabilities()));
            System.out.println(Output.json(m));
        } else {
            System.out.print("process " + p.pid() + " on node " + p.node() + " (uid " + p.uid() + "): " + p.command()
                    + (p.exit() == null ? "" : " <" + p.exit() + ">") + "\n"
                    + Processes.capabilityTable(p.capabilities()));
        }
        return 0;
    }

    private int change(int target) {
        ProcessAdmin.CapsetReply r;
        try (RpcClient c = tool.connect()) {
            r = ProcessAdmin.capset(c, new ProcessAdmin.CapsetRequest(target, effective, permitted,
                    inheritableEffective, inheritablePermitted, force), PsCommand.TIMEOUT);
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pid", r.pid());
            m.put("before", Processes.toMap(r.before()));
            m.put("after", Processes.toMap(r.after()));
            System.out.println(Output.json(m));
        } else {
            System.out.print("process " + r.pid() + ": capabilities changed\n" + Processes.capabilityTable(r.after()));
        }
        String[] specs = {effective, permitted, inheritableEffective, inheritablePermitted};
        for (Capabilities.Kind k : Capabilities.Kind.values()) {
            String spec = specs[k.ordinal()];
            int missing = spec == null ? 0 : Capabilities.edit(r.before().mask(k), spec) & ~r.after().mask(k);
            if (missing != 0) {
                System.err.println("capset: " + Processes.setName(k) + ": " + Capabilities.names(missing)
                        + " not granted: the process is not permitted it, and a change only drops capabilities");
            }
        }
        return 0;
    }
}
