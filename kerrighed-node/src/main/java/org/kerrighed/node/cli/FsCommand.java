package org.kerrighed.node.cli;

import org.kerrighed.node.FsAdmin;
import org.kerrighed.node.FsCopy;
import org.kerrighed.rpc.RpcClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code krg fs}: the cluster file system through any node ({@link FsAdmin}'s services): list, print, copy in and
 * out, make directories, remove, and the storage and replication status. The node does the work with its own
 * credentials. A refusal of the file system (no such file, not a directory, already exists, permission denied) or a
 * node that cannot be reached exits with 1; bad arguments, and local files that cannot be read or written, with 2.
 */
@Command(name = "fs", mixinStandardHelpOptions = true,
        description = {"The cluster file system: ls, cat, put, get, rm, mkdir, status.",
                "PATH is a path of the cluster file system, from its root (a relative PATH is taken from /); LOCAL a"
                        + " file of this machine. The node the tool talks to does the work, with its own"
                        + " credentials (node.uid, node.gid)."},
        subcommands = {FsCommand.Ls.class, FsCommand.Cat.class, FsCommand.Put.class, FsCommand.Get.class,
                FsCommand.Rm.class, FsCommand.Mkdir.class, FsCommand.Status.class})
final class FsCommand {
    /** Pieces of a copy, and how many may be on their way unacknowledged. */
    static final int PIECE = FsAdmin.MAX_PIECE;
    static final int WINDOW = 8;

    private FsCommand() {
    }

    static Duration callTimeout(ToolOptions tool) {
        return tool.nodeConfig().toRpcConfig(-1).defaultCallTimeout();
    }

    /** The piece size: 1 MiB, or less when the tool's frame limit is small. */
    static int piece(ToolOptions tool) {
        return Math.max(1, Math.min(PIECE, tool.nodeConfig().toRpcConfig(-1).maxFrameBytes() / 4));
    }

    @Command(name = "ls", mixinStandardHelpOptions = true,
            description = {"Lists a directory's entries, or a file.",
                    "Names, one a line (a directory's with a trailing /); with -l a table: type, permissions,"
                            + " owner, group, size in bytes, replication (copies of each chunk; a directory's is the"
                            + " default of the files made in it, - for the file system's), modification time,"
                            + " name."})
    static final class Ls implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Parameters(index = "0", arity = "0..1", paramLabel = "PATH", defaultValue = "/",
                description = "a directory or a file (default: /)")
        String path;

        @Option(names = "-l", description = "a table with each entry's attributes")
        boolean longFormat;

        @Option(names = "--json", description = "print the path and every entry's attributes as JSON")
        boolean json;

        @Override
        public Integer call() {
            FsAdmin.Listing l;
            try (RpcClient c = tool.connect()) {
                l = FsAdmin.list(c, path, callTimeout(tool));
            }
            System.out.print(json ? Output.json(FsText.listingMap(l)) + "\n"
                    : longFormat ? FsText.table(l.entries()) : FsText.names(l.entries()));
            return 0;
        }
    }

    @Command(name = "cat", mixinStandardHelpOptions = true,
            description = {"Prints a file to standard output.",
                    "The bytes come in pieces of 1 MiB, at most 8 on their way at a time."})
    static final class Cat implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Parameters(index = "0", paramLabel = "PATH", description = "a file")
        String path;

        @Override
        public Integer call() throws Exception {
            try (RpcClient c = tool.connect()) {
                FsCopy.read(c, path, stdout(), piece(tool), WINDOW, callTimeout(tool), e -> { }, b -> { });
            }
            return 0;
        }

        /** {@code System.out}, failing as soon as it does (a closed pipe) rather than going on silently. */
        private static OutputStream stdout() {
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[]{(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    System.out.write(b, off, len);
                    if (System.out.checkError()) {
                        throw new IOException("standard output is closed");
                    }
                }
            };
        }
    }

    /** What {@code put} and {@code get} share: overwriting, progress and the summary. */
    abstract static class Copy implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = {"-f", "--force"}, description = "replace the target when it exists")
        boolean force;

        @Option(names = {"-q", "--quiet"}, description = "no progress lines on stderr")
        boolean quiet;

        @Option(names = "--json", description = "print the summary as JSON")
        boolean json;

        /** Prints the summary of a copy of {@code bytes} from {@code from} to {@code to}. */
        void summary(String verb, String from, String to, long bytes, long nanos, Map<String, Object> extra) {
            double seconds = nanos / 1e9;
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("from", from);
                m.put("to", to);
                m.put("bytes", bytes);
                m.put("seconds", Math.round(seconds * 1000) / 1000.0);
                m.put("mbPerSecond", Math.round(FsText.mbPerSecond(bytes, nanos) * 10) / 10.0);
                m.putAll(extra);
                System.out.println(Output.json(m));
            } else {
                StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%s %s -> %s: %s in %.1f s (%.1f MB/s)",
                        verb, from, to, FsText.bytes(bytes), seconds, FsText.mbPerSecond(bytes, nanos)));
                extra.forEach((k, v) -> b.append(", ").append(k).append(' ').append(v));
                System.out.println(b);
            }
        }
    }

    @Command(name = "put", mixinStandardHelpOptions = true,
            description = {"Copies a local file into the cluster file system.",
                    "When PATH is a directory the file goes into it under LOCAL's name. The bytes go in pieces of"
                            + " 1 MiB, at most 8 on their way at a time, into a hidden file next to the target that is"
                            + " renamed to PATH once whole: a failed copy leaves PATH as it was.",
                    "Progress on stderr every second for copies that last longer; a summary line at the end."})
    static final class Put extends Copy {
        @Parameters(index = "0", paramLabel = "LOCAL", description = "a file of this machine")
        Path local;

        @Parameters(index = "1", paramLabel = "PATH", description = "the target file, or a directory")
        String path;

        @Option(names = "--replication", paramLabel = "N",
                description = "copies of each chunk, 1-8 (default: the directory's default, else the file system's)")
        Integer replication;

        @Override
        public Integer call() throws Exception {
            if (replication != null && (replication < 1 || replication > 8)) {
                throw new IllegalArgumentException("--replication: must be in 1-8, got " + replication);
            }
            if (!Files.isRegularFile(local)) {
                throw new IllegalArgumentException("LOCAL: " + (Files.exists(local) ? "not a regular file: "
                        : "no such file: ") + local);
            }
            long size = Files.size(local);
            FsAdmin.WriteRequest r = new FsAdmin.WriteRequest(path, local.getFileName().toString(), size,
                    replication == null ? 0 : replication, force, piece(tool), WINDOW);
            Progress progress;
            FsAdmin.Listing stored;
            try (RpcClient c = tool.connect(); InputStream in = Files.newInputStream(local)) {
                progress = new Progress("put " + local + " -> " + path, size, quiet);
                stored = FsCopy.write(c, r, in, callTimeout(tool), progress::at);
            }
            summary("put", local.toString(), stored.path(), stored.entries().getFirst().size(), progress.elapsed(),
                    Map.of("replication", stored.entries().getFirst().replication()));
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true,
            description = {"Copies a file of the cluster file system to a local file.",
                    "When LOCAL is a directory the file goes into it under PATH's name. The bytes come in pieces of"
                            + " 1 MiB into a temporary file next to LOCAL, renamed to LOCAL once whole: a failed or"
                            + " interrupted copy leaves nothing behind.",
                    "Progress on stderr every second for copies that last longer; a summary line at the end."})
    static final class Get extends Copy {
        @Parameters(index = "0", paramLabel = "PATH", description = "a file of the cluster file system")
        String path;

        @Parameters(index = "1", paramLabel = "LOCAL", description = "the local file, or a directory")
        Path local;

        @Override
        public Integer call() throws Exception {
            Path target = Files.isDirectory(local) ? local.resolve(FsText.lastName(path)) : local;
            if (Files.isDirectory(target)) {
                throw new IllegalArgumentException("LOCAL: " + target + " is a directory");
            }
            if (Files.exists(target) && !force) {
                throw new IllegalArgumentException("LOCAL: " + target + " exists (--force replaces it)");
            }
            Path dir = target.toAbsolutePath().getParent();
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("LOCAL: no such directory: " + dir);
            }
            Path temp;
            try {
                temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".krg-get");
            } catch (IOException e) {
                throw new IllegalArgumentException("LOCAL: cannot write in " + dir + ": " + e.getMessage());
            }
            boolean done = false;
            Thread interrupted = new Thread(() -> deleteQuietly(temp));      // Ctrl-C: no finally runs
            Runtime.getRuntime().addShutdownHook(interrupted);
            try {
                long bytes;
                Progress progress;
                try (RpcClient c = tool.connect(); OutputStream out = Files.newOutputStream(temp)) {
                    progress = new Progress("get " + path + " -> " + target, -1, quiet);
                    bytes = FsCopy.read(c, path, out, piece(tool), WINDOW, callTimeout(tool),
                            e -> progress.total(e.size()), progress::at);
                }
                if (force) {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                } else {
                    try {
                        Files.move(temp, target);
                    } catch (FileAlreadyExistsException e) {
                        throw new IllegalArgumentException("LOCAL: " + target + " exists (--force replaces it)");
                    }
                }
                done = true;
                summary("get", path, target.toString(), bytes, progress.elapsed(), Map.of());
            } finally {
                if (!done) {
                    Files.deleteIfExists(temp);
                }
                try {
                    Runtime.getRuntime().removeShutdownHook(interrupted);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs
                }
            }
            return 0;
        }

        private static void deleteQuietly(Path temp) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                // the JVM is exiting: nothing else to do
            }
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = {"Removes a file, or an empty directory.",
                    "With -r a directory with everything in it. Prints nothing."})
    static final class Rm implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Parameters(index = "0", paramLabel = "PATH", description = "a file or a directory")
        String path;

        @Option(names = {"-r", "-R", "--recursive"}, description = "remove a directory and its contents")
        boolean recursive;

        @Override
        public Integer call() {
            try (RpcClient c = tool.connect()) {
                FsAdmin.remove(c, path, recursive, callTimeout(tool));
            }
            return 0;
        }
    }

    @Command(name = "mkdir", mixinStandardHelpOptions = true,
            description = {"Makes a directory.",
                    "With -p also its missing parents, and no error when it exists. Prints nothing."})
    static final class Mkdir implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Parameters(index = "0", paramLabel = "PATH", description = "the directory")
        String path;

        @Option(names = {"-p", "--parents"}, description = "make missing parents; no error when it exists")
        boolean parents;

        @Override
        public Integer call() {
            try (RpcClient c = tool.connect()) {
                FsAdmin.mkdir(c, path, parents, callTimeout(tool));
            }
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Shows every node's storage and the chunks' replication.",
                    "Per node: bytes of chunks stored, its quota, the free space of its disk, chunks stored. Then"
                            + " the totals: files, directories, chunks, chunks with fewer copies than their file"
                            + " asks for (under-replicated), chunks with no copy left (lost), the chunks and bytes"
                            + " repair copied since the node started, and whether a repair runs now."})
    static final class Status implements Callable<Integer> {
        @Mixin
        ToolOptions tool;

        @Option(names = "--json", description = "print the status as JSON (exact bytes)")
        boolean json;

        @Override
        public Integer call() {
            FsAdmin.Status s;
            try (RpcClient c = tool.connect()) {
                s = FsAdmin.status(c, callTimeout(tool));
            }
            System.out.print(json ? Output.json(FsText.statusMap(s)) + "\n" : FsText.status(s));
            return 0;
        }
    }

    /**
     * Progress lines of a copy on stderr ({@code [   2.0s] WHAT: 12.6 MB of 104.9 MB (12%), 6.3 MB/s}), at most one a
     * second, the first after a second: a short copy prints none. The clock starts once the tool is connected.
     */
    static final class Progress {
        private final String what;
        private final boolean quiet;
        private final long start = System.nanoTime();
        private long total;
        private long last = start;

        Progress(String what, long total, boolean quiet) {
            this.what = what;
            this.total = total;
            this.quiet = quiet;
        }

        void total(long bytes) {
            total = bytes;
        }

        /** {@code bytes} are copied. */
        void at(long bytes) {
            long now = System.nanoTime();
            if (quiet || now - last < 1_000_000_000L) {
                return;
            }
            last = now;
            String of = total > 0 ? String.format(Locale.ROOT, " of %s (%d%%)", FsText.bytes(total),
                    Math.min(100, bytes * 100 / total)) : "";
            System.err.printf(Locale.ROOT, "[%6.1fs] %s: %s%s, %.1f MB/s%n", (now - start) / 1e9, what,
                    FsText.bytes(bytes), of, FsText.mbPerSecond(bytes, now - start));
            System.err.flush();
        }

        long elapsed() {
            return System.nanoTime() - start;
        }
    }
}
