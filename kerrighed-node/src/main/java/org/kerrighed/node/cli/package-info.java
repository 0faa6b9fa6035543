/**
 * The {@code krg} command line (picocli): {@code node start}, {@code nodes}, {@code cluster stop},
 * {@code demo}, {@code test}, and subcommands added by other modules through
 * {@link org.kerrighed.node.cli.KrgExtension}. Only this package reads system properties and the
 * environment; the libraries take everything from their configuration objects.
 */
package org.kerrighed.node.cli;
