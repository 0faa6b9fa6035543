package org.kerrighed.epm;

import org.kerrighed.epm.internal.EpmWire;
import org.kerrighed.epm.internal.EpmWire.Decision;
import org.kerrighed.epm.internal.EpmWire.Freeze;
import org.kerrighed.epm.internal.EpmWire.Frozen;
import org.kerrighed.epm.internal.EpmWire.MoveStep;
import org.kerrighed.epm.internal.EpmWire.Remap;
import org.kerrighed.epm.internal.EpmWire.Requester;
import org.kerrighed.epm.internal.EpmWire.RestartOpen;
import org.kerrighed.ipc.Ipc;
import org.kerrighed.kddm.access.PermissionDeniedException;
import org.kerrighed.mm.Segment;
import org.kerrighed.mm.SegmentStat;
import org.kerrighed.mm.SharedMemory;
import org.kerrighed.rpc.Conversation;
import org.kerrighed.rpc.KerrighedException;
import org.kerrighed.rpc.RemoteException;
import org.kerrighed.rpc.RpcNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Checkpoints of applications and restarts from them, both sides. An application is a process and its
 * descendants, on any nodes. The node that checkpoints it freezes every process (each captures its ghost at its
 * next safe point and waits), writes the ghosts and the segments only the application uses into a new version
 * directory, syncs it, renames it into place, then lets the processes go on or kills them. A restart reads a
 * version, places its processes, sends each ghost to its node, and starts them all once every one is in place.
 */
final class Checkpoints {
    /*
     * Files of version N of application A: DIR/A/vN/manifest.properties, process-PID.ghost (one ghost each, kind
     * CHECKPOINT), segment-ID.bin (a segment's bytes). They are written into DIR/A/.vN.partial, synced, and renamed
     * to vN: a version directory is complete or absent. The manifest lists the processes (pid, node, parent) and
     * segments (id, key, size, page size, replication, mode).
     */
    private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);

    /** Tests only: called with the pid of a restarted process once its thread started, before STARTED is sent. */
    static volatile java.util.function.IntConsumer afterStartForTests;
    /** Tests only: called with the pid of a restarted process on START, before its thread starts. */
    static volatile java.util.function.IntConsumer beforeStartForTests;
    static final String MANIFEST = "manifest.properties";
    private static final int FORMAT = 1;

    private final Epm epm;
    private final RpcNode rpc;
    private final int self;
    private final Duration timeout;
    private final GhostPieces pieces;
    private final Path defaultDir;

    Checkpoints(Epm epm, RpcNode rpc, Path storage) {
        this.epm = epm;
        this.rpc = rpc;
        this.self = rpc.nodeId();
        this.timeout = rpc.config().defaultCallTimeout();
        this.pieces = new GhostPieces(rpc);
        this.defaultDir = storage.resolve("checkpoints");
        rpc.registerConversation(EpmWire.FREEZE, this::serveFreeze);
        rpc.registerConversation(EpmWire.RESTART, this::serveRestart);
    }

    Path defaultDirectory() {
        return defaultDir;
    }

    // ------------------------------------------------------------------ checkpoint: the checkpointing node

    /** One frozen process: its summary, and how to tell it to go on ({@code false}) or end ({@code true}). */
    private record Held(Frozen frozen, java.util.function.Consumer<Boolean> decide) {
    }

    /** Checkpoints the application rooted at {@code root}. */
    CheckpointReport checkpoint(int root, CheckpointOptions o, Requester from) {
        long t0 = System.nanoTime();
        Path base = (o.directory() == null ? defaultDir : o.directory()).resolve(String.valueOf(root));
        for (int attempt = 1; ; attempt++) {
            Map<Integer, Held> held = new LinkedHashMap<>();
            Path partial = null;
            boolean written = false;
            long tAttempt = System.nanoTime();
            try {
                synchronized (this) {
                    Files.createDirectories(base);
                    int version = nextVersion(base);
                    partial = base.resolve(".v" + version + ".partial");
                    deleteTree(partial);
                    Files.createDirectories(partial);
                    freezeAll(root, from, held, partial);
                    long tFrozen = System.nanoTime();
                    List<String> leftOut = new ArrayList<>();
                    List<String> pipes = new ArrayList<>();
                    long bytes = saveSegments(held, partial, o.refuseShared(), leftOut)
                            + savePipes(held, partial, o.refuseShared(), leftOut, pipes)
                            + saveJars(held, partial, leftOut);
                    for (Held h : held.values()) {
                        bytes += h.frozen().length();
                    }
                    writeManifest(partial, root, version, held, o.description(), leftOut, pipes);
                    Path dir = base.resolve("v" + version);
                    syncTree(partial);
                    if (System.nanoTime() - tAttempt > timeout.multipliedBy(3).toNanos()) {
                        throw new KerrighedException("the checkpoint of application " + root + " took longer than its"
                                + " processes stay frozen (" + timeout.multipliedBy(4) + " at the least, four call"
                                + " timeouts): not written (raise the call timeout for checkpoints this large)");
                    }
                    move(partial, dir);
                    fsyncDir(base);
                    written = true;
                    long tWritten = System.nanoTime();
                    decide(held, o.kill());
                    if (o.kill()) {
                        awaitGone(held.keySet());
                    }
                    List<Integer> nodes = held.values().stream().map(h -> h.frozen().node()).distinct().sorted()
                            .toList();
                    log.info("node {}: checkpoint v{} of application {}: {} process(es) on node(s) {}, {} bytes, in {}",
                            self, version, root, held.size(), nodes, bytes, dir);
                    return new CheckpointReport(root, version, dir, List.copyOf(held.keySet()), nodes, bytes,
                            ms(tFrozen - t0), ms(tWritten - tFrozen), ms(System.nanoTime() - t0), leftOut);
                }
            } catch (ApplicationChanged e) {
                release(held, partial);
                if (attempt >= 3) {
                    throw new KerrighedException("application " + root + " kept changing while it was frozen ("
                            + e.getMessage() + "): no checkpoint after 3 attempts");
                }
                log.debug("node {}: application {} changed while frozen ({}): trying again", self, root, e.getMessage());
            } catch (IOException e) {
                release(held, partial);
                throw new KerrighedException("node " + self + " cannot write the checkpoint of application " + root
                        + " under " + base + ": " + e, e);
            } catch (RuntimeException | Error e) {
                if (!written) {
                    release(held, partial);
                }
                throw e;
            }
        }
    }

    /**
     * Waits (at most the call timeout) until none of {@code pids} is listed, so that a restart that follows finds
     * them free.
     */
    private void awaitGone(java.util.Collection<Integer> pids) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            for (int pid : pids) {
                while (epm.status(pid).isPresent() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A process of the application ended or moved while the others were being frozen: try again. */
    private static final class ApplicationChanged extends RuntimeException {
        ApplicationChanged(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Freezes the application's processes, streaming each ghost to {@code dir}, until no process of the tree is
     * left unfrozen (one that was spawned before its parent froze is found on the next pass).
     */
    private void freezeAll(int root, Requester from, Map<Integer, Held> held, Path dir) throws IOException {
        for (int pass = 0; pass < 10; pass++) {
            List<ProcessInfo> tree = tree(root);
            if (tree.isEmpty()) {
                if (held.isEmpty()) {
                    throw new NoSuchProcessException("no live process " + root);
                }
                throw new ApplicationChanged("its root ended");
            }
            boolean grew = false;
            for (ProcessInfo p : tree) {
                if (!held.containsKey(p.pid())) {
                    held.put(p.pid(), freeze(p, root, from, dir));
                    grew = true;
                }
            }
            if (!grew) {
                return;
            }
        }
        throw new ApplicationChanged("it kept growing");
    }

    /** The live processes of the tree rooted at {@code root} (zombies left out), from ps. */
    private List<ProcessInfo> tree(int root) {
        return subtrees(epm.ps(true), List.of(root));           // a node not heard from may hold some
    }

    /**
     * The live processes (zombies left out) of {@code ps} that are among {@code roots} or descend from one of them,
     * each once, every process before its children.
     */
    static List<ProcessInfo> subtrees(List<ProcessInfo> ps, java.util.Collection<Integer> roots) {
        Map<Integer, List<ProcessInfo>> byParent = new HashMap<>();
        Map<Integer, ProcessInfo> byPid = new HashMap<>();
        for (ProcessInfo p : ps) {
            if (p.state() != ProcessState.ZOMBIE) {
                byParent.computeIfAbsent(p.ppid(), k -> new ArrayList<>()).add(p);
                byPid.put(p.pid(), p);
            }
        }
        List<ProcessInfo> out = new ArrayList<>();
        Set<Integer> seen = new HashSet<>();
        List<ProcessInfo> todo = new ArrayList<>();
        for (int root : roots) {
            ProcessInfo top = byPid.get(root);
            if (top != null) {
                todo.add(top);
            }
        }
        while (!todo.isEmpty()) {
            ProcessInfo p = todo.removeLast();
            if (seen.add(p.pid())) {
                out.add(p);
                todo.addAll(byParent.getOrDefault(p.pid(), List.of()));
            }
        }
        return out;
    }

    private Held freeze(ProcessInfo p, int app, Requester from, Path dir) throws IOException {
        if (p.node() == self) {
            return freezeLocal(p, app, from, dir);
        }
        Conversation c;
        try {
            c = rpc.openConversation(p.node(), EpmWire.FREEZE, new Freeze(p.pid(), app, from));
        } catch (KerrighedException e) {
            throw new ApplicationChanged("node " + p.node() + " of process " + p.pid() + ": " + e.getMessage());
        }
        try {
            Optional<Object> m = c.receive(timeout.multipliedBy(2));
            if (m.isEmpty() || !(m.get() instanceof Frozen f) || f.pid() != p.pid()) {
                throw new KerrighedException("node " + p.node() + " broke the freeze protocol for process " + p.pid());
            }
            try (FileChannel out = FileChannel.open(dir.resolve("process-" + p.pid() + ".ghost"),
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                pieces.receive(c, f.length(), "the ghost of process " + p.pid() + " from node " + p.node(), bytes -> {
                    ByteBuffer bb = ByteBuffer.wrap(bytes);
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                });
            }
            return new Held(f, kill -> {
                try {
                    c.send(new Decision(kill), timeout);
                    c.close();
                } catch (Exception e) {
                    log.debug("node {}: process {} not told to {}: {} (it goes on after its freeze timeout)", self,
                            f.pid(), kill ? "end" : "go on", e.toString());
                }
            });
        } catch (RemoteException e) {
            c.abort("checkpoint abandoned");
            RuntimeException r = ProcessErrors.fromRemote(e, "freeze process " + p.pid());
            if (r instanceof NoSuchProcessException) {
                throw new ApplicationChanged("process " + p.pid() + " ended or moved");
            }
            throw r;
        } catch (java.util.concurrent.TimeoutException e) {
            c.abort("checkpoint abandoned");
            throw new KerrighedException("process " + p.pid() + " on node " + p.node() + " did not reach a safe point in "
                    + timeout.multipliedBy(2) + ": no checkpoint");
        } catch (InterruptedException e) {
            c.abort("checkpoint abandoned");
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while freezing process " + p.pid());
        } catch (IOException | RuntimeException e) {
            c.abort("checkpoint abandoned");
            throw e;
        }
    }

    /** Lets every frozen process go on (or die), and removes a partial version. */
    private void release(Map<Integer, Held> held, Path partial) {
        decide(held, false);
        if (partial != null) {
            try {
                deleteTree(partial);
            } catch (IOException e) {
                log.warn("node {}: partial checkpoint {} not removed: {}", self, partial, e.toString());
            }
        }
    }

    private void decide(Map<Integer, Held> held, boolean kill) {
        for (Held h : held.values()) {
            h.decide().accept(kill);
        }
    }

    /** Freezes a process of this node: its ghost goes straight from its buffer to the file. */
    private Held freezeLocal(ProcessInfo p, int app, Requester from, Path dir) {
        FreezeAction a;
        try {
            a = freezeHere(p.pid(), app, from, dir.resolve("process-" + p.pid() + ".ghost"));
        } catch (NoSuchProcessException e) {
            throw new ApplicationChanged("process " + p.pid() + " ended or moved");
        }
        Captured cap = a.captured.join();
        Frozen f = new Frozen(p.pid(), a.ppid, self, cap.length(), cap.segments(), cap.readPipes(), cap.writePipes());
        return new Held(f, a.decision::complete);
    }

    /**
     * Saves the segments the application's processes hold: those attached only by them. Returns the bytes saved.
     */
    private long saveSegments(Map<Integer, Held> held, Path dir, boolean refuseShared, List<String> leftOut)
            throws IOException {
        Map<Long, Integer> uses = new TreeMap<>();
        for (Held h : held.values()) {
            for (long id : h.frozen().segments()) {
                uses.merge(id, 1, Integer::sum);
            }
        }
        long bytes = 0;
        SharedMemory shm = epm.shm();
        for (Map.Entry<Long, Integer> u : uses.entrySet()) {
            SegmentStat st = shm.stat(u.getKey());
            if (st.attachCount() > u.getValue()) {
                String why = "segment " + st.id() + " (key " + st.key() + ") is attached by " + (st.attachCount()
                        - u.getValue()) + " process(es) or thread(s) outside the application";
                if (refuseShared) {
                    throw new KerrighedException(why + ": checkpoint refused");
                }
                leftOut.add(why + ": not saved");
                continue;
            }
            try (Segment s = shm.attachHeld(st.id(), SharedMemory.READ_ONLY);   // the application holds it
                 FileChannel out = FileChannel.open(dir.resolve("segment-" + st.id() + ".bin"),
                         StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                byte[] buf = new byte[(int) Math.min(st.size(), 1 << 20)];
                for (long off = 0; off < st.size(); off += buf.length) {
                    int n = (int) Math.min(buf.length, st.size() - off);
                    s.copyTo(off, buf, 0, n);
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                }
            }
            bytes += st.size();
        }
        return bytes;
    }

    /**
     * Saves the bytes in flight in the pipes whose open ends all belong to the application (listed in
     * {@code saved} as {@code id:capacity}); returns how many. Pipes with ends outside it are left out (or the
     * checkpoint refused).
     */
    private long savePipes(Map<Integer, Held> held, Path dir, boolean refuseShared, List<String> leftOut,
                           List<String> saved) throws IOException {
        Map<Long, int[]> ends = new TreeMap<>();                // pipe -> {readers, writers} inside the application
        for (Held h : held.values()) {
            h.frozen().readPipes().forEach(p -> ends.computeIfAbsent(p, k -> new int[2])[0]++);
            h.frozen().writePipes().forEach(p -> ends.computeIfAbsent(p, k -> new int[2])[1]++);
        }
        long bytes = 0;
        for (Map.Entry<Long, int[]> e : ends.entrySet()) {
            Optional<org.kerrighed.ipc.PipeSnapshot> snap = epm.ipc().pipeSnapshot(
                    new org.kerrighed.ipc.PipeEndHandle(e.getKey(), true));
            if (snap.isEmpty()) {
                continue;
            }
            org.kerrighed.ipc.PipeSnapshot s = snap.get();
            if (s.readers() != e.getValue()[0] || s.writers() != e.getValue()[1]) {
                String why = "pipe " + s.pipe() + " has ends outside the application (" + s.readers() + " reader(s), "
                        + s.writers() + " writer(s) open; " + e.getValue()[0] + " and " + e.getValue()[1] + " inside)";
                if (refuseShared) {
                    throw new KerrighedException(why + ": checkpoint refused");
                }
                leftOut.add(why + ": its bytes in flight are not saved");
                continue;
            }
            Files.write(dir.resolve("pipe-" + s.pipe() + ".bin"), s.buffered(), StandardOpenOption.CREATE_NEW);
            saved.add(s.pipe() + ":" + s.capacity());
            bytes += s.buffered().length;
        }
        return bytes;
    }

    /**
     * Copies into {@code dir} ({@code app-<id>.jar}) the JAR of each application whose programs are among the frozen
     * processes (their ghosts' headers name it), so that a restart finds it after every node that held it died. A
     * JAR that cannot be copied is named in {@code leftOut} (a restart then fetches it from a live node that holds
     * it). Returns the bytes written.
     */
    private long saveJars(Map<Integer, Held> held, Path dir, List<String> leftOut) throws IOException {
        Map<String, Integer> apps = new TreeMap<>();            // id -> the node that ran one of its programs
        for (int pid : held.keySet()) {
            Path f = dir.resolve("process-" + pid + ".ghost");
            Ghost.Header h = Ghost.peek(f, "checkpoint file " + f);
            if (h.app() != null) {
                apps.putIfAbsent(h.app(), h.appOrigin());
            }
        }
        long bytes = 0;
        for (Map.Entry<String, Integer> a : apps.entrySet()) {
            Path to = dir.resolve(jarFile(a.getKey()));
            try {
                bytes += epm.applications().copyTo(a.getKey(), a.getValue(), to);
            } catch (KerrighedException e) {
                Files.deleteIfExists(to);
                if (Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                leftOut.add("the JAR of application " + Applications.shortId(a.getKey()) + " (" + e.getMessage()
                        + ")");
            }
        }
        return bytes;
    }

    private static String jarFile(String app) {
        return "app-" + app + ".jar";
    }

    private void writeManifest(Path dir, int root, int version, Map<Integer, Held> held, String description,
                               List<String> leftOut, List<String> pipes) throws IOException {
        Properties m = new Properties();
        m.setProperty("format", String.valueOf(FORMAT));
        m.setProperty("app", String.valueOf(root));
        m.setProperty("version", String.valueOf(version));
        m.setProperty("taken", Instant.now().toString());
        m.setProperty("taken-by-node", String.valueOf(self));
        if (description != null) {
            m.setProperty("description", description);
        }
        List<String> procs = new ArrayList<>();
        for (Held h : held.values()) {
            procs.add(h.frozen().pid() + ":" + h.frozen().node() + ":" + h.frozen().ppid());
        }
        m.setProperty("processes", String.join(",", procs));
        List<String> segs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "segment-*.bin")) {
            for (Path f : ds) {
                long id = Long.parseLong(f.getFileName().toString().replaceAll("\\D", ""));
                SegmentStat st = epm.shm().stat(id);
                segs.add(id + ":" + st.key() + ":" + st.size() + ":" + st.pageSize() + ":" + st.replication() + ":"
                        + st.perm().mode());
            }
        }
        m.setProperty("segments", String.join(",", segs));
        m.setProperty("pipes", String.join(",", pipes));
        m.setProperty("left-out", String.join("; ", leftOut));
        try (Writer w = Files.newBufferedWriter(dir.resolve(MANIFEST), StandardCharsets.UTF_8)) {
            m.store(w, "Kerrighed application checkpoint");
        }
    }

    /** The next version number under {@code base}: one more than the highest {@code vN} there. */
    private static int nextVersion(Path base) throws IOException {
        int max = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(base, "v*")) {
            for (Path p : ds) {
                String n = p.getFileName().toString().substring(1);
                if (n.matches("\\d{1,9}")) {
                    max = Math.max(max, Integer.parseInt(n));
                }
            }
        }
        return max + 1;
    }

    /** The newest complete version directory of application {@code app} under {@code dir}; empty if none. */
    static Optional<Path> latest(Path dir, int app) {
        Path base = dir.resolve(String.valueOf(app));
        try {
            int v = nextVersion(base) - 1;
            return v == 0 ? Optional.empty() : Optional.of(base.resolve("v" + v));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    // ------------------------------------------------------------------ checkpoint: the process's node

    /** Freezes one of this node's processes, sends its ghost, and applies the decision that comes back. */
    private void serveFreeze(Conversation c, Freeze f) throws Exception {
        FreezeAction a = freezeHere(f.pid(), f.app(), f.from(), null);
        LocalProcess p = a.process;
        Captured cap = a.captured.join();
        boolean kill = false;
        try {
            c.send(new Frozen(p.pid, p.ppid, self, cap.ghost().length(), cap.segments(), cap.readPipes(),
                    cap.writePipes()), timeout);
            pieces.send(c, cap.ghost().buf(), cap.ghost().length());
            Optional<Object> d = c.receive(timeout.multipliedBy(4));
            kill = d.isPresent() && d.get() instanceof Decision dec && dec.kill();
        } catch (Exception e) {
            log.debug("node {}: process {} goes on: its checkpoint was abandoned ({})", self, p.pid, e.toString());
        } finally {
            a.decision.complete(kill);
        }
    }

    /** A frozen process's ghost: in a buffer ({@code ghost}), or already in its file (null). */
    private record Captured(GhostCodec.Sealed ghost, long length, List<Long> segments, List<Long> readPipes,
                            List<Long> writePipes) {
    }

    /**
     * Checks and freezes this node's process {@code pid}: returns once it captured its ghost (the action's
     * {@code captured} is then complete), frozen until its {@code decision}. With a {@code file}, the process writes
     * its ghost there itself.
     */
    private FreezeAction freezeHere(int pid, int app, Requester from, Path file) throws KerrighedException {
        LocalProcess p = epm.localProcess(pid);
        if (p == null) {
            throw new NoSuchProcessException("no live process " + pid + " on node " + self);
        }
        if (!Epm.mayControl(from, p)) {
            throw new PermissionDeniedException(from.credentials() + " may not checkpoint process " + pid + " ("
                    + p.credentials + "): only root or its owner may");
        }
        if (!p.capabilities().has(Capability.CHECKPOINTABLE)) {
            throw new CapabilityException("process " + p.pid + " of application " + app + " may not be"
                    + " checkpointed: CHECKPOINTABLE is not effective (" + Capabilities.names(p.capabilities().effective())
                    + ")");
        }
        FreezeAction a = new FreezeAction(p, file);
        try {
            p.request(a);
        } catch (IllegalStateException e) {
            throw new NoSuchProcessException(e.getMessage());
        }
        try {
            a.captured.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            if (p.withdraw(a)) {
                throw new KerrighedException("process " + p.pid + " did not reach a safe point in " + timeout);
            }
            await(a.captured);                                  // it started: its capture is bounded
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new KerrighedException(e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            a.decision.complete(false);
            throw new KerrighedException("interrupted while freezing process " + pid);
        }
        return a;
    }

    private void await(CompletableFuture<Captured> f) {
        try {
            f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new KerrighedException(e.getCause().toString());
        } catch (Exception e) {
            throw new KerrighedException("a frozen process did not capture its state in time: " + e);
        }
    }

    /** On the process's thread: capture the ghost, then wait (frozen) for the decision. */
    private final class FreezeAction implements LocalProcess.SafepointAction {
        final LocalProcess process;
        final int ppid;
        final Path file;
        final CompletableFuture<Captured> captured = new CompletableFuture<>();
        final CompletableFuture<Boolean> decision = new CompletableFuture<>();

        FreezeAction(LocalProcess p, Path file) {
            this.process = p;
            this.ppid = p.ppid;
            this.file = file;
        }

        @Override
        public void cancel(String why) {
            captured.completeExceptionally(new NoSuchProcessException(why + " before it froze"));
        }

        @Override
        public boolean run(LocalProcess p) {
            try (AutoCloseable ignored = p.useCapability(Capability.CHECKPOINTABLE)) {
                List<Ipc.HeldLock> locks = epm.ipc().heldLocks();
                GhostCodec.Binding b = new GhostCodec.Binding(epm);
                GhostCodec.Sealed g = null;
                long length;
                if (file == null) {
                    g = epm.ghosts().write(p, Ghost.CHECKPOINT, p.capture(locks), b);
                    length = g.length();
                } else {
                    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        length = epm.ghosts().write(p, Ghost.CHECKPOINT, p.capture(locks), b, out);
                    }
                }
                List<Long> segs = new ArrayList<>();
                for (Segment s : b.segments) {
                    segs.add(s.id());
                }
                List<Long> reads = new ArrayList<>();
                List<Long> writes = new ArrayList<>();
                for (java.nio.channels.Channel ch : b.pipeEnds) {
                    if (ch instanceof org.kerrighed.ipc.PipeReadEnd r) {
                        reads.add(r.handle().pipe());
                    } else if (ch instanceof org.kerrighed.ipc.PipeWriteEnd w) {
                        writes.add(w.handle().pipe());
                    }
                }
                captured.complete(new Captured(g, length, segs, reads, writes));
            } catch (Exception e) {
                captured.completeExceptionally(e instanceof MigrationException m
                        ? new KerrighedException("process " + p.pid + " cannot be checkpointed: " + m.getMessage(), m)
                        : e);
                return false;
            }
            boolean kill;
            try {
                kill = decision.get(timeout.toMillis() * 6, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                log.warn("node {}: process {} got no decision after its checkpoint: it goes on", self, p.pid);
                kill = false;
            }
            if (kill) {
                epm.ipc().handOverLocks(p.pid, timeout.multipliedBy(10));    // kept for its restart
                throw new LocalProcess.Ended(ExitStatus.killed(Signal.KILL, "checkpointed then killed"));
            }
            return false;
        }
    }

    // ------------------------------------------------------------------ restart: the restarting node

    /** Restarts version directory {@code dir} (see {@link Epm#restart}). */
    Restarted restart(Path dir, RestartOptions o, LocalProcess caller) {
        Properties m = readManifest(dir);
        int app = intProp(m, "app", dir);
        List<int[]> procs = new ArrayList<>();                  // old pid, old node, old ppid
        for (String s : m.getProperty("processes", "").split(",")) {
            if (!s.isBlank()) {
                String[] f = s.split(":");
                procs.add(new int[]{Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2])});
            }
        }
        if (procs.isEmpty()) {
            throw new GhostException("checkpoint " + dir + " lists no process");
        }
        Map<Integer, byte[]> ghosts = new LinkedHashMap<>();
        for (int[] p : procs) {
            Path f = dir.resolve("process-" + p[0] + ".ghost");
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(f);
            } catch (NoSuchFileException e) {
                throw new GhostException("checkpoint " + dir + " lacks " + f.getFileName());
            } catch (IOException e) {
                throw new KerrighedException("cannot read " + f + ": " + e, e);
            }
            Ghost.Header h = epm.ghosts().check(bytes, bytes.length, "checkpoint file " + f);
            if (h.kind() != Ghost.CHECKPOINT || h.pid() != p[0]) {
                throw new GhostException("checkpoint file " + f + " holds another process (" + h.pid() + ")");
            }
            if (h.app() != null) {
                installJar(dir, h.app());
            }
            ghosts.put(p[0], bytes);
        }
        List<Integer> live = liveNodes(o.nodes());
        Map<Integer, Integer> pidMap = new HashMap<>();
        Map<Integer, Integer> nodeOf = new HashMap<>();          // by old pid
        int next = 0;
        for (int[] p : procs) {
            int node = live.contains(p[1]) ? p[1] : live.get(next++ % live.size());
            nodeOf.put(p[0], node);
            int pid = p[0];
            if (inUse(pid)) {
                if (!o.newPids()) {
                    throw new KerrighedException("cannot restart application " + app + " from " + dir + ": pid " + pid
                            + " is in use (restart with new pids to take others)");
                }
                pid = epm.table().newPid();
            }
            pidMap.put(p[0], pid);
        }
        Map<Long, Long> segMap = restoreSegments(dir, m);
        List<org.kerrighed.ipc.Pipe> pipes = new ArrayList<>();
        Map<Long, Long> pipeMap = restorePipes(dir, m, pipes);
        int rootParent = caller != null ? caller.pid : Pids.INIT;
        Remap remap = new Remap(pidMap, nodeOf, app, rootParent, self, segMap, pipeMap, false);
        List<Conversation> started = new ArrayList<>();
        boolean done = false;
        boolean starting = false;
        Child root = null;
        try {
            for (int[] p : procs) {
                byte[] g = ghosts.get(p[0]);
                Conversation c = rpc.openConversation(nodeOf.get(p[0]), EpmWire.RESTART,
                        new RestartOpen(p[0], g.length, remap));
                started.add(c);
                pieces.send(c, g, g.length);
            }
            step(started, MoveStep.PREPARED, -1);
            step(started, MoveStep.COMMITTED, MoveStep.COMMIT);
            root = epm.reaper().register(caller, pidMap.get(app), nodeOf.get(app));
            starting = true;
            step(started, MoveStep.STARTED, MoveStep.START);
            done = true;
            Map<Integer, Integer> nodes = new HashMap<>();
            nodeOf.forEach((old, n) -> nodes.put(pidMap.get(old), n));
            log.info("node {}: application {} restarted from {}: {} process(es) on node(s) {}", self, app, dir,
                    procs.size(), new java.util.TreeSet<>(nodes.values()));
            return new Restarted(new ClusterProcess(epm, pidMap.get(app), nodeOf.get(app), root), pidMap, nodes);
        } catch (RemoteException e) {
            throw ProcessErrors.fromRemote(e, "restart application " + app);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KerrighedException("restart of application " + app + ": a node did not answer in " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while restarting application " + app);
        } finally {
            for (Conversation c : started) {
                if (done) {
                    c.close();
                } else {
                    c.abort("restart abandoned");
                }
            }
            if (starting && !done) {
                if (killStarted(app, pidMap.values()).contains(pidMap.get(app))) {
                    awaitEnd(root, pidMap.get(app));
                }
                // The caller got no handle on the root: its record ends (a root that never started sends no exit
                // notice, and a parent waiting for any child would wait for it forever).
                epm.reaper().abandoned(root, ExitStatus.killed(Signal.KILL, "its restart was abandoned"));
            }
            pipes.forEach(org.kerrighed.ipc.Pipe::close);      // the processes hold their own ends by now
        }
    }

    /**
     * Installs on this node the JAR of application {@code app} that checkpoint {@code dir} carries, unless the node
     * holds it: the nodes that read the ghosts fetch it from here when the node named in the ghosts is gone. When the
     * checkpoint carries none (it was left out, or the checkpoint predates carried JARs) or its copy cannot be
     * installed (a warning), they fetch it from any live node that holds it.
     */
    private void installJar(Path dir, String app) {
        Applications apps = epm.applications();
        Path jar = dir.resolve(jarFile(Applications.checkId(app)));
        if (apps.has(app) || !Files.isRegularFile(jar)) {
            return;
        }
        try (java.io.InputStream in = Files.newInputStream(jar)) {
            apps.install(in, app);
        } catch (IOException | IllegalArgumentException e) {
            log.warn("node {}: the JAR of application {} carried by {} was not installed ({}): it is fetched from a"
                    + " live node that holds it", self, Applications.shortId(app), dir, e.toString());
        }
    }

    /**
     * A restart abandoned after START went out: the processes that started end (killed), so that none of the
     * application runs without the others. Best effort: a process whose node cannot be reached is left to its node,
     * which kills it when its conversation fails.
     */
    private Set<Integer> killStarted(int app, java.util.Collection<Integer> pids) {
        Set<Integer> killed = new HashSet<>();
        for (int pid : pids) {
            try {
                epm.kill(pid, Signal.KILL);
                killed.add(pid);
            } catch (RuntimeException e) {
                log.debug("node {}: process {} of abandoned restart of application {} not killed: {}", self, pid, app,
                        e.toString());
            }
        }
        return killed;
    }

    /**
     * Waits (at most a call timeout) for the exit notice of the killed root {@code pid} of an abandoned restart, so
     * that it ends this record rather than that of the next restart of the same pid. Stops early once no node lists
     * the process (a root installed but never started sends no notice) and no notice came for a moment.
     */
    private void awaitEnd(Child root, int pid) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long goneSince = -1;
        try {
            while (!root.exit().isDone() && System.nanoTime() < deadline) {
                if (epm.status(pid).isPresent()) {
                    goneSince = -1;
                } else if (goneSince < 0) {
                    goneSince = System.nanoTime();
                } else if (System.nanoTime() - goneSince > TimeUnit.MILLISECONDS.toNanos(300)) {
                    return;
                }
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.debug("node {}: the end of restarted process {} not awaited: {}", self, pid, e.toString());
        }
    }

    /** Makes a new pipe for each saved one, holding its saved bytes; old id to new id. */
    private Map<Long, Long> restorePipes(Path dir, Properties m, List<org.kerrighed.ipc.Pipe> made) {
        Map<Long, Long> map = new HashMap<>();
        for (String s : m.getProperty("pipes", "").split(",")) {
            if (s.isBlank()) {
                continue;
            }
            String[] f = s.split(":");
            long id = Long.parseLong(f[0]);
            Path file = dir.resolve("pipe-" + id + ".bin");
            try {
                org.kerrighed.ipc.Pipe p = epm.ipc().pipe(Integer.parseInt(f[1]), Files.readAllBytes(file));
                made.add(p);
                map.put(id, p.reader().handle().pipe());
            } catch (IOException e) {
                throw new GhostException("checkpoint file " + file + " cannot be read: " + e, e);
            }
        }
        return map;
    }

    // ------------------------------------------------------------------ distant fork

    /**
     * Starts a copy of {@code p} (on its thread) as child {@code pid} on {@code node}, through the restart protocol
     * with one ghost; {@code register} runs once the copy is installed, before it starts.
     */
    void fork(LocalProcess p, int pid, int node, Runnable register) {
        GhostCodec.Binding b = new GhostCodec.Binding(epm);
        GhostCodec.Sealed g = epm.ghosts().write(p, Ghost.FORK, p.forkState(), b);
        Remap r = new Remap(Map.of(p.pid, pid), Map.of(p.pid, node), p.pid, p.pid, self, Map.of(), Map.of(), true);
        Conversation c;
        try {
            c = rpc.openConversation(node, EpmWire.RESTART, new RestartOpen(p.pid, g.length(), r));
        } catch (KerrighedException e) {
            throw new KerrighedException("node " + node + " cannot be reached to fork process " + p.pid + ": "
                    + e.getMessage(), e);
        }
        boolean done = false;
        try {
            pieces.send(c, g.buf(), g.length());
            List<Conversation> one = List.of(c);
            step(one, MoveStep.PREPARED, -1);
            step(one, MoveStep.COMMITTED, MoveStep.COMMIT);
            register.run();
            step(one, MoveStep.STARTED, MoveStep.START);
            done = true;
        } catch (RemoteException e) {
            throw ProcessErrors.fromRemote(e, "fork process " + p.pid + " to node " + node);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KerrighedException("node " + node + " did not answer in " + timeout + " to fork process " + p.pid);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KerrighedException("interrupted while forking process " + p.pid);
        } finally {
            if (done) {
                c.close();
            } else {
                c.abort("fork abandoned");
            }
        }
    }

    /** Sends {@code send} (unless -1) on every conversation, then expects step {@code expect} from each. */
    private void step(List<Conversation> cs, int expect, int send)
            throws InterruptedException, java.util.concurrent.TimeoutException {
        if (send >= 0) {
            for (Conversation c : cs) {
                c.send(new MoveStep(send), timeout);
            }
        }
        for (Conversation c : cs) {
            Optional<Object> r = c.receive(timeout);
            if (r.isEmpty() || !(r.get() instanceof MoveStep s) || s.step() != expect) {
                throw new KerrighedException("node " + c.peer() + " broke the restart protocol (expected step " + expect
                        + ", got " + r.orElse("the end") + ")");
            }
        }
    }

    private boolean inUse(int pid) {
        return epm.isLocal(pid) || epm.table().hostOf(pid) >= 0 && epm.status(pid).isPresent();
    }

    private List<Integer> liveNodes(List<Integer> wanted) {
        List<Integer> live = new ArrayList<>();
        for (int n : epm.memberIds()) {
            if (wanted.isEmpty() || wanted.contains(n)) {
                live.add(n);
            }
        }
        for (int n : wanted) {
            if (!live.contains(n)) {
                throw new IllegalArgumentException("node " + n + " is not a live member of the cluster");
            }
        }
        return live;
    }

    /** Puts the saved segments back (into the same segment if it still exists, else a new one); old id to id. */
    private Map<Long, Long> restoreSegments(Path dir, Properties m) {
        Map<Long, Long> map = new HashMap<>();
        SharedMemory shm = epm.shm();
        for (String s : m.getProperty("segments", "").split(",")) {
            if (s.isBlank()) {
                continue;
            }
            String[] f = s.split(":");
            long id = Long.parseLong(f[0]);
            long key = Long.parseLong(f[1]);
            long size = Long.parseLong(f[2]);
            long now;
            try {
                shm.stat(id);
                now = id;
            } catch (org.kerrighed.mm.NoSuchSegmentException gone) {
                now = -1;
            }
            Path file = dir.resolve("segment-" + id + ".bin");
            if (now >= 0) {
                try {
                    fill(shm, now, file, size);
                    map.put(id, now);
                    continue;
                } catch (org.kerrighed.mm.PageLostException lost) {
                    log.info("node {}: segment {} lost pages with a node: restored into a new segment", self, id);
                    shm.remove(id);
                }
            }
            now = shm.open(key, size, SharedMemory.CREATE | Integer.parseInt(f[5]), Integer.parseInt(f[3]),
                    Integer.parseInt(f[4]));
            fill(shm, now, file, size);
            map.put(id, now);
        }
        return map;
    }

    /** Copies checkpoint file {@code file} ({@code size} bytes) into segment {@code id}. */
    private static void fill(SharedMemory shm, long id, Path file, long size) {
        {
            try (Segment seg = shm.attach(id); FileChannel in = FileChannel.open(file)) {
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(size, 1 << 20));
                long off = 0;
                while (off < size) {
                    buf.clear().limit((int) Math.min(buf.capacity(), size - off));
                    while (buf.hasRemaining() && in.read(buf) >= 0) {
                        // fill
                    }
                    buf.flip();
                    if (!buf.hasRemaining()) {
                        throw new GhostException("checkpoint file " + file + " is truncated");
                    }
                    int n = buf.remaining();
                    seg.copyFrom(off, buf);
                    off += n;
                }
            } catch (IOException e) {
                throw new GhostException("checkpoint file " + file + " cannot be read: " + e, e);
            }
        }
    }

    private static Properties readManifest(Path dir) {
        Path f = dir.resolve(MANIFEST);
        Properties m = new Properties();
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            m.load(r);
        } catch (NoSuchFileException e) {
            throw new GhostException(dir + " is not a checkpoint (no " + MANIFEST + ")");
        } catch (IOException | IllegalArgumentException e) {
            throw new GhostException("checkpoint manifest " + f + " cannot be read: " + e.getMessage(), e);
        }
        int format = intProp(m, "format", dir);
        if (format != FORMAT) {
            throw new GhostException("checkpoint " + dir + " has manifest format " + format + "; this node reads "
                    + FORMAT);
        }
        return m;
    }

    private static int intProp(Properties m, String name, Path dir) {
        try {
            return Integer.parseInt(m.getProperty(name, ""));
        } catch (NumberFormatException e) {
            throw new GhostException("checkpoint manifest in " + dir + " has no valid '" + name + "'");
        }
    }

    // ------------------------------------------------------------------ restart: a node that runs a process

    /** Rebuilds one process from its checkpoint ghost; installs it on COMMIT and starts it on START. */
    private void serveRestart(Conversation c, RestartOpen o) throws Exception {
        String source = "the checkpoint ghost of process " + o.oldPid() + " from node " + c.peer();
        byte[] buf = pieces.gather(c, o.length(), source);
        GhostCodec.Binding binding = new GhostCodec.Binding(epm, o.remap());
        LocalProcess p = null;
        boolean installed = false;
        boolean running = false;
        try {
            Ghost.Header h = epm.ghosts().check(buf, buf.length, source);
            if (h.kind() != Ghost.CHECKPOINT && h.kind() != Ghost.FORK) {
                throw new GhostException(source + " is not a checkpoint or distant fork ghost (kind " + h.kind() + ")");
            }
            p = epm.ghosts().readChecked(buf, h, source, binding);
            if (epm.isLocal(p.pid)) {
                throw new KerrighedException("process " + p.pid + " already runs on node " + self);
            }
            c.send(new MoveStep(MoveStep.PREPARED), timeout);
            expect(c, MoveStep.COMMIT);
            epm.installStopped(p);
            installed = true;
            c.send(new MoveStep(MoveStep.COMMITTED), timeout);
            expect(c, MoveStep.START);
            java.util.function.IntConsumer before = beforeStartForTests;
            if (before != null) {
                before.accept(p.pid);
            }
            epm.startThread(p);
            running = true;
            java.util.function.IntConsumer hook = afterStartForTests;
            if (hook != null) {
                hook.accept(p.pid);
            }
            c.send(new MoveStep(MoveStep.STARTED), timeout);
        } catch (Exception e) {
            if (running) {                                      // it runs: it ends as a killed process does
                log.warn("node {}: restarted process {} is killed: the restart was abandoned after it started ({})",
                        self, p.pid, e.toString());
                try {
                    epm.kill(p.pid, Signal.KILL);
                } catch (RuntimeException k) {
                    e.addSuppressed(k);
                }
                throw e;
            }
            if (installed) {
                epm.uninstall(p);
            }
            epm.ghosts().abandon(binding);
            throw e;
        }
    }

    private void expect(Conversation c, int step) throws Exception {
        Optional<Object> m = c.receive(timeout);
        if (m.isEmpty() || !(m.get() instanceof MoveStep s) || s.step() != step) {
            throw new KerrighedException("restart abandoned by node " + c.peer());
        }
    }

    // ------------------------------------------------------------------ files

    private static void syncTree(Path dir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
            }
        }
        fsyncDir(dir);
    }

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems do not sync directories; the files themselves are synced
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
