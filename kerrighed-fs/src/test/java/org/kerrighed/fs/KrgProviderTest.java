package org.kerrighed.fs;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.kerrighed.kddm.testing.KddmCluster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.spi.FileSystemProvider;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What only the krg provider has: its URIs and registry, bad input, closed file systems, the read-only /proc tree,
 * the krg attribute view, what it does not support; and its path syntax and globs compared with the default file
 * system's on tables of inputs. A 2-node cluster for the class (a test that closes file systems starts its own).
 */
class KrgProviderTest {
    static final Map<Integer, ClusterFs> FSS = new ConcurrentHashMap<>();
    static final Map<String, String> PROC = new ConcurrentHashMap<>(Map.of("loadavg", "0.50 0.40 0.30\n",
            "nodes/0/loadavg", "0.1\n"));
    static KddmCluster cluster;
    static String name;

    static ProcSource proc() {
        return new ProcSource() {
            @Override
            public List<String> list(String dir) {
                return switch (dir) {
                    case "" -> List.of("loadavg", "nodes");
                    case "nodes" -> List.of("0");
                    case "nodes/0" -> List.of("loadavg");
                    default -> null;
                };
            }

            @Override
            public String read(String file) {
                return PROC.get(file);
            }
        };
    }

    @BeforeAll
    static void startCluster() {
        cluster = new KddmCluster(2, List.of(k -> {
            ClusterFs fs = ClusterFs.start(k, FsConfig.defaults().withChunkSize(64 << 10));
            fs.setProcSource(proc());
            FSS.put(k.nodeId(), fs);
        }), ClusterFs.types());
        name = FSS.get(0).fileSystem().clusterName();
    }

    @AfterAll
    static void stopCluster() {
        FSS.values().forEach(ClusterFs::close);
        FSS.clear();
        if (cluster != null) {
            cluster.close();
        }
    }

    static KrgFileSystem fs(int node) {
        return FSS.get(node).fileSystem();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    // ---- URIs and the registry

    @Test
    void installedAndFoundByUri() throws IOException {
        assertTrue(FileSystemProvider.installedProviders().contains(KrgFileSystemProvider.instance()));
        assertEquals("krg", KrgFileSystemProvider.instance().getScheme());
        assertSame(fs(0), FileSystems.getFileSystem(URI.create("krg://" + name + "/")));
        assertSame(fs(1), FileSystems.getFileSystem(URI.create("krg://1@" + name + "/ignored")));
        assertSame(fs(0), KrgFileSystemProvider.instance().getFileSystem(URI.create("KRG://0@" + name)));
        Path p = Path.of(URI.create("krg://1@" + name + "/uri/a%20b"));
        assertSame(fs(1), p.getFileSystem());
        assertEquals("/uri/a b", p.toString());
        Files.createDirectories(p.getParent());
        Files.writeString(p, "via uri");
        Path weird = fs(0).getPath("/uri/x#y?z %");
        Files.writeString(weird, "weird");
        URI u = weird.toUri();
        assertEquals("krg", u.getScheme());
        assertEquals(name, u.getAuthority());
        assertEquals(weird, Path.of(u));
        assertEquals("via uri", Files.readString(Path.of(URI.create("krg://" + name + "/uri/a%20b"))));
        assertEquals(URI.create("krg://" + name + "/rel"), fs(1).getPath("rel").toUri());
    }

    @Test
    void badUrisAreRejected() {
        KrgFileSystemProvider p = KrgFileSystemProvider.instance();
        for (String bad : List.of("file:///x", "krg:/x", "krg:x", "krg:///x", "krg://" + name + "/x?q=1",
                "krg://" + name + "/x#f", "krg://abc@" + name + "/x", "krg://@" + name + "/x", "krg://-1@" + name,
                "krg://1@/x", "krg://01@" + name + "/x")) {
            URI u = URI.create(bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.getPath(u), bad);
            assertTrue(e.getMessage().contains(bad), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.getFileSystem(u), bad);
            assertThrows(IllegalArgumentException.class, () -> p.newFileSystem(u, Map.of()), bad);
        }
        assertThrows(FileSystemNotFoundException.class, () -> Path.of(URI.create("krg://no-such-cluster/x")));
        assertThrows(FileSystemNotFoundException.class, () -> Path.of(URI.create("krg://7@" + name + "/x")));
        assertThrows(InvalidPathException.class, () -> Path.of(URI.create("krg://" + name + "/a%00b")));
    }

    @Test
    void newFileSystemCannotOpenOne() {
        assertThrows(FileSystemAlreadyExistsException.class,
                () -> FileSystems.newFileSystem(URI.create("krg://" + name + "/"), Map.of()));
        assertThrows(FileSystemAlreadyExistsException.class,
                () -> FileSystems.newFileSystem(URI.create("krg://1@" + name + "/"), Map.of()));
        FileSystemNotFoundException e = assertThrows(FileSystemNotFoundException.class,
                () -> FileSystems.newFileSystem(URI.create("krg://elsewhere/"), Map.of()));
        assertTrue(e.getMessage().contains("Node of the cluster must be started"), e.getMessage());
    }

    // ---- bad input

    @Test
    void nulInNamesIsRejected() {
        assertThrows(InvalidPathException.class, () -> fs(0).getPath("a\0b"));
        assertThrows(InvalidPathException.class, () -> fs(0).getPath("/a", "b\0"));
        assertThrows(InvalidPathException.class, () -> fs(0).getPath("/a").resolve("\0"));
        assertThrows(InvalidPathException.class, () -> fs(0).getPath("/a").resolveSibling("x\0"));
    }

    @Test
    void dotDotNeverEscapesTheRoot() throws IOException {
        Path escape = fs(0).getPath("/../../escape.txt");
        Files.writeString(escape, "inside");
        assertEquals("inside", Files.readString(fs(1).getPath("/escape.txt")));
        assertEquals(fs(0).getPath("/"), fs(0).getPath("/..").normalize());
        assertEquals(fs(0).getPath("/"), fs(0).getPath("/../..").toRealPath());
        assertEquals("/escape.txt", fs(1).getPath("../escape.txt").toRealPath().toString());
        try (var a = Files.list(fs(0).getPath("/..")); var b = Files.list(fs(0).getPath("/"))) {
            assertEquals(b.map(Path::getFileName).toList(), a.map(Path::getFileName).toList());
        }
        assertTrue(Files.isSameFile(fs(0).getPath("/"), fs(1).getPath("/../..")));
        Files.delete(fs(1).getPath("../../escape.txt"));
    }

    @Test
    void foreignPathsAreRefusedOrCopiedByStreams() throws IOException {
        Path mine = fs(0).getPath("/foreign");
        Files.writeString(mine, "krg bytes");
        Path other = Files.createTempFile("krg-foreign", ".txt");
        try {
            assertThrows(ProviderMismatchException.class, () -> mine.resolve(other));
            assertThrows(ProviderMismatchException.class, () -> mine.relativize(other));
            assertThrows(ProviderMismatchException.class, () -> fs(0).provider().delete(other));
            assertFalse(Files.isSameFile(mine, other));
            Files.copy(mine, other, StandardCopyOption.REPLACE_EXISTING);
            assertEquals("krg bytes", Files.readString(other));
            Files.writeString(other, "local bytes");
            Files.copy(other, mine, StandardCopyOption.REPLACE_EXISTING);
            assertEquals("local bytes", Files.readString(fs(1).getPath("/foreign")));
        } finally {
            Files.deleteIfExists(other);
        }
    }

    @Test
    void closedFileSystemRefusesEverything() throws Exception {
        Map<Integer, ClusterFs> own = new ConcurrentHashMap<>();
        KddmCluster c = new KddmCluster(2, List.of(k -> own.put(k.nodeId(), ClusterFs.start(k, FsConfig.defaults()))),
                ClusterFs.types());
        try {
            KrgFileSystem fs = own.get(1).fileSystem();
            String cluster = fs.clusterName();
            Path f = fs.getPath("/f");
            Files.writeString(f, "x");
            FileChannel ch = FileChannel.open(f, READ, WRITE);
            DirectoryStream<Path> ds = Files.newDirectoryStream(fs.getPath("/"));
            var out = Files.newOutputStream(fs.getPath("/g"));
            fs.close();
            fs.close();
            assertFalse(fs.isOpen());
            assertFalse(ch.isOpen());
            assertThrows(ClosedChannelException.class, ch::size);
            assertThrows(ClosedChannelException.class, () -> ch.write(ByteBuffer.wrap(ascii("y"))));
            assertThrows(ClosedChannelException.class, () -> out.write(1));
            assertThrows(IllegalStateException.class, ds::iterator);
            List<Executable> ops = List.of(
                    () -> Files.readAllBytes(f), () -> Files.writeString(f, "y"), () -> Files.newByteChannel(f),
                    () -> Files.exists(f), () -> Files.size(f), () -> Files.list(f.getParent()),
                    () -> Files.readAttributes(f, BasicFileAttributes.class), () -> Files.readAttributes(f, "*"),
                    () -> Files.getLastModifiedTime(f), () -> Files.setLastModifiedTime(f, FileTime.fromMillis(0)),
                    () -> Files.getPosixFilePermissions(f), () -> Files.getOwner(f),
                    () -> Files.createDirectory(fs.getPath("/d")), () -> Files.delete(f),
                    () -> Files.copy(f, fs.getPath("/h")), () -> Files.move(f, fs.getPath("/h")),
                    () -> Files.isSameFile(f, fs.getPath("/h")), () -> Files.getFileStore(f),
                    () -> f.toRealPath(), () -> fs.getPath("/x"), () -> fs.getRootDirectories(),
                    () -> fs.getFileStores(), () -> fs.getPathMatcher("glob:*"),
                    () -> fs.getUserPrincipalLookupService(), fs::newWatchService,
                    () -> Files.getAttribute(f, "krg:replication"));
            for (int i = 0; i < ops.size(); i++) {
                assertThrows(ClosedFileSystemException.class, ops.get(i), "operation " + i);
            }
            assertEquals("f", f.getFileName().toString());                 // syntax still works
            assertEquals(URI.create("krg://" + cluster + "/f"), f.toUri());
            assertThrows(FileSystemNotFoundException.class,
                    () -> FileSystems.getFileSystem(URI.create("krg://1@" + cluster + "/")));
            assertSame(own.get(0).fileSystem(), FileSystems.getFileSystem(URI.create("krg://" + cluster + "/")));
            assertEquals("x", Files.readString(Path.of(URI.create("krg://" + cluster + "/f"))));
            own.get(0).fileSystem().close();
            assertThrows(FileSystemNotFoundException.class,
                    () -> FileSystems.getFileSystem(URI.create("krg://" + cluster + "/")));
            assertThrows(FileSystemNotFoundException.class,
                    () -> FileSystems.newFileSystem(URI.create("krg://" + cluster + "/"), Map.of()));
        } finally {
            own.values().forEach(ClusterFs::close);
            c.close();
        }
    }

    // ---- /proc

    @Test
    void procIsReadableAndNeverWritable() throws IOException {
        Path load = fs(1).getPath("/proc/loadavg");
        assertEquals("0.50 0.40 0.30\n", Files.readString(load));
        assertEquals("0.1\n", Files.readString(fs(0).getPath("/proc/nodes/0/loadavg")));
        try (FileChannel ch = FileChannel.open(load, READ)) {
            PROC.put("loadavg", "9.99 9.99 9.99 and longer\n");
            assertEquals(15, ch.size());                                     // the snapshot taken at open
            ByteBuffer b = ByteBuffer.allocate(4);
            assertEquals(4, ch.read(b, 5));
            assertEquals("0.40", new String(b.array(), StandardCharsets.US_ASCII));
            assertEquals(0, ch.position());
            assertThrows(java.nio.channels.NonWritableChannelException.class,
                    () -> ch.write(ByteBuffer.wrap(ascii("x"))));
        } finally {
            PROC.put("loadavg", "0.50 0.40 0.30\n");
        }
        try (var s = Files.list(fs(0).getPath("/proc"))) {
            assertEquals(List.of("loadavg", "nodes"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertTrue(Files.isDirectory(fs(0).getPath("/proc/nodes")));
        assertEquals(Set.of("r--r--r--"), Set.of(PosixFilePermissions.toString(Files.getPosixFilePermissions(load))));
        assertTrue(Files.isReadable(load));
        assertFalse(Files.isWritable(load));
        assertThrows(AccessDeniedException.class, () -> load.getFileSystem().provider().checkAccess(load,
                AccessMode.WRITE));
        assertThrows(NoSuchFileException.class, () -> Files.readString(fs(0).getPath("/proc/nope")));
        assertThrows(FileSystemException.class, () -> Files.readAllBytes(fs(0).getPath("/proc/nodes")));
        List<Executable> writes = List.of(
                () -> Files.writeString(load, "x"), () -> Files.newByteChannel(load, WRITE),
                () -> Files.newByteChannel(load, APPEND), () -> Files.newOutputStream(load, APPEND),
                () -> Files.newByteChannel(fs(0).getPath("/proc/new"), WRITE, CREATE),
                () -> Files.delete(load), () -> Files.createDirectory(fs(0).getPath("/proc/d")),
                () -> Files.move(load, fs(0).getPath("/stolen")),
                () -> {
                    Path f = fs(0).getPath("/into-proc");
                    Files.writeString(f, "x");
                    Files.move(f, fs(0).getPath("/proc/x"));
                },
                () -> Files.copy(load, fs(0).getPath("/proc/copy")),
                () -> Files.setLastModifiedTime(load, FileTime.fromMillis(0)),
                () -> Files.setPosixFilePermissions(load, PosixFilePermissions.fromString("rw-rw-rw-")),
                () -> Files.setAttribute(load, "krg:replication", 2));
        for (int i = 0; i < writes.size(); i++) {
            assertThrows(AccessDeniedException.class, writes.get(i), "write " + i);
        }
        assertEquals("0.50 0.40 0.30\n", Files.readString(load));
        Files.deleteIfExists(fs(0).getPath("/into-proc"));
    }

    // ---- what only krg has, or has not

    @Test
    void replicationAttribute() throws IOException {
        Path d = Files.createDirectories(fs(0).getPath("/repl"));
        Path f = d.resolve("f");
        Files.write(f, new byte[100_000]);
        assertInstanceOf(Integer.class, Files.getAttribute(fs(1).getPath("/repl/f"), "krg:replication"));
        Files.setAttribute(f, "krg:replication", 1);
        assertEquals(1, Files.getAttribute(fs(1).getPath("/repl/f"), "krg:replication"));
        KrgFileAttributeView v = Files.getFileAttributeView(f, KrgFileAttributeView.class);
        assertEquals("krg", v.name());
        v.setReplication(2);
        assertEquals(2, v.replication());
        assertEquals(Map.of("replication", 2), Files.readAttributes(f, "krg:*"));
        Files.setAttribute(d, "krg:replication", 1);
        assertEquals(1, Files.getAttribute(d, "krg:replication"));
        assertThrows(IllegalArgumentException.class, () -> Files.setAttribute(f, "krg:replication", 0));
        assertThrows(IllegalArgumentException.class, () -> Files.getAttribute(f, "krg:nope"));
        assertThrows(ClassCastException.class, () -> Files.setAttribute(f, "krg:replication", "2"));
        assertTrue(fs(0).supportedFileAttributeViews().contains("krg"));
        assertTrue(Files.getFileStore(f).supportsFileAttributeView(KrgFileAttributeView.class));
    }

    @Test
    void creationTimeFileKeyAndPrincipals() throws IOException {
        Path f = fs(0).getPath("/ctime");
        Files.writeString(f, "x");
        FileTime t = FileTime.from(Instant.parse("2019-09-09T09:09:09.123456Z"));
        Files.setAttribute(f, "creationTime", t);
        assertEquals(t, Files.readAttributes(fs(1).getPath("/ctime"), BasicFileAttributes.class).creationTime());
        Object key = Files.readAttributes(f, BasicFileAttributes.class).fileKey();
        assertInstanceOf(Long.class, key);
        var lookup = fs(0).getUserPrincipalLookupService();
        assertEquals("1000", lookup.lookupPrincipalByName("1000").getName());
        assertEquals("5", lookup.lookupPrincipalByGroupName("5").getName());
        for (String bad : List.of("root", "-1", "01", "", "1e3")) {
            assertThrows(java.nio.file.attribute.UserPrincipalNotFoundException.class,
                    () -> lookup.lookupPrincipalByName(bad), bad);
        }
        Files.setOwner(f, lookup.lookupPrincipalByName("1000"));
        assertEquals("1000", Files.getOwner(fs(1).getPath("/ctime")).getName());
        assertThrows(ProviderMismatchException.class, () -> Files.setOwner(f,
                FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("root")));
    }

    @Test
    void directoryStreamIsASnapshot() throws IOException {
        Path d = Files.createDirectories(fs(0).getPath("/snap"));
        Files.writeString(d.resolve("before"), "b");
        try (DirectoryStream<Path> s = Files.newDirectoryStream(fs(1).getPath("/snap"))) {
            Files.writeString(d.resolve("after"), "a");
            List<String> seen = new ArrayList<>();
            s.forEach(p -> seen.add(p.getFileName().toString()));
            assertEquals(List.of("before"), seen);
        }
    }

    /** A read or write of a channel whose file was deleted fails naming the channel's path, not an inode. */
    @Test
    void errorsOfAnOpenChannelNameItsPath() throws IOException {
        Path p = fs(0).getPath("/gone-while-open");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap(new byte[]{1, 2, 3}));
            Files.delete(fs(1).getPath("/gone-while-open"));
            NoSuchFileException e = assertThrows(NoSuchFileException.class,
                    () -> ch.write(ByteBuffer.wrap(new byte[]{4})));
            assertEquals("/gone-while-open", e.getFile(), e.toString());
            e = assertThrows(NoSuchFileException.class, () -> ch.read(ByteBuffer.allocate(4), 0));
            assertEquals("/gone-while-open", e.getFile(), e.toString());
        }
    }

    @Test
    void unsupportedFeatures() throws IOException {
        Path f = fs(0).getPath("/unsupported");
        Files.writeString(f, "x");
        Path link = fs(0).getPath("/link");
        assertThrows(UnsupportedOperationException.class, () -> Files.createSymbolicLink(link, f));
        assertThrows(UnsupportedOperationException.class, () -> Files.createLink(link, f));
        assertThrows(UnsupportedOperationException.class, () -> Files.readSymbolicLink(f));
        assertThrows(UnsupportedOperationException.class, fs(0)::newWatchService);
        assertThrows(UnsupportedOperationException.class, f::toFile);
        assertThrows(UnsupportedOperationException.class, () -> f.register(null));
        try (FileChannel ch = FileChannel.open(f, READ, WRITE)) {
            assertThrows(UnsupportedOperationException.class, () -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1));
            assertThrows(UnsupportedOperationException.class, ch::lock);
            assertThrows(UnsupportedOperationException.class, ch::tryLock);
        }
        assertFalse(Files.isSymbolicLink(f));
        assertEquals(f, f.toRealPath(java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void concurrentAppendsFromTwoNodesKeepEveryRecordWhole() throws Exception {
        Path f = fs(0).getPath("/appends");
        Files.createFile(f);
        int perWriter = 40;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int writer = w;
                done.add(pool.submit(() -> {
                    try (FileChannel ch = FileChannel.open(fs(writer % 2).getPath("/appends"), WRITE, APPEND)) {
                        for (int i = 0; i < perWriter; i++) {
                            ch.write(ByteBuffer.wrap(ascii(String.format("writer %d record %03d%n", writer, i))));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> d : done) {
                d.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<String> lines = Files.readAllLines(fs(1).getPath("/appends"));
        assertEquals(4 * perWriter, lines.size());
        assertEquals(4 * perWriter, new HashSet<>(lines).size());
        for (String l : lines) {
            assertTrue(l.matches("writer [0-3] record \\d{3}"), l);
        }
    }

    @Test
    void transferToAnotherProvidersChannel() throws IOException {
        Path f = fs(0).getPath("/transfer");
        byte[] data = new byte[200_000];
        new java.util.Random(9).nextBytes(data);
        Files.write(f, data);
        Path local = Files.createTempFile("krg-transfer", ".bin");
        try (FileChannel in = FileChannel.open(fs(1).getPath("/transfer"), READ);
             FileChannel out = FileChannel.open(local, WRITE)) {
            assertEquals(data.length, in.transferTo(0, Long.MAX_VALUE, out));
            assertArrayEquals(data, Files.readAllBytes(local));
            try (FileChannel back = FileChannel.open(fs(0).getPath("/transfer-back"), WRITE, CREATE);
                 FileChannel src = FileChannel.open(local, READ)) {
                assertEquals(data.length, back.transferFrom(src, 0, Long.MAX_VALUE));
            }
            assertArrayEquals(data, Files.readAllBytes(fs(1).getPath("/transfer-back")));
        } finally {
            Files.deleteIfExists(local);
        }
    }

    // ---- syntax compared with the default file system

    private static final List<String> PATHS = List.of("", "/", "a", "/a", "a/b", "/a/b/", "//a//b", ".", "..",
            "/..", "a/./b", "a/../b", "../a", "/a/../..", "a/b/../../..", ".hidden/x", "a b/c", "./a/b/.", "/../a",
            "a/b/c", "/a/b/c/d", "b", "b/c");

    private static String outcome(Callable<?> c) {
        try {
            Object o = c.call();
            return "= " + (o instanceof Iterable<?> it ? names(it) : String.valueOf(o));
        } catch (Exception e) {
            return "! " + e.getClass().getSimpleName();
        }
    }

    private static List<String> names(Iterable<?> it) {
        List<String> l = new ArrayList<>();
        it.forEach(x -> l.add(String.valueOf(x)));
        return l;
    }

    private static List<String> describe(Function<String, Path> of) {
        List<String> out = new ArrayList<>();
        for (String s : PATHS) {
            Path p = of.apply(s);
            out.add(s + " toString " + outcome(p::toString));
            out.add(s + " isAbsolute " + outcome(p::isAbsolute));
            out.add(s + " names " + outcome(() -> p));
            out.add(s + " count " + outcome(p::getNameCount));
            out.add(s + " fileName " + outcome(p::getFileName));
            out.add(s + " parent " + outcome(p::getParent));
            out.add(s + " root " + outcome(p::getRoot));
            out.add(s + " normalize " + outcome(p::normalize));
            if (p.isAbsolute()) {
                out.add(s + " absolute " + outcome(p::toAbsolutePath));
            }
            for (int i = -1; i <= p.getNameCount(); i++) {
                int b = i;
                out.add(s + " name " + i + " " + outcome(() -> p.getName(b)));
                for (int j = i; j <= p.getNameCount() + 1; j++) {
                    int e = j;
                    out.add(s + " subpath " + i + " " + j + " " + outcome(() -> p.subpath(b, e)));
                }
            }
            for (String t : PATHS) {
                Path q = of.apply(t);
                out.add(s + " startsWith " + t + " " + outcome(() -> p.startsWith(q)));
                out.add(s + " endsWith " + t + " " + outcome(() -> p.endsWith(q)));
                out.add(s + " resolve " + t + " " + outcome(() -> p.resolve(q)));
                out.add(s + " resolveSibling " + t + " " + outcome(() -> p.resolveSibling(q)));
                out.add(s + " relativize " + t + " " + outcome(() -> p.relativize(q)));
                out.add(s + " compareTo " + t + " " + outcome(() -> Integer.signum(p.compareTo(q))));
                out.add(s + " equals " + t + " " + outcome(() -> p.equals(q)));
            }
        }
        return out;
    }

    @Test
    void pathSyntaxIsTheDefaultFileSystems() {
        FileSystem krg = fs(0);
        List<String> expected = describe(Path::of);
        List<String> actual = describe(krg::getPath);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i));
        }
    }

    @Test
    void globsAreTheDefaultFileSystems() {
        List<String> globs = List.of("*", "**", "*.java", "**/*.java", "**.java", "?", "a?c", "[abc]", "[!abc]",
                "[a-c]x", "[^a]", "[-a]", "[a-]", "[!-a]", "{a,b,c}", "{*.c,*.h}", "{}", "a{,b}", "\\*", "\\\\",
                "a\\{b", "a\\b", "a.b", "a+b", "(a)", "a|b", "a$", "^a", "[a&&b]", "[&&]", "[[]", "[\\]", "[a",
                "{a", "{a,{b}}", "a\\", "[/]", "[z-a]", "[a-c-e]", "x}y", "x,y", "ü*", "/a/*", "*/", "[!]]",
                "a/**/b", "**/");
        List<String> paths = List.of("", "a", "b", "c", "abc", "a.java", "x/a.java", "/x/y/a.java", "ax", "bx", "dx",
                "^", "-", "a/b", "a/x/b", "*", "\\", "a{b", "ab", "a.b", "a+b", "(a)", "a|b", "a$", "^a", "&", "[",
                "x}y", "x,y", "über", "ac", "a.c", "b.h", "{}", "&&", "/a/b", "/a/b/c", "]", "d");
        FileSystem krg = fs(0);
        FileSystem def = FileSystems.getDefault();
        for (String g : globs) {
            String expected = outcome(() -> {
                var m = def.getPathMatcher("glob:" + g);
                return paths.stream().map(p -> m.matches(Path.of(p))).toList();
            });
            String actual = outcome(() -> {
                var m = krg.getPathMatcher("glob:" + g);
                return paths.stream().map(p -> m.matches(krg.getPath(p))).toList();
            });
            assertEquals(expected, actual, "glob " + g);
        }
        assertEquals(outcome(() -> def.getPathMatcher("GLOB:*.c").matches(Path.of("x.c"))),
                outcome(() -> krg.getPathMatcher("GLOB:*.c").matches(krg.getPath("x.c"))));
        assertEquals(outcome(() -> def.getPathMatcher(":x")), outcome(() -> krg.getPathMatcher(":x")));
    }
}
