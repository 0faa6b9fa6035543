package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;
import java.util.jar.JarFile;
import java.util.zip.ZipException;

/**
 * The application JARs this node holds, and their class loaders. A JAR is named by its checksum (the SHA-256 of its
 * bytes, 64 lowercase hex digits: the application's id) and cached under the node's storage directory, in
 * {@code epm-apps/<id>.jar}; each application gets one class loader per node, whose parent is the loader of
 * Kerrighed's classes. {@code krg run} installs a JAR on the node it talks to ({@link #install}); another node that
 * must run a program of the application fetches the JAR from a node that holds it (the node that spawned the
 * program, or an {@link AppMain}'s origin; when that node is gone or no longer holds it, each other live node in
 * turn), checks its checksum and caches it. A checkpoint carries the JARs of its programs, and a restart installs
 * them from there, so an application restarts after every node that held its JAR died. The cache is never pruned.
 * One per node ({@link Epm#applications()}); thread-safe.
 *
 * <p><b>Programs of an application.</b> {@link AppMain} runs a JAR's main class as a process. Code of the JAR may
 * spawn programs of its own classes, which are not in the type registry: such a program (and a task of a
 * {@link ClusterThread} or {@link ClusterExecutorService}, and a process result, whose class is an application
 * class) travels as an image serialized by a Kryo bound to the application's class loader, which names classes
 * that are not registered by their name. That adds no risk over the registry: only authenticated cluster members
 * send images, and they may install a JAR and run its code anyway. A lambda cannot travel (it is a hidden class):
 * placed by the hook it runs on the spawning node, and naming another node fails. A collection holding application
 * objects does not travel as a result (its class is not an application class).
 *
 * <p><b>Blocking.</b> Loading a program of an application the node does not hold yet fetches the JAR first: a
 * stream from the node that holds it, each chunk waited for at most the node's call timeout.
 *
 * <p><b>Failure.</b> A JAR whose checksum is not its id is refused, whether it comes from a tool or another node;
 * a cached JAR whose checksum no longer matches is deleted and fetched again (also when it was installed here: then
 * from any live node that holds it, reported when none sends it). A missing class, or one that cannot be run, is an {@link IllegalArgumentException}; a fetch that fails
 * (no live node holds the JAR, or none answers) is a {@link KerrighedException} naming why the first node asked
 * could not send it.
 */
public final class Applications implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Applications.class);
    private static final String DIR = "epm-apps";
    private static final int MAX_CHUNK = 128 * 1024;

    private final RpcNode rpc;
    private final int self;
    private final Path dir;
    private final IntPredicate isMember;
    private final java.util.function.Supplier<int[]> members;
    private final Duration timeout;
    private final int chunk;
    private final AppImages images;
    private final Map<String, AppLoader> loaders = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final AtomicInteger fetches = new AtomicInteger();
    private boolean dirReady;                                  // guarded by this
    private volatile boolean closed;

    /** An application's class loader on this node. */
    static final class AppLoader extends URLClassLoader {
        static {
            ClassLoader.registerAsParallelCapable();
        }

        final String app;
        final Applications owner;

        AppLoader(String app, URL jar, Applications owner) {
            super("app-" + shortId(app), new URL[]{jar}, Applications.class.getClassLoader());
            this.app = app;
            this.owner = owner;
        }
    }

    /**
     * Starts serving this node's JARs to the others (conversation {@link EpmWire#APP_FETCH}); {@code members} gives
     * the live nodes, asked in turn when the node that should hold a JAR cannot send it.
     */
    Applications(RpcNode rpc, Path storage, IntPredicate isMember, java.util.function.Supplier<int[]> members) {
        this.rpc = rpc;
        this.self = rpc.nodeId();
        this.dir = storage.resolve(DIR);
        this.isMember = isMember;
        this.members = members;
        this.timeout = rpc.config().defaultCallTimeout();
        this.chunk = Math.min(MAX_CHUNK, rpc.config().maxFrameBytes() / 4);
        this.images = new AppImages(rpc.config().types(), rpc.config().maxFrameBytes());
        rpc.registerConversation(EpmWire.APP_FETCH, this::serve);
    }

    /**
     * Checks that {@code app} is an application id: 64 lowercase hex digits.
     *
     * @throws IllegalArgumentException otherwise
     */
    public static String checkId(String app) {
        if (app == null || !app.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("application id must be a SHA-256 checksum (64 lowercase hex digits), got "
                    + (app == null ? "null" : "'" + app + "'"));
        }
        return app;
    }

    /** The id a JAR has: the SHA-256 of its bytes, in lowercase hex. */
    public static String checksum(Path jar) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = Files.newInputStream(jar);
             OutputStream out = new DigestOutputStream(OutputStream.nullOutputStream(), sha)) {
            in.transferTo(out);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static String shortId(String app) {
        return app.substring(0, 12);
    }

    /** True when this node holds application {@code app}'s JAR. */
    public boolean has(String app) {
        return Files.isRegularFile(file(checkId(app)));
    }

    /**
     * Installs the JAR at {@code jar} on this node.
     *
     * @return its id
     * @throws IllegalArgumentException when the file is not a JAR
     */
    public String install(Path jar) throws IOException {
        try (InputStream in = Files.newInputStream(jar)) {
            return install(in, null);
        }
    }

    /**
     * Installs the JAR read from {@code in} (to its end) on this node, checking that its checksum is
     * {@code expected} (null: any). Installing a JAR the node holds already leaves the cached copy.
     *
     * @return its id
     * @throws IllegalArgumentException when the checksum is not {@code expected}, or the bytes are not a JAR
     */
    public String install(InputStream in, String expected) throws IOException {
        if (expected != null) {
            checkId(expected);
        }
        Path part = newPart();
        try {
            MessageDigest sha = sha256();
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(part), sha)) {
                in.transferTo(out);
            }
            String id = HexFormat.of().formatHex(sha.digest());
            if (expected != null && !expected.equals(id)) {
                throw new IllegalArgumentException("application JAR refused: its checksum is " + id + ", not " + expected
                        + " as announced (changed or corrupted on the way)");
            }
            checkJar(part);
            publish(part, id);
            return id;
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /**
     * The program that runs {@code mainClass} of application {@code app}, which this node holds, checked here: the
     * class exists and is a {@link Program} with a public no-arg constructor or has a
     * {@code public static void main(String[])}. Placed on another node, it fetches the JAR from this one.
     *
     * @throws IllegalArgumentException when the class is missing or cannot be run, or this node does not hold the JAR
     */
    public AppMain main(String app, String mainClass) {
        checkId(app);
        if (!has(app)) {
            throw new IllegalArgumentException("application " + shortId(app) + " is not installed on node " + self);
        }
        mainClass(app, self, mainClass);
        return new AppMain(app, self, mainClass);
    }

    /** How many JARs this node fetched from others (fetches that brought one). */
    int fetches() {
        return fetches.get();
    }

    /** The class {@code name} of application {@code app} (not initialized), checked to be runnable by {@link AppMain}. */
    Class<?> mainClass(String app, int origin, String name) {
        AppLoader l = loader(app, origin);
        Class<?> c;
        try {
            c = Class.forName(name, false, l);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("no class " + name + " in application " + shortId(app));
        } catch (LinkageError e) {
            throw new IllegalArgumentException("class " + name + " of application " + shortId(app) + " cannot be loaded: "
                    + e);
        }
        if (Program.class.isAssignableFrom(c)) {
            if (Modifier.isAbstract(c.getModifiers())) {
                throw new IllegalArgumentException("class " + name + " of application " + shortId(app) + " is abstract");
            }
            try {
                c.getConstructor();
            } catch (NoSuchMethodException e) {
                throw new IllegalArgumentException("class " + name + " of application " + shortId(app)
                        + " implements Program but has no public no-arg constructor");
            }
            return c;
        }
        try {
            if (Modifier.isStatic(c.getMethod("main", String[].class).getModifiers())) {
                return c;
            }
        } catch (NoSuchMethodException e) {
            // reported below
        }
        throw new IllegalArgumentException("class " + name + " of application " + shortId(app) + " is neither a Program"
                + " (with a public no-arg constructor) nor has a public static void main(String[])");
    }

    // ------------------------------------------------------------------ programs and values that travel

    /**
     * The loader of the application whose class {@code value} (or the task of a task program) is, or null;
     * lambdas excluded.
     */
    AppLoader loaderOf(Object value) {
        Object v = value instanceof TaskPrograms.RunnableProgram r ? r.task()
                : value instanceof TaskPrograms.CallableProgram c ? c.task() : value;
        if (v == null || v.getClass().isHidden()) {
            return null;
        }
        return v.getClass().getClassLoader() instanceof AppLoader l && l.owner == this ? l : null;
    }

    /**
     * {@code s} as it travels to another node: a program of an application becomes an image.
     *
     * @throws IllegalArgumentException when the program cannot be serialized
     */
    EpmWire.Spawn forTravel(EpmWire.Spawn s) {
        AppLoader l = loaderOf(s.program());
        if (l == null) {
            return s;
        }
        return new EpmWire.Spawn(null, l.app, images.write(l, s.program()), s.command(), s.args(), s.env(), s.ppid(),
                s.parentNode(), s.pgid(), s.sid(), s.credentials(), s.capabilities());
    }

    /** The program a spawn request carries, read from its image (the JAR fetched from the spawning node) if need be. */
    Program programOf(EpmWire.Spawn s) {
        if (s.image() != null) {
            Object p = images.read(loader(checkId(s.app()), s.parentNode()), s.image());
            if (p instanceof Program program) {
                return program;
            }
            throw new IllegalArgumentException("the image of application " + shortId(s.app()) + " holds a "
                    + (p == null ? "null" : p.getClass().getName()) + ", not a Program");
        }
        if (s.program() instanceof Program p) {
            return p;
        }
        throw new IllegalArgumentException("spawn request without a program (" + s.command() + ")");
    }

    /**
     * An exit notice as it travels to the parent's node: a result of an application class becomes an image.
     *
     * @throws IllegalArgumentException when the result cannot be serialized
     */
    EpmWire.Exit outbound(EpmWire.Exit e) {
        AppLoader l = loaderOf(e.result());
        return l == null ? e : new EpmWire.Exit(e.parentPid(), e.childPid(), e.childNode(), e.status(),
                new EpmWire.AppValue(l.app, self, images.write(l, e.result())), e.last());
    }

    /**
     * An exit notice as the parent sees it: an image of a result is read (the JAR fetched from the child's node if
     * need be); one that cannot be read is dropped (logged: the parent gets no result).
     */
    EpmWire.Exit inbound(EpmWire.Exit e) {
        if (!(e.result() instanceof EpmWire.AppValue v)) {
            return e;
        }
        Object result = null;
        try {
            result = images.read(loader(checkId(v.app()), v.node()), v.image());
        } catch (RuntimeException x) {
            log.warn("node {}: the result of process {} (application {}, node {}) cannot be read; its parent gets none:"
                    + " {}", self, e.childPid(), shortId(v.app()), v.node(), x.toString());
        }
        return new EpmWire.Exit(e.parentPid(), e.childPid(), e.childNode(), e.status(), result, e.last());
    }

    /** The context class loader for {@code program}'s thread: its application's loader, or its class's. */
    ClassLoader contextLoader(Program program) {
        AppLoader l = loaderOf(program);
        return l != null ? l : program.getClass().getClassLoader();
    }

    // ------------------------------------------------------------------ the cache

    /**
     * Application {@code app}'s class loader, the JAR fetched first (from {@code origin}, else from any live node that
     * holds it) if this node lacks it or its copy is corrupt.
     */
    AppLoader loader(String app, int origin) {
        AppLoader l = loaders.get(app);
        if (l != null) {
            return l;
        }
        synchronized (locks.computeIfAbsent(app, k -> new Object())) {
            checkOpen();
            l = loaders.get(app);
            if (l != null) {
                return l;
            }
            try {
                l = new AppLoader(app, localCopy(app, origin).toUri().toURL(), this);
            } catch (MalformedURLException e) {
                throw new IllegalStateException(e);
            }
            loaders.put(app, l);
            return l;
        }
    }

    /**
     * This node's checked copy of JAR {@code app}, fetched first when this node lacks it or its copy is corrupt: from
     * the first of {@code holders} that sends it, else from any other live node that holds it. For users of shipped
     * JARs that make their own class loaders (scheduler plugins). Blocks while fetching, as {@link #main} does.
     *
     * @throws KerrighedException when no live node could send it, or this node cannot store it
     */
    public Path jar(String app, int... holders) {
        checkId(app);
        synchronized (locks.computeIfAbsent(app, k -> new Object())) {
            checkOpen();
            int from = self;                                 // the first other holder; the rest are asked as live nodes
            for (int h : holders) {
                if (h != self) {
                    from = h;
                    break;
                }
            }
            return localCopy(app, from);
        }
    }

    /**
     * Copies JAR {@code app} into file {@code to} (which must not exist), checking its checksum on the way: this
     * node's copy, fetched first if the node lacks it (from {@code holder}, else from any live node that holds it).
     * The cached copy is not hashed beforehand: a corrupt one is deleted, fetched again the same way and copied
     * again. For checkpoints, which carry their JARs. Blocks while fetching and copying.
     *
     * @return the bytes copied
     * @throws KerrighedException when no live node could send it, this node's copy is corrupt, or a file cannot be
     *         read or written
     */
    long copyTo(String app, int holder, Path to) {
        checkId(app);
        synchronized (locks.computeIfAbsent(app, k -> new Object())) {
            checkOpen();
            try {
                for (int attempt = 1; ; attempt++) {
                    Path f = Files.isRegularFile(file(app)) ? file(app) : localCopy(app, holder);
                    MessageDigest sha = sha256();
                    long bytes;
                    try (InputStream in = Files.newInputStream(f);
                         OutputStream out = new DigestOutputStream(Files.newOutputStream(to,
                                 StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), sha)) {
                        bytes = in.transferTo(out);
                    }
                    if (HexFormat.of().formatHex(sha.digest()).equals(app)) {
                        return bytes;
                    }
                    Files.delete(to);
                    Files.deleteIfExists(f);
                    if (attempt == 2) {
                        throw new KerrighedException("application " + shortId(app) + " was corrupt twice on node "
                                + self + " (its checksum changed): deleted");
                    }
                    log.warn("node {}: its copy of application {} was corrupt: fetching it again", self, shortId(app));
                }
            } catch (IOException e) {
                throw new KerrighedException("node " + self + " cannot copy application " + shortId(app) + " to " + to
                        + ": " + e, e);
            }
        }
    }

    /**
     * The checked cached copy of {@code app}, fetched if need be from {@code origin}, else from the other live nodes in
     * turn; call holding its lock.
     */
    private Path localCopy(String app, int origin) {
        Path f = file(app);
        try {
            String missing = "application " + shortId(app) + " is not installed on node " + self;
            if (Files.isRegularFile(f) && !checksum(f).equals(app)) {
                Files.delete(f);
                missing = "node " + self + "'s copy of application " + shortId(app)
                        + " was corrupt (its checksum changed): deleted; install it again";
                log.warn("node {}: its copy of application {} was corrupt: fetching it again", self, shortId(app));
            }
            if (!Files.isRegularFile(f)) {
                fetchFromAny(app, origin, missing);
            }
            return f;
        } catch (IOException e) {
            throw new KerrighedException("node " + self + " cannot read or store application " + shortId(app)
                    + " in " + dir + ": " + e, e);
        }
    }

    /**
     * Fetches {@code app} from {@code origin} (unless it is this node), else from each other live node in turn (one
     * that lacks it refuses at once). When none sends it, throws the origin's failure ({@code missing} when the
     * origin is this node) with the other nodes' reasons.
     */
    private void fetchFromAny(String app, int origin, String missing) throws IOException {
        KerrighedException first = new KerrighedException(missing);
        if (origin != self) {
            try {
                fetch(app, origin);
                return;
            } catch (KerrighedException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                first = e;
            }
        }
        List<String> others = new ArrayList<>();
        for (int n : members.get()) {
            if (n == self || n == origin) {
                continue;
            }
            try {
                fetch(app, n);
                log.info("node {}: application {} came from node {}, node {} could not send it ({})", self,
                        shortId(app), n, origin, first.getMessage());
                return;
            } catch (KerrighedException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                others.add("node " + n + ": " + e.getMessage());
            }
        }
        throw new KerrighedException(first.getMessage() + "; no other live node sent it"
                + (others.isEmpty() ? "" : " (" + String.join("; ", others) + ")"), first);
    }

    private void fetch(String app, int origin) throws IOException {
        if (!isMember.test(origin)) {
            throw new KerrighedException("node " + self + " cannot fetch application " + shortId(app) + ": node " + origin
                    + ", which holds it, is not a live member");
        }
        Path part = newPart();
        try (Conversation c = rpc.openConversation(origin, EpmWire.APP_FETCH, app)) {
            MessageDigest sha = sha256();
            long bytes = 0;
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(part), sha)) {
                for (Optional<Object> m = c.receive(timeout); m.isPresent(); m = c.receive(timeout)) {
                    if (!(m.get() instanceof byte[] b)) {
                        throw new KerrighedException("node " + origin + " sent a " + m.get().getClass().getName()
                                + " while sending application " + shortId(app));
                    }
                    out.write(b);
                    bytes += b.length;
                }
            }
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(app)) {
                throw new KerrighedException("application JAR " + shortId(app) + " fetched from node " + origin
                        + " refused: its checksum is " + got);
            }
            publish(part, app);
            fetches.incrementAndGet();
            log.info("node {}: fetched application {} ({} bytes) from node {}", self, shortId(app), bytes, origin);
        } catch (RemoteException e) {
            throw new KerrighedException("node " + self + " cannot fetch application " + shortId(app) + " from node "
                    + origin + ": " + e.getMessage(), e);
        } catch (TimeoutException e) {
            throw new KerrighedException("node " + self + ": no data from node " + origin + " in " + timeout
                    + " while fetching application " + shortId(app));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while fetching application " + shortId(app));
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /** Sends this node's copy of JAR {@code app} in chunks (the accepting side of {@link EpmWire#APP_FETCH}). */
    private void serve(Conversation c, String app) throws Exception {
        Path f = file(checkId(app));
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("node " + self + " does not hold application " + shortId(app));
        }
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[chunk];
            for (int n = in.readNBytes(buf, 0, chunk); n > 0; n = in.readNBytes(buf, 0, chunk)) {
                c.send(java.util.Arrays.copyOf(buf, n), timeout);
            }
        }
    }

    private Path file(String app) {
        return dir.resolve(app + ".jar");
    }

    /** A new temporary file in the cache directory (created, with leftovers of an earlier run removed, on first use). */
    private synchronized Path newPart() throws IOException {
        checkOpen();
        if (!dirReady) {
            Files.createDirectories(dir);
            try (var old = Files.newDirectoryStream(dir, "*.part")) {
                for (Path p : old) {
                    Files.deleteIfExists(p);
                }
            }
            dirReady = true;
        }
        return Files.createTempFile(dir, "incoming-", ".part");
    }

    /** Moves a checked JAR into the cache, unless a copy is there already. */
    private void publish(Path part, String app) throws IOException {
        synchronized (locks.computeIfAbsent(app, k -> new Object())) {
            Path f = file(app);
            if (!Files.isRegularFile(f)) {
                Files.move(part, f, StandardCopyOption.ATOMIC_MOVE);
            }
        }
    }

    private static void checkJar(Path p) {
        try (JarFile j = new JarFile(p.toFile())) {
            j.entries().hasMoreElements();
        } catch (ZipException e) {
            throw new IllegalArgumentException("application refused: not a JAR file (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new IllegalArgumentException("application refused: unreadable JAR (" + e + ")");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new KerrighedException("node " + self + "'s process layer is closed");
        }
    }

    /** Closes the class loaders (after the node's processes ended). */
    @Override
    public void close() {
        closed = true;
        for (AppLoader l : loaders.values()) {
            try {
                l.close();
            } catch (IOException e) {
                log.debug("node {}: closing the loader of application {}: {}", self, l.app, e.toString());
            }
        }
        loaders.clear();
        images.clear();
    }

    @Override
    public String toString() {
        return "Applications[node " + self + ", " + loaders.size() + " loaded, " + dir + "]";
    }
}
