package org.kerrighed.node.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code krg test}: the whole test suite, as CI runs it. */
@Command(name = "test", mixinStandardHelpOptions = true,
        description = {"Runs every module's tests (./mvnw verify with the JDK krg found).",
                "Extra arguments go to Maven, e.g. krg test -pl kerrighed-rpc -Dtest=RpcBasicsTest."})
final class TestCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "MAVEN-ARGS", description = "passed to Maven")
    List<String> mavenArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        String home = System.getProperty("krg.home");
        if (home == null) {
            throw new IllegalArgumentException("krg.home is not set: run tests with ./krg test from the project root");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(home, "mvnw").toString(), "-B", "--no-transfer-progress", "verify"));
        cmd.addAll(mavenArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(Path.of(home).toFile()).inheritIO();
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start().waitFor() == 0 ? 0 : 1;
    }
}
