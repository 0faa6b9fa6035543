package org.kerrighed.node;

import org.kerrighed.epm.AppMain;
import org.kerrighed.epm.Applications;
import org.kerrighed.epm.Capabilities;
import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.Epm;
import org.kerrighed.epm.ExitStatus;
import org.kerrighed.epm.NoSuchProcessException;
import org.kerrighed.epm.Signal;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.rpc.Checks;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.ConversationKey;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RpcClient;
import org.kerrighed.rpc.RpcNode;
import org.kerrighed.rpc.TypeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The service behind {@code krg run} (conversation 920, types 2050-2059): a tool ships an application JAR to a node,
 * unless the node holds it already, and the node starts the JAR's main class as a top-level process of the cluster
 * ({@link AppMain}: the node checks the class, then the placement hook, or the tool, picks the node it runs on),
 * reports its pid, and by default its exit.
 *
 * <p>The conversation: the tool opens it with a {@link RunRequest}; the node answers {@link SendJar} when it lacks
 * the JAR (the tool then sends it as {@code byte[]} chunks of at most {@code maxChunkBytes}, {@code size} bytes in
 * all, which the node checks against the announced checksum), then {@link Started}; with {@code waitForExit} it
 * answers {@link Ended} once the process ended, and closes. A failure on the node (a bad JAR, a missing class, an
 * unknown node) aborts the conversation: the tool receives a {@link org.kerrighed.rpc.RemoteException} that names
 * the node's exception type and message.
 *
 * <p><b>Hangup.</b> When the tool goes away while it waits (its connection closes), the node sends {@link Signal#HUP}
 * to the process, as a terminal's hangup does; a process that ignores or handles HUP goes on. A process started
 * without waiting is detached from the start.
 */
public final class AppLauncher {
    private static final Logger log = LoggerFactory.getLogger(AppLauncher.class);
    static final int MAX_CHUNK = 128 * 1024;

    /**
     * Run {@code mainClass} of the JAR whose checksum is {@code app} ({@code size} bytes) with {@code args}, on
     * {@code node} ({@link SpawnOptions#ANY_NODE}: the placement hook picks), with the effective capabilities
     * {@code capabilities} gives ({@link #capabilities(String)}; null: the default ones).
     */
    public record RunRequest(String app, long size, String mainClass, List<String> args, int node, String capabilities,
                             boolean waitForExit) {
        public RunRequest {
            Applications.checkId(app);
            if (size <= 0) {
                throw new IllegalArgumentException("size: a JAR has at least one byte, got " + size);
            }
            if (mainClass == null || mainClass.isBlank()) {
                throw new IllegalArgumentException("mainClass: a class name is required");
            }
            args = new ArrayList<>(Checks.notNull(args, "args"));
            if (node < SpawnOptions.ANY_NODE || node > 255) {
                throw new IllegalArgumentException("node must be 0-255 or ANY_NODE, got " + node);
            }
            if (capabilities != null) {
                AppLauncher.capabilities(capabilities);
            }
        }
    }

    /** The node lacks the JAR: send it, in chunks of at most {@code maxChunkBytes}. */
    public record SendJar(int maxChunkBytes) {
    }

    /** The process started: its pid and the node it runs on. */
    public record Started(int pid, int node) {
    }

    /** The process ended with exit code {@code code}; {@code status} says how ({@link ExitStatus#toString}). */
    public record Ended(int code, String status) {
    }

    public static final ConversationKey<RunRequest> RUN = ConversationKey.of(920, "node.run", RunRequest.class);

    private AppLauncher() {
    }

    static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-node.run", 2050, 2059)
                .register(2050, RunRequest.class)
                .register(2051, SendJar.class)
                .register(2052, Started.class)
                .register(2053, Ended.class);
    }

    /**
     * The capabilities of a process started with {@code spec}: the default effective set
     * ({@link Capabilities#DEFAULT}) edited by {@code spec} ({@link Capabilities#edit} syntax: {@code +DISTANT_FORK},
     * {@code CHANGE_KERRIGHED_CAP,USE_REMOTE_MEMORY}, an octal mask), which is also the set its children get;
     * everything stays permitted.
     *
     * @throws IllegalArgumentException on an unknown capability or a malformed spec
     */
    public static Capabilities capabilities(String spec) {
        int effective = Capabilities.edit(Capabilities.DEFAULT.effective(), spec);
        return new Capabilities(effective, Capabilities.ALL, effective, Capabilities.ALL);
    }

    // ------------------------------------------------------------------ the node's side

    static void install(Node node, RpcNode rpc) {
        rpc.registerConversation(RUN, (c, r) -> serve(node, rpc, c, r));
    }

    private static void serve(Node node, RpcNode rpc, Conversation c, RunRequest r) throws Exception {
        Epm epm = node.epm();
        Applications apps = epm.applications();
        Duration timeout = rpc.config().defaultCallTimeout();
        if (!apps.has(r.app())) {
            int chunk = Math.min(MAX_CHUNK, rpc.config().maxFrameBytes() / 4);
            c.send(new SendJar(chunk), timeout);
            apps.install(new Chunks(c, r.size(), timeout), r.app());
            log.info("node {}: application {} installed by a tool ({} bytes)", node.id(), r.app().substring(0, 12),
                    r.size());
        }
        AppMain main = apps.main(r.app(), r.mainClass());
        SpawnOptions options = SpawnOptions.defaults().args(r.args())
                .name(r.args().isEmpty() ? r.mainClass() : r.mainClass() + " " + String.join(" ", r.args()));
        if (r.node() != SpawnOptions.ANY_NODE) {
            options = options.onNode(r.node());
        }
        if (r.capabilities() != null) {
            options = options.capabilities(capabilities(r.capabilities()));
        }
        ClusterProcess p = epm.spawn(main, options);
        c.send(new Started(p.pid(), p.node()), timeout);
        if (!r.waitForExit()) {
            return;
        }
        CompletableFuture.anyOf(p.onExit(), c.done()).handle((v, t) -> null).join();
        if (p.isAlive()) {
            hangUp(node, p);
            return;
        }
        ExitStatus s = p.onExit().join();
        c.send(new Ended(s.code(), s.toString()), timeout);
    }

    private static void hangUp(Node node, ClusterProcess p) {
        try {
            p.signal(Signal.HUP);
            log.info("node {}: the tool that waits for process {} went away: HUP sent", node.id(), p.pid());
        } catch (NoSuchProcessException e) {
            // it ended meanwhile
        }
    }

    /** The JAR as the tool sends it: {@code byte[]} messages adding up to exactly {@code size} bytes. */
    static final class Chunks extends InputStream {
        private final Conversation c;
        private final long size;
        private final Duration timeout;
        private long left;
        private byte[] chunk = new byte[0];
        private int pos;

        Chunks(Conversation c, long size, Duration timeout) {
            this.c = c;
            this.size = size;
            this.timeout = timeout;
            this.left = size;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (pos == chunk.length) {
                if (left == 0) {
                    return -1;
                }
                Optional<Object> m;
                try {
                    m = c.receive(timeout);
                } catch (TimeoutException e) {
                    throw new IOException("no part of the JAR came from the tool in " + timeout + " (" + left
                            + " of " + size + " bytes to go)");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while receiving a JAR");
                }
                if (m.isEmpty() || !(m.get() instanceof byte[] next)) {
                    throw new IOException("the tool stopped sending the JAR with " + left + " of " + size
                            + " bytes to go");
                }
                if (next.length > left) {
                    throw new IOException("the tool sent more than the " + size + " bytes of JAR it announced");
                }
                chunk = next;
                pos = 0;
                left -= next.length;
            }
            int n = Math.min(len, chunk.length - pos);
            System.arraycopy(chunk, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    // ------------------------------------------------------------------ the tool's side

    /**
     * Runs {@code mainClass} of the JAR at {@code jar} through the node {@code tool} is connected to: sends the JAR if
     * the node lacks it, then waits for the process to start ({@code started} is told, with whether the JAR was
     * sent) and, with {@code waitForExit}, to end. Each step waits at most {@code timeout} for the node, except the
     * wait for the end, which lasts as long as the process runs (it ends early only if the connection closes).
     *
     * @return how the process ended, or null without {@code waitForExit}
     * @throws org.kerrighed.rpc.RemoteException when the node refused (its exception's type and message)
     * @throws KerrighedException                when the connection closed or the node did not answer in time
     */
    public static Ended run(RpcClient tool, Path jar, String mainClass, List<String> args, int node, String capabilities,
                            boolean waitForExit, Duration timeout, StartListener started)
            throws IOException, InterruptedException {
        RunRequest r = new RunRequest(Applications.checksum(jar), Files.size(jar), mainClass, args, node, capabilities,
                waitForExit);
        try (Conversation c = tool.openConversation(RUN, r)) {
            Object m = next(c, timeout);
            boolean sent = false;
            if (m instanceof SendJar s) {
                send(c, jar, r.size(), s.maxChunkBytes(), timeout);
                sent = true;
                m = next(c, timeout);
            }
            if (!(m instanceof Started s)) {
                throw new KerrighedException("node " + tool.server() + " answered " + m + " instead of a started process");
            }
            started.started(s, sent);
            if (!waitForExit) {
                return null;
            }
            while (true) {
                try {
                    Object end = next(c, Duration.ofMinutes(1));
                    if (end instanceof Ended e) {
                        return e;
                    }
                    throw new KerrighedException("node " + tool.server() + " answered " + end + " instead of an exit");
                } catch (TimeoutException e) {
                    // still running
                }
            }
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + tool.server() + " did not answer in " + timeout);
        }
    }

    /** Told when the process started: its pid and node, and whether the JAR was sent to the node. */
    @FunctionalInterface
    public interface StartListener {
        void started(Started process, boolean jarSent);
    }

    static void send(Conversation c, Path jar, long size, int chunk, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        long total = 0;
        try (InputStream in = Files.newInputStream(jar)) {
            byte[] buf = new byte[Checks.positive(chunk, "maxChunkBytes")];
            for (int n = in.readNBytes(buf, 0, buf.length); n > 0; n = in.readNBytes(buf, 0, buf.length)) {
                c.send(Arrays.copyOf(buf, n), timeout);
                total += n;
            }
        }
        if (total != size) {
            throw new IOException(jar + " changed while it was being sent (" + total + " bytes, not " + size + ")");
        }
    }

    static Object next(Conversation c, Duration timeout) throws InterruptedException, TimeoutException {
        Optional<Object> m = c.receive(timeout);
        if (m.isEmpty()) {
            throw new KerrighedException("node " + c.peer() + " ended the conversation early");
        }
        return m.get();
    }
}
