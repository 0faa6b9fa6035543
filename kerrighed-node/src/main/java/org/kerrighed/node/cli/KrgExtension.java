package org.kerrighed.node.cli;

/**
 * Adds subcommands to {@code krg} from modules above kerrighed-node (for example {@code krg bench} from
 * kerrighed-bench). Found with {@link java.util.ServiceLoader}; each returns a picocli {@code @Command}
 * object that {@link Krg} adds as a subcommand under the command's own name.
 */
public interface KrgExtension {
    /** A picocli command object (a class annotated with {@code @picocli.CommandLine.Command}). */
    Object command();
}
