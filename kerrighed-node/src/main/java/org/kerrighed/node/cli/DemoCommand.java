package org.kerrighed.node.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code krg demo}: placeholder replaced below. */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Runs a 3-node cluster of JVMs with a workload.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 1;
    }
}
