package org.kerrighed.bench;

import org.kerrighed.node.cli.KrgExtension;

/** Adds {@code krg bench} to the command line. */
public final class BenchExtension implements KrgExtension {
    @Override
    public Object command() {
        return new BenchCommand();
    }
}
