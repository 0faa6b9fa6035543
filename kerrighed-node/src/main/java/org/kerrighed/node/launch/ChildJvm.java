package org.kerrighed.node.launch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A Java main class in a JVM of its own, started with this JVM's java binary, class path and the module
 * flags it was given (Netty, Kryo and Hazelcast need them). Used by {@code krg demo}, the benchmarks and
 * the crash tests.
 *
 * <p>The child dies with its parent however the parent dies, SIGKILL included: the parent holds the write
 * end of the child's stdin, and a child that calls {@link #exitWhenParentDies()} halts when it reads end
 * of file there (the kernel closes the pipe when the parent dies), with a poll of its parent process as a
 * second guard. Output goes to a log file, kept after the child ends, and lines can be awaited. Every wait
 * is bounded. Thread-safe.
 */
public final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final String name;
    private final Deque<String> lines = new ArrayDeque<>();   // the last MAX_LINES lines
    private long total;                                        // lines printed so far
    private static final int MAX_LINES = 10_000;
    private final Object lock = new Object();

    private ChildJvm(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        Thread.ofPlatform().daemon().name("child-" + name + "-out").start(this::pump);
    }

    /**
     * Starts {@code mainClass} with {@code args}.
     *
     * @param name    shown in logs and messages
     * @param jvmArgs extra JVM arguments (system properties, heap)
     * @param logDir  where the child's output goes ({@code NAME.log})
     */
    public static ChildJvm start(String name, String mainClass, List<String> jvmArgs, List<String> args, Path logDir)
            throws IOException {
        return start(name, List.of(), mainClass, jvmArgs, args, logDir);
    }

    /**
     * Starts {@code mainClass} with {@code args} under {@code launcher}, a command that runs the rest of its command
     * line in place of itself ({@code exec}s it, as {@code taskset -c 0} or {@code nice} do), so that the child's
     * pid is the JVM's; empty for none.
     */
    public static ChildJvm start(String name, List<String> launcher, String mainClass, List<String> jvmArgs,
                                 List<String> args, Path logDir) throws IOException {
        Files.createDirectories(logDir);
        Path log = logDir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(inheritedFlags());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        return new ChildJvm(name, pb.start(), log);
    }

    /** The module and native-access flags this JVM was started with (no agents, no debugger). */
    static List<String> inheritedFlags() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("--add-exports") || a.startsWith("--enable-native-access")
                    || a.startsWith("--sun-misc-unsafe-memory-access") || a.startsWith("-Dio.netty.")) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * Call first thing in a child's main: halts this JVM when its parent dies (stdin reaches end of file,
     * or the parent process is gone).
     */
    public static void exitWhenParentDies() {
        Thread.ofPlatform().daemon().name("parent-watch-stdin").start(() -> {
            try {
                InputStream in = System.in;
                while (in.read() >= 0) {
                    // the parent writes nothing; any byte is ignored
                }
            } catch (IOException ignored) {
                // same as end of file
            }
            Runtime.getRuntime().halt(3);
        });
        ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        if (parent != null) {
            Thread.ofPlatform().daemon().name("parent-watch-pid").start(() -> {
                while (parent.isAlive()) {
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                Runtime.getRuntime().halt(3);
            });
        }
    }

    private void pump() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             var w = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                w.write(line);
                w.newLine();
                w.flush();
                synchronized (lock) {
                    lines.add(line);
                    total++;
                    if (lines.size() > MAX_LINES) {
                        lines.removeFirst();
                    }
                    lock.notifyAll();
                }
            }
        } catch (IOException ignored) {
            // the child ended
        } finally {
            synchronized (lock) {
                lock.notifyAll();
            }
        }
    }

    /**
     * Waits for the first line (since start) matching {@code match}.
     *
     * @throws IllegalStateException with the child's last lines when the child exits or the time runs out
     */
    public String awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            long seen = 0;                               // lines already tested, counted from the first
            while (true) {
                long index = total - lines.size();       // the number of the oldest line kept
                for (String l : lines) {
                    if (index++ >= seen && match.test(l)) {
                        return l;
                    }
                }
                seen = total;
                long left = deadline - System.nanoTime();
                if (!process.isAlive() && left > 0) {
                    lock.wait(200);                      // let the pump drain the last output
                    if (total == seen) {
                        throw new IllegalStateException(name + " exited with " + process.exitValue()
                                + " before printing the awaited line; last output:\n" + tail(50));
                    }
                    continue;
                }
                if (left <= 0) {
                    throw new IllegalStateException(name + ": awaited line not printed within " + timeout.toMillis()
                            + " ms; last output:\n" + tail(50));
                }
                lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /** The last {@code n} lines of output. */
    public String tail(int n) {
        synchronized (lock) {
            List<String> l = new ArrayList<>(lines);
            return String.join("\n", l.subList(Math.max(0, l.size() - n), l.size()));
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public Path log() {
        return log;
    }

    public String name() {
        return name;
    }

    /** SIGKILL. */
    public void kill() {
        process.destroyForcibly();
    }

    /** SIGSTOP: the process freezes with its sockets open. */
    public void stop() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT. */
    public void cont() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String sig) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).redirectErrorStream(true).start();
        if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("kill -" + sig + " " + process.pid() + " failed");
        }
    }

    /** Waits up to {@code timeout} for the child to exit; returns its exit code or -1 if still running. */
    public int waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }

    /** SIGTERM, then SIGKILL after {@code grace}. */
    public void terminate(Duration grace) {
        if (!process.isAlive()) {
            return;
        }
        try {
            signal("CONT");                             // a stopped process cannot handle SIGTERM
        } catch (IOException | InterruptedException ignored) {
            // it may have exited meanwhile
        }
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Terminates with a 5 s grace. */
    @Override
    public void close() {
        terminate(Duration.ofSeconds(5));
    }
}
