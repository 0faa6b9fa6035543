package org.kerrighed.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.ServiceLoader;

/**
 * {@code krg}: the Kerrighed command line. Exit codes: 0 done, 1 failed, 2 bad usage (with a message
 * naming the option). Logs go to stderr; data (tables, JSON) to stdout.
 */
@Command(name = "krg", mixinStandardHelpOptions = true, version = "krg 0.1.0",
        description = "Kerrighed for the JVM: a cluster of JVMs seen as one machine.",
        subcommands = {TestCommand.class, NodeCommand.class, NodesCommand.class, ClusterCommand.class,
                KddmCommand.class, PsCommand.class, TopCommand.class, KillCommand.class, CapsetCommand.class,
                MigrateCommand.class, CheckpointCommand.class, RestartCommand.class, SchedCommand.class,
                FsCommand.class, DemoCommand.class, RunCommand.class, CommandLine.HelpCommand.class})
public final class Krg {
    public static void main(String[] args) {
        configureLogging();
        System.exit(run(args));
    }

    /** Runs the command line without exiting (tests). */
    public static int run(String... args) {
        CommandLine cl = commandLine();
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Krg());
        KillCommand.configure(cl.getSubcommands().get("kill"));
        cl.getSubcommands().get("run").setStopAtPositional(true);     // what follows MAIN is the process's
        for (KrgExtension e : ServiceLoader.load(KrgExtension.class)) {
            Object command = e.command();
            CommandLine sub = new CommandLine(command);
            cl.addSubcommand(sub.getCommandName(), sub);
        }
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof IllegalArgumentException) {
                commandLine.getErr().println(name(commandLine) + ": " + ex.getMessage());
                return 2;
            }
            commandLine.getErr().println(name(commandLine) + ": " + rootMessage(ex));
            return 1;
        });
        return cl;
    }

    /** The command's words after {@code krg}: {@code migrate}, {@code sched create probe}. */
    private static String name(CommandLine commandLine) {
        String q = commandLine.getCommandSpec().qualifiedName(" ");
        return q.startsWith("krg ") ? q.substring(4) : q;
    }

    static String rootMessage(Throwable t) {
        while ((t instanceof java.util.concurrent.ExecutionException
                || t instanceof java.util.concurrent.CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** slf4j-simple from system properties: concise lines on stderr, Hazelcast quiet. */
    static void configureLogging() {
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", "info");
        setDefault("org.slf4j.simpleLogger.showDateTime", "true");
        setDefault("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        setDefault("org.slf4j.simpleLogger.showShortLogName", "true");
        setDefault("org.slf4j.simpleLogger.showThreadName", "false");
        setDefault("org.slf4j.simpleLogger.log.com.hazelcast", "warn");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
