package org.kerrighed.fs;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.DSYNC;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.SPARSE;
import static java.nio.file.StandardOpenOption.SYNC;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite of the {@code java.nio.file} operations the krg provider implements, written once and run
 * against two file systems: the default one (on a temporary directory) and a krg file system on a 3-node
 * in-process cluster. Both runs make the same assertions, so the krg results and exception classes are those the
 * default file system gives where the semantics are defined. In the krg run the operations of a test use several
 * nodes ({@link #onNode}): written on one, read on another, listed on the third.
 */
abstract class FsConformanceSuite {
    /** A new empty directory for one test, on node 0's view. */
    protected abstract Path newTestDirectory(String name) throws IOException;

    /** The same path seen through node {@code node}'s file system (the path itself for the default one). */
    protected abstract Path onNode(Path p, int node);

    private Path dir;

    @BeforeEach
    void makeDirectory(TestInfo info) throws IOException {
        dir = newTestDirectory(info.getTestMethod().orElseThrow().getName());
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static Set<OpenOption> opts(OpenOption... o) {
        return Set.of(o);
    }

    private static FileChannel open(Path p, OpenOption... o) throws IOException {
        return FileChannel.open(p, o);
    }

    private static String read(FileChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining() && ch.read(b) > 0) {
            // until full or end of file
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
    }

    private List<String> names(Path d) throws IOException {
        List<String> l = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
            s.forEach(p -> l.add(p.getFileName().toString()));
        }
        l.sort(null);
        return l;
    }

    // ---- reading and writing

    @Test
    void writeOnOneNodeReadOnAnotherListOnTheThird() throws IOException {
        byte[] data = bytes(300_000, 1);          // several chunks in the krg run (64 KiB chunks)
        Path a = dir.resolve("a.bin");
        Files.write(a, data);
        assertArrayEquals(data, Files.readAllBytes(onNode(a, 2)));
        assertEquals(data.length, Files.size(onNode(a, 2)));
        assertTrue(Files.exists(onNode(a, 1)));
        assertEquals(List.of("a.bin"), names(onNode(dir, 1)));
        try (Stream<Path> s = Files.list(onNode(dir, 1))) {
            assertEquals(List.of(onNode(a, 1)), s.toList());
        }
    }

    @Test
    void readsAcrossChunkBoundariesAtAnyPosition() throws IOException {
        byte[] data = bytes(200_000, 2);
        Path a = dir.resolve("a");
        Files.write(a, data);
        try (FileChannel ch = open(onNode(a, 2), READ)) {
            for (long at : new long[] {0, 65_535, 65_536, 131_000, 199_999}) {
                ByteBuffer b = ByteBuffer.allocate(3000);
                int n = ch.read(b, at);
                int expected = (int) Math.min(3000, data.length - at);
                assertEquals(expected, n, "read at " + at);
                assertArrayEquals(Arrays.copyOfRange(data, (int) at, (int) at + expected),
                        Arrays.copyOf(b.array(), n), "bytes at " + at);
            }
            assertEquals(-1, ch.read(ByteBuffer.allocate(10), data.length));
            assertEquals(-1, ch.read(ByteBuffer.allocate(10), data.length + 100));
            assertEquals(0, ch.read(ByteBuffer.allocate(0), 0));
        }
    }

    @Test
    void streamsLinesAndWriters() throws IOException {
        Path a = dir.resolve("lines.txt");
        try (Writer w = Files.newBufferedWriter(a)) {
            w.write("one\ntwo\nthree\n");
        }
        try (Stream<String> lines = Files.lines(onNode(a, 2))) {
            assertEquals(List.of("one", "two", "three"), lines.toList());
        }
        assertEquals(List.of("one", "two", "three"), Files.readAllLines(onNode(a, 1)));
        try (OutputStream out = Files.newOutputStream(a, APPEND)) {
            out.write(ascii("four\n"));
        }
        assertEquals("one\ntwo\nthree\nfour\n", Files.readString(onNode(a, 2)));
        try (InputStream in = Files.newInputStream(onNode(a, 1))) {
            assertEquals(4, in.skip(4));
            assertEquals('t', in.read());
        }
        Path b = dir.resolve("copied");
        assertEquals(5, Files.copy(new ByteArrayInputStream(ascii("hello")), b));
        assertThrows(FileAlreadyExistsException.class, () -> Files.copy(new ByteArrayInputStream(ascii("x")), b));
        Files.copy(new ByteArrayInputStream(ascii("bye")), b, StandardCopyOption.REPLACE_EXISTING);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(3, Files.copy(onNode(b, 2), out));
        assertEquals("bye", out.toString(StandardCharsets.US_ASCII));
        assertThrows(IllegalArgumentException.class, () -> Files.newOutputStream(b, READ));
    }

    @Test
    void openOptionsCreateAndFail() throws IOException {
        Path a = dir.resolve("a");
        assertThrows(NoSuchFileException.class, () -> Files.newByteChannel(a));
        assertThrows(NoSuchFileException.class, () -> Files.newByteChannel(a, WRITE));
        assertThrows(NoSuchFileException.class, () -> Files.newByteChannel(dir.resolve("no/such"), WRITE, CREATE));
        Files.newByteChannel(a, CREATE_NEW, WRITE).close();
        assertThrows(FileAlreadyExistsException.class, () -> Files.newByteChannel(onNode(a, 1), CREATE_NEW, WRITE));
        Files.newByteChannel(a, CREATE, WRITE).close();
        assertThrows(IllegalArgumentException.class, () -> Files.newByteChannel(a, APPEND, READ));
        assertThrows(IllegalArgumentException.class, () -> Files.newByteChannel(a, APPEND, TRUNCATE_EXISTING));
        OpenOption unknown = new OpenOption() {
        };
        assertThrows(UnsupportedOperationException.class, () -> Files.newByteChannel(a, opts(READ, unknown)));
        assertThrows(NullPointerException.class, () -> Files.newByteChannel(a, (OpenOption) null));
        try (SeekableByteChannel ch = Files.newByteChannel(a, WRITE, SPARSE, LinkOption.NOFOLLOW_LINKS)) {
            assertEquals(3, ch.write(ByteBuffer.wrap(ascii("abc"))));
        }
        // CREATE without WRITE opens for reading only, and does not create
        Path missing = dir.resolve("missing");
        assertThrows(NoSuchFileException.class, () -> Files.newByteChannel(missing, CREATE));
        assertFalse(Files.exists(missing));
        assertThrows(IOException.class, () -> Files.readAllBytes(dir));
        assertThrows(IOException.class, () -> Files.newByteChannel(dir, WRITE));
    }

    @Test
    void truncateExistingAndAppend() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("0123456789"));
        try (FileChannel ch = open(onNode(a, 1), WRITE, TRUNCATE_EXISTING)) {
            assertEquals(0, ch.size());
            ch.write(ByteBuffer.wrap(ascii("ab")));
        }
        try (FileChannel ch = open(onNode(a, 2), WRITE, APPEND)) {
            assertEquals(2, ch.position());
            ch.write(ByteBuffer.wrap(ascii("cd")));
            assertEquals(4, ch.position());
            ch.position(0);                        // ignored by appends
            ch.write(ByteBuffer.wrap(ascii("ef")));
            assertEquals(6, ch.size());
        }
        try (FileChannel x = open(a, WRITE, APPEND); FileChannel y = open(onNode(a, 2), WRITE, APPEND)) {
            x.write(ByteBuffer.wrap(ascii("X")));
            y.write(ByteBuffer.wrap(ascii("Y")));
            x.write(ByteBuffer.wrap(ascii("Z")));
        }
        assertEquals("abcdefXYZ", Files.readString(onNode(a, 1)));
        try (FileChannel ch = open(a, READ, TRUNCATE_EXISTING)) {    // ignored without WRITE
            assertEquals(9, ch.size());
        }
    }

    @Test
    void channelPositionAndPositionalIo() throws IOException {
        Path a = dir.resolve("a");
        try (FileChannel ch = open(a, READ, WRITE, CREATE_NEW)) {
            assertEquals(0, ch.position());
            assertEquals(5, ch.write(ByteBuffer.wrap(ascii("hello"))));
            assertEquals(5, ch.position());
            assertEquals(5, ch.size());
            assertEquals(-1, ch.read(ByteBuffer.allocate(4)));
            ch.position(1);
            assertEquals("ell", read(ch, 3));
            assertEquals(4, ch.position());
            assertEquals(3, ch.write(ByteBuffer.wrap(ascii("XYZ")), 10));      // a hole 5..9
            assertEquals(4, ch.position());
            assertEquals(13, ch.size());
            ByteBuffer b = ByteBuffer.allocate(20);
            assertEquals(13, ch.read(b, 0));
            assertArrayEquals(ascii("hello\0\0\0\0\0XYZ"), Arrays.copyOf(b.array(), 13));
            assertEquals(4, ch.position());
            ch.position(100);
            assertEquals(-1, ch.read(ByteBuffer.allocate(1)));
            assertEquals(13, ch.size());
            ch.write(ByteBuffer.wrap(ascii("!")));                               // at 100
            assertEquals(101, ch.size());
            assertEquals(101, ch.position());
            assertEquals(0, ch.write(ByteBuffer.allocate(0), 500));             // nothing written: no growth
            assertEquals(0, ch.write(ByteBuffer.allocate(0)));
            assertEquals(101, ch.size());
            assertThrows(IllegalArgumentException.class, () -> ch.position(-1));
            assertThrows(IllegalArgumentException.class, () -> ch.read(ByteBuffer.allocate(1), -1));
            assertThrows(IllegalArgumentException.class, () -> ch.write(ByteBuffer.allocate(1), -1));
        }
        byte[] all = Files.readAllBytes(onNode(a, 2));
        assertEquals(101, all.length);
        assertEquals('!', all[100]);
        assertEquals(0, all[50]);
    }

    @Test
    void scatteringAndGathering() throws IOException {
        Path a = dir.resolve("a");
        try (FileChannel ch = open(a, READ, WRITE, CREATE)) {
            ByteBuffer[] srcs = {ByteBuffer.wrap(ascii("ab")), ByteBuffer.allocate(0), ByteBuffer.wrap(ascii("cde"))};
            assertEquals(5, ch.write(srcs));
            assertEquals(5, ch.position());
            assertFalse(srcs[2].hasRemaining());
            assertEquals(2, ch.write(new ByteBuffer[] {ByteBuffer.wrap(ascii("zz")), ByteBuffer.wrap(ascii("fg"))},
                    1, 1));
            ch.position(0);
            ByteBuffer[] dsts = {ByteBuffer.allocate(3), ByteBuffer.allocate(10)};
            assertEquals(7, ch.read(dsts));
            assertEquals("abc", new String(dsts[0].array(), StandardCharsets.US_ASCII));
            assertEquals("defg", new String(dsts[1].array(), 0, 4, StandardCharsets.US_ASCII));
            assertEquals(-1, ch.read(new ByteBuffer[] {ByteBuffer.allocate(2)}));
            assertThrows(IndexOutOfBoundsException.class, () -> ch.read(dsts, 1, 2));
        }
    }

    @Test
    void truncateFollowsFileChannelRules() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("0123456789"));
        try (FileChannel ch = open(onNode(a, 1), READ, WRITE)) {
            ch.position(8);
            ch.truncate(20);                                   // does not grow
            assertEquals(10, ch.size());
            assertEquals(8, ch.position());
            ch.truncate(4);
            assertEquals(4, ch.size());
            assertEquals(4, ch.position());
            ch.position(2);
            ch.truncate(3);
            assertEquals(2, ch.position());
            assertThrows(IllegalArgumentException.class, () -> ch.truncate(-1));
        }
        assertEquals("012", Files.readString(onNode(a, 2)));
        try (FileChannel ch = open(a, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ch.truncate(0));
        }
    }

    @Test
    void accessModeOfChannels() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("abc"));
        try (FileChannel ch = open(a, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ch.write(ByteBuffer.wrap(ascii("x"))));
            assertThrows(NonWritableChannelException.class, () -> ch.write(ByteBuffer.wrap(ascii("x")), 0));
            assertThrows(NonWritableChannelException.class,
                    () -> ch.transferFrom(Channels.newChannel(new ByteArrayInputStream(ascii("x"))), 0, 1));
        }
        try (FileChannel ch = open(a, WRITE)) {
            assertThrows(NonReadableChannelException.class, () -> ch.read(ByteBuffer.allocate(1)));
            assertThrows(NonReadableChannelException.class, () -> ch.read(ByteBuffer.allocate(1), 0));
            assertThrows(NonReadableChannelException.class,
                    () -> ch.transferTo(0, 1, Channels.newChannel(new ByteArrayOutputStream())));
        }
    }

    @Test
    void closedChannelFails() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("abc"));
        FileChannel ch = open(a, READ, WRITE);
        ch.close();
        ch.close();
        assertFalse(ch.isOpen());
        assertThrows(ClosedChannelException.class, () -> ch.read(ByteBuffer.allocate(1)));
        assertThrows(ClosedChannelException.class, () -> ch.read(ByteBuffer.allocate(1), 0));
        assertThrows(ClosedChannelException.class, () -> ch.write(ByteBuffer.wrap(ascii("x"))));
        assertThrows(ClosedChannelException.class, ch::position);
        assertThrows(ClosedChannelException.class, () -> ch.position(0));
        assertThrows(ClosedChannelException.class, ch::size);
        assertThrows(ClosedChannelException.class, () -> ch.truncate(0));
        assertThrows(ClosedChannelException.class, () -> ch.force(true));
        InputStream in = Files.newInputStream(a);
        in.close();
        assertThrows(IOException.class, in::read);
    }

    @Test
    void transfersBetweenChannels() throws IOException {
        byte[] data = bytes(150_000, 3);
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        Files.write(a, data);
        try (FileChannel in = open(onNode(a, 1), READ); FileChannel out = open(onNode(b, 2), WRITE, CREATE_NEW)) {
            assertEquals(data.length - 1000, in.transferTo(1000, data.length, out));
            assertEquals(0, in.position());
            assertEquals(0, in.transferTo(data.length + 5, 10, out));
        }
        assertArrayEquals(Arrays.copyOfRange(data, 1000, data.length), Files.readAllBytes(b));
        try (FileChannel out = open(onNode(b, 1), WRITE)) {
            assertEquals(4, out.transferFrom(Channels.newChannel(new ByteArrayInputStream(ascii("WXYZ"))), 10, 100));
            assertEquals(0, out.position());
            assertEquals(1, out.transferFrom(Channels.newChannel(new ByteArrayInputStream(ascii("Q"))),
                    data.length, 1));                              // past the end: the file grows
            assertEquals(0, out.transferFrom(Channels.newChannel(new ByteArrayInputStream(new byte[0])), 0, 1));
        }
        byte[] after = Files.readAllBytes(onNode(b, 2));
        assertEquals("WXYZ", new String(after, 10, 4, StandardCharsets.US_ASCII));
        assertEquals(data.length + 1, after.length);
        assertEquals('Q', after[data.length]);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (FileChannel in = open(a, READ)) {
            assertEquals(100, in.transferTo(0, 100, Channels.newChannel(sink)));
        }
        assertArrayEquals(Arrays.copyOf(data, 100), sink.toByteArray());
    }

    @Test
    void syncModesAndForce() throws IOException {
        Path a = dir.resolve("a");
        try (FileChannel ch = open(a, WRITE, CREATE, SYNC)) {
            ch.write(ByteBuffer.wrap(ascii("sync")));
        }
        try (FileChannel ch = open(a, WRITE, DSYNC)) {
            ch.write(ByteBuffer.wrap(ascii("D")), 4);
            ch.force(false);
            ch.force(true);
        }
        assertEquals("syncD", Files.readString(onNode(a, 2)));
    }

    @Test
    void deleteOnClose() throws IOException {
        Path a = dir.resolve("a");
        try (FileChannel ch = open(a, WRITE, CREATE_NEW, DELETE_ON_CLOSE)) {
            ch.write(ByteBuffer.wrap(ascii("tmp")));
        }
        assertFalse(Files.exists(onNode(a, 2)));
    }

    @Test
    void transferRejectsNegativePositions() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("abc"));
        try (FileChannel ch = open(a, READ)) {
            assertThrows(IllegalArgumentException.class, () -> ch.transferTo(-1, 1, Channels.newChannel(
                    new ByteArrayOutputStream())));
        }
    }

    // ---- files and directories

    @Test
    void createDirectoriesAndDelete() throws IOException {
        Path d = dir.resolve("d");
        Files.createDirectory(d);
        assertTrue(Files.isDirectory(onNode(d, 1)));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(onNode(d, 2)));
        assertThrows(NoSuchFileException.class, () -> Files.createDirectory(dir.resolve("x/y")));
        Path deep = dir.resolve("p/q/r");
        assertEquals(deep, Files.createDirectories(deep));
        assertTrue(Files.isDirectory(onNode(dir.resolve("p/q"), 2)));
        Files.createDirectories(deep);
        Files.write(deep.resolve("f"), ascii("f"));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectories(deep.resolve("f")));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(onNode(dir.resolve("p"), 1)));
        assertThrows(NoSuchFileException.class, () -> Files.delete(dir.resolve("nothing")));
        assertFalse(Files.deleteIfExists(dir.resolve("nothing")));
        assertTrue(Files.deleteIfExists(onNode(deep.resolve("f"), 2)));
        Files.delete(deep);
        assertFalse(Files.exists(onNode(deep, 1)));
        assertTrue(Files.notExists(deep));
        assertEquals(List.of("d", "p"), names(onNode(dir, 2)));
    }

    @Test
    void directoryStreamsAndFilters() throws IOException {
        for (String n : List.of("a.txt", "b.txt", "c.log", ".hidden")) {
            Files.write(dir.resolve(n), ascii(n));
        }
        Files.createDirectory(dir.resolve("sub"));
        assertEquals(List.of(".hidden", "a.txt", "b.txt", "c.log", "sub"), names(onNode(dir, 1)));
        List<String> txt = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(onNode(dir, 2), "*.txt")) {
            for (Path p : s) {
                assertEquals(onNode(dir, 2), p.getParent());
                txt.add(p.getFileName().toString());
            }
        }
        txt.sort(null);
        assertEquals(List.of("a.txt", "b.txt"), txt);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, Files::isDirectory)) {
            Iterator<Path> it = s.iterator();
            assertTrue(it.hasNext());
            assertEquals("sub", it.next().getFileName().toString());
            assertFalse(it.hasNext());
            assertThrows(java.util.NoSuchElementException.class, it::next);
            assertThrows(IllegalStateException.class, s::iterator);
        }
        DirectoryStream<Path> closed = Files.newDirectoryStream(dir);
        closed.close();
        assertThrows(IllegalStateException.class, closed::iterator);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, p -> {
            throw new IOException("filter failed");
        })) {
            assertThrows(DirectoryIteratorException.class, () -> s.iterator().hasNext());
        }
        assertThrows(NotDirectoryException.class, () -> Files.newDirectoryStream(dir.resolve("a.txt")));
        assertThrows(NoSuchFileException.class, () -> Files.newDirectoryStream(dir.resolve("none")));
    }

    @Test
    void walkFindsTheTree() throws IOException {
        Files.createDirectories(dir.resolve("x/y"));
        Files.write(dir.resolve("x/y/f1"), ascii("1"));
        Files.write(dir.resolve("x/f2"), ascii("22"));
        Files.write(dir.resolve("f3"), ascii("333"));
        Path base = onNode(dir, 1);
        Set<String> walked = new TreeSet<>();
        try (Stream<Path> s = Files.walk(base)) {
            s.forEach(p -> walked.add(base.relativize(p).toString()));
        }
        assertEquals(new TreeSet<>(List.of("", "x", "x/y", "x/y/f1", "x/f2", "f3")), walked);
        try (Stream<Path> s = Files.find(onNode(dir, 2), 5, (p, a) -> a.isRegularFile() && a.size() >= 2)) {
            assertEquals(Set.of("f2", "f3"), Set.copyOf(s.map(p -> p.getFileName().toString()).toList()));
        }
        try (Stream<Path> s = Files.walk(base, 1)) {
            assertEquals(3, s.count());
        }
    }

    @Test
    void copyFilesAndDirectories() throws IOException {
        byte[] data = bytes(100_000, 4);
        Path a = dir.resolve("a");
        Files.write(a, data);
        Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("rw-r-----"));
        FileTime t = FileTime.from(Instant.parse("2020-01-02T03:04:05.123456Z"));
        Files.setLastModifiedTime(a, t);
        Path b = dir.resolve("b");
        Files.copy(onNode(a, 1), onNode(b, 2));
        assertArrayEquals(data, Files.readAllBytes(b));
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), Files.getPosixFilePermissions(onNode(b, 1)));
        assertNotEquals(t, Files.getLastModifiedTime(b));
        assertThrows(FileAlreadyExistsException.class, () -> Files.copy(a, b));
        Files.write(b, ascii("old"));
        Files.copy(a, b, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        assertArrayEquals(data, Files.readAllBytes(onNode(b, 2)));
        assertEquals(t, Files.getLastModifiedTime(onNode(b, 1)));
        Files.copy(a, a);                                               // the same file: nothing
        Files.copy(a, onNode(dir.resolve("./a"), 2), StandardCopyOption.REPLACE_EXISTING);
        assertArrayEquals(data, Files.readAllBytes(a));
        assertThrows(NoSuchFileException.class, () -> Files.copy(dir.resolve("none"), dir.resolve("c")));
        assertThrows(NoSuchFileException.class, () -> Files.copy(a, dir.resolve("none/c")));
        assertThrows(UnsupportedOperationException.class,
                () -> Files.copy(a, dir.resolve("c"), StandardCopyOption.ATOMIC_MOVE));

        Path d = dir.resolve("d");
        Files.createDirectories(d.resolve("inner"));
        Path e = dir.resolve("e");
        Files.copy(d, e);                                               // empty, as the JDK
        assertTrue(Files.isDirectory(onNode(e, 2)));
        assertEquals(List.of(), names(e));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.copy(a, d, StandardCopyOption.REPLACE_EXISTING));
        Files.copy(a, e, StandardCopyOption.REPLACE_EXISTING);          // an empty directory is replaced
        assertTrue(Files.isRegularFile(onNode(e, 1)));
    }

    @Test
    void moveRenames() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("A"));
        Path b = dir.resolve("b");
        Files.move(a, b);
        assertFalse(Files.exists(onNode(a, 1)));
        assertEquals("A", Files.readString(onNode(b, 2)));
        Files.write(a, ascii("A2"));
        assertThrows(FileAlreadyExistsException.class, () -> Files.move(b, a));
        Files.move(onNode(b, 1), onNode(a, 1), StandardCopyOption.REPLACE_EXISTING);
        assertEquals("A", Files.readString(a));
        Files.write(b, ascii("B"));
        Files.move(b, a, StandardCopyOption.ATOMIC_MOVE);               // replaces, as rename(2)
        assertEquals("B", Files.readString(onNode(a, 2)));
        Files.move(a, a);
        Files.createDirectory(dir.resolve("x"));
        Files.move(a, onNode(dir.resolve("x/../a"), 1));
        assertTrue(Files.exists(a));
        assertThrows(NoSuchFileException.class, () -> Files.move(dir.resolve("none"), dir.resolve("c")));
        assertThrows(NoSuchFileException.class, () -> Files.move(a, dir.resolve("none/c")));
        assertThrows(UnsupportedOperationException.class,
                () -> Files.move(a, dir.resolve("c"), StandardCopyOption.COPY_ATTRIBUTES));

        Path d = dir.resolve("d");
        Files.createDirectories(d.resolve("in"));
        Files.write(d.resolve("in/f"), ascii("F"));
        Path e = dir.resolve("e");
        Files.move(d, e, StandardCopyOption.ATOMIC_MOVE);
        assertEquals("F", Files.readString(onNode(e.resolve("in/f"), 2)));
        assertFalse(Files.exists(onNode(d, 1)));
        Files.createDirectory(d);
        Files.move(onNode(d, 2), e.resolve("in/f"), StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.isDirectory(e.resolve("in/f")));
        Files.write(d, ascii("D"));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.move(d, e, StandardCopyOption.REPLACE_EXISTING));
    }

    @Test
    void sameFileAndHidden() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("a"));
        Files.createDirectory(dir.resolve("x"));
        assertTrue(Files.isSameFile(a, onNode(dir.resolve("x/../a"), 1)));
        assertTrue(Files.isSameFile(dir.resolve("none"), dir.resolve("none")));
        assertThrows(NoSuchFileException.class, () -> Files.isSameFile(a, dir.resolve("none")));
        Files.write(dir.resolve("b"), ascii("a"));
        assertFalse(Files.isSameFile(a, dir.resolve("b")));
        assertTrue(Files.isHidden(dir.resolve(".x")));
        assertFalse(Files.isHidden(a));
    }

    // ---- attributes

    @Test
    void basicAttributes() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, bytes(1234, 5));
        BasicFileAttributes attrs = Files.readAttributes(onNode(a, 1), BasicFileAttributes.class);
        assertTrue(attrs.isRegularFile());
        assertFalse(attrs.isDirectory());
        assertFalse(attrs.isSymbolicLink());
        assertFalse(attrs.isOther());
        assertEquals(1234, attrs.size());
        assertNotNull(attrs.fileKey());
        assertEquals(attrs.fileKey(), Files.readAttributes(onNode(a, 2), BasicFileAttributes.class).fileKey());
        BasicFileAttributes d = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        assertTrue(d.isDirectory());
        assertNotEquals(attrs.fileKey(), d.fileKey());

        Map<String, Object> m = Files.readAttributes(onNode(a, 2), "basic:size,lastModifiedTime");
        assertEquals(Set.of("size", "lastModifiedTime"), m.keySet());
        assertEquals(1234L, m.get("size"));
        assertEquals(Files.getLastModifiedTime(a), m.get("lastModifiedTime"));
        assertEquals(Set.of("lastModifiedTime", "lastAccessTime", "creationTime", "size", "isRegularFile",
                "isDirectory", "isSymbolicLink", "isOther", "fileKey"), Files.readAttributes(a, "*").keySet());
        assertEquals(true, Files.getAttribute(a, "isRegularFile"));
        assertThrows(IllegalArgumentException.class, () -> Files.readAttributes(a, "basic:nope"));
        assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(a, "nope:size"));
        assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(a, DosLike.class));
        assertThrows(NoSuchFileException.class, () -> Files.readAttributes(dir.resolve("none"),
                BasicFileAttributes.class));
        assertThrows(NoSuchFileException.class, () -> Files.size(dir.resolve("none")));
    }

    /** An attributes type no provider here supports. */
    interface DosLike extends BasicFileAttributes {
    }

    @Test
    void setTimes() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("a"));
        FileTime m = FileTime.from(Instant.parse("2021-05-06T07:08:09.654321Z"));
        FileTime acc = FileTime.from(Instant.parse("2022-01-01T00:00:00Z"));
        Files.setLastModifiedTime(a, m);
        assertEquals(m, Files.getLastModifiedTime(onNode(a, 1)));
        Files.setAttribute(onNode(a, 2), "basic:lastAccessTime", acc);
        BasicFileAttributes attrs = Files.readAttributes(a, BasicFileAttributes.class);
        assertEquals(acc, attrs.lastAccessTime());
        assertEquals(m, attrs.lastModifiedTime());
        BasicFileAttributeView v = Files.getFileAttributeView(a, BasicFileAttributeView.class);
        assertEquals("basic", v.name());
        v.setTimes(null, null, null);
        assertEquals(m, Files.getLastModifiedTime(a));
        assertThrows(IllegalArgumentException.class, () -> Files.setAttribute(a, "basic:size", 3L));
        assertThrows(UnsupportedOperationException.class, () -> Files.setAttribute(a, "nope:x", 3L));
        assertThrows(NoSuchFileException.class, () -> Files.setLastModifiedTime(dir.resolve("none"), m));
    }

    @Test
    void posixAttributesAndPermissions() throws IOException {
        Path a = dir.resolve("a");
        FileAttribute<Set<PosixFilePermission>> rwr = PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rw-r-----"));
        Files.createFile(a, rwr);
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), Files.getPosixFilePermissions(onNode(a, 1)));
        Path d = dir.resolve("d");
        Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---")));
        assertEquals(PosixFilePermissions.fromString("rwxr-x---"), Files.getPosixFilePermissions(onNode(d, 2)));
        Path c = dir.resolve("c");
        try (FileChannel ch = FileChannel.open(c, Set.of(WRITE, CREATE_NEW), rwr)) {
            ch.write(ByteBuffer.wrap(ascii("x")));
        }
        assertEquals(PosixFilePermissions.fromString("rw-r-----"), Files.getPosixFilePermissions(c));
        assertThrows(UnsupportedOperationException.class, () -> Files.createFile(dir.resolve("e"),
                new FileAttribute<FileTime>() {
                    @Override
                    public String name() {
                        return "basic:lastModifiedTime";
                    }

                    @Override
                    public FileTime value() {
                        return FileTime.fromMillis(0);
                    }
                }));

        Files.setPosixFilePermissions(onNode(a, 2), PosixFilePermissions.fromString("r--------"));
        assertEquals(PosixFilePermissions.fromString("r--------"), Files.getPosixFilePermissions(onNode(a, 1)));
        Files.setAttribute(a, "posix:permissions", PosixFilePermissions.fromString("rw-rw-r--"));
        PosixFileAttributes pa = Files.readAttributes(onNode(a, 1), PosixFileAttributes.class);
        assertEquals(PosixFilePermissions.fromString("rw-rw-r--"), pa.permissions());
        assertNotNull(pa.owner());
        assertNotNull(pa.group());
        Map<String, Object> all = Files.readAttributes(a, "posix:*");
        assertTrue(all.keySet().containsAll(List.of("permissions", "owner", "group", "size", "lastModifiedTime")));
        assertEquals(pa.owner(), all.get("owner"));
        PosixFileAttributeView view = Files.getFileAttributeView(a, PosixFileAttributeView.class);
        assertEquals("posix", view.name());
        assertEquals(pa.owner(), view.getOwner());
    }

    @Test
    void ownersByLookup() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("a"));
        UserPrincipal owner = Files.getOwner(onNode(a, 2));
        UserPrincipal same = a.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(owner.getName());
        assertEquals(owner, same);
        Files.setOwner(a, same);
        assertEquals(owner, Files.getOwner(onNode(a, 1)));
        assertEquals(owner, Files.getAttribute(a, "owner:owner"));
        PosixFileAttributes pa = Files.readAttributes(a, PosixFileAttributes.class);
        Files.getFileAttributeView(onNode(a, 1), PosixFileAttributeView.class).setGroup(pa.group());
        assertEquals(pa.group(), Files.readAttributes(a, PosixFileAttributes.class).group());
        assertThrows(java.nio.file.attribute.UserPrincipalNotFoundException.class, () -> a.getFileSystem()
                .getUserPrincipalLookupService().lookupPrincipalByName("no such user, surely"));
    }

    @Test
    void fileStores() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("a"));
        FileStore store = Files.getFileStore(onNode(a, 1));
        assertTrue(store.getTotalSpace() > 0);
        assertTrue(store.getUsableSpace() >= 0);
        assertTrue(store.getUsableSpace() <= store.getTotalSpace());
        assertTrue(store.supportsFileAttributeView(BasicFileAttributeView.class));
        assertTrue(store.supportsFileAttributeView("posix"));
        assertFalse(store.isReadOnly());
        assertInstanceOf(Long.class, store.getAttribute("totalSpace"));
        assertThrows(NoSuchFileException.class, () -> Files.getFileStore(dir.resolve("none")));
        assertTrue(a.getFileSystem().getFileStores().iterator().hasNext());
        assertTrue(a.getFileSystem().supportedFileAttributeViews().containsAll(Set.of("basic", "posix", "owner")));
    }

    @Test
    void accessChecks() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("a"));
        assertTrue(Files.isReadable(onNode(a, 1)));
        assertTrue(Files.isWritable(onNode(a, 2)));
        assertFalse(Files.isExecutable(a));
        assertFalse(Files.isReadable(dir.resolve("none")));
        a.getFileSystem().provider().checkAccess(a);
        assertThrows(NoSuchFileException.class, () -> a.getFileSystem().provider().checkAccess(dir.resolve("n")));
        Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("rwxr--r--"));
        assertTrue(Files.isExecutable(onNode(a, 1)));
        assertTrue(Files.isRegularFile(a));
        assertFalse(Files.isDirectory(a));
        assertTrue(Files.isDirectory(onNode(dir, 2)));
        assertFalse(Files.isSymbolicLink(a));
    }

    // ---- paths and matchers (syntax only)

    @Test
    void pathSyntax() {
        Path r = dir.getRoot();
        assertEquals("/", r.toString());
        Path p = dir.getFileSystem().getPath("a//b/", "", "c/");
        assertEquals("a/b/c", p.toString());
        assertEquals(3, p.getNameCount());
        assertEquals("b", p.getName(1).toString());
        assertEquals("b/c", p.subpath(1, 3).toString());
        assertEquals("c", p.getFileName().toString());
        assertEquals("a/b", p.getParent().toString());
        assertEquals(null, p.getRoot());
        assertEquals("/a/b/c", p.toAbsolutePath().toString().substring(p.toAbsolutePath().toString().length() - 6));
        assertThrows(IllegalArgumentException.class, () -> p.getName(3));
        assertThrows(IllegalArgumentException.class, () -> p.subpath(2, 2));
        Path up = dir.getFileSystem().getPath("/../a/./b/../c");
        assertEquals("/a/c", up.normalize().toString());
        assertEquals("/", dir.getFileSystem().getPath("/..").normalize().toString());
        assertEquals("../x", dir.getFileSystem().getPath("a/../../x").normalize().toString());
        assertEquals("", dir.getFileSystem().getPath("a/..").normalize().toString());
        assertThrows(java.nio.file.InvalidPathException.class, () -> dir.getFileSystem().getPath("a\0b"));
        assertTrue(p.startsWith("a/b"));
        assertFalse(p.startsWith("a/bb"));
        assertTrue(p.endsWith("b/c"));
        assertEquals("../../d", p.relativize(dir.getFileSystem().getPath("a/d")).toString());
        assertEquals("a/b/c/d", p.resolve("d").toString());
        assertEquals("a/b/d", p.resolveSibling("d").toString());
        assertEquals("/d", p.resolve("/d").toString());
        assertThrows(IllegalArgumentException.class, () -> p.relativize(dir.getFileSystem().getPath("/a")));
        assertEquals(List.of("a", "b", "c"), iterate(p));
        assertTrue(p.compareTo(dir.getFileSystem().getPath("a/b/d")) < 0);
        assertEquals(p, dir.getFileSystem().getPath("a", "b", "c"));
        assertEquals(p.hashCode(), dir.getFileSystem().getPath("a", "b", "c").hashCode());
        assertEquals("/", dir.getFileSystem().getSeparator());
        assertFalse(dir.getFileSystem().isReadOnly());
        assertTrue(dir.getFileSystem().isOpen());
        assertEquals(List.of("/"), iterate(dir.getFileSystem().getRootDirectories()));
    }

    private static <T> List<String> iterate(Iterable<T> it) {
        List<String> l = new ArrayList<>();
        it.forEach(x -> l.add(x.toString()));
        return l;
    }

    @Test
    void realPathAndUri() throws IOException {
        Path a = dir.resolve("a");
        Files.write(a, ascii("a"));
        Files.createDirectory(dir.resolve("x"));
        Path messy = onNode(dir.resolve("x/.././a"), 1);
        assertEquals(onNode(a, 1).toRealPath(), messy.toRealPath());
        assertThrows(NoSuchFileException.class, () -> dir.resolve("none").toRealPath());
        Path back = Path.of(a.toUri());
        assertTrue(Files.isSameFile(a, back));
        assertEquals(a.getFileSystem().provider().getScheme(), a.toUri().getScheme());
    }

    @Test
    void pathMatchers() {
        var fs = dir.getFileSystem();
        Map<String, List<String>> cases = Map.of(
                "glob:*.txt", List.of("+a.txt", "+.txt", "-a/b.txt", "-a.txtx"),
                "glob:**/*.java", List.of("+a/b/C.java", "+/x/C.java", "-C.java"),
                "glob:?.{c,h}", List.of("+a.c", "+b.h", "-ab.c", "-a.o"),
                "glob:[a-c]x[!0-9]", List.of("+axz", "+cx_", "-dxz", "-ax5"),
                "glob:a\\*b", List.of("+a*b", "-axb"),
                "glob:a/*/c", List.of("+a/b/c", "-a/b/d/c"),
                "regex:([a-z]+)\\.log", List.of("+abc.log", "-ab1.log"));
        for (var e : cases.entrySet()) {
            PathMatcher m = fs.getPathMatcher(e.getKey());
            for (String c : e.getValue()) {
                assertEquals(c.charAt(0) == '+', m.matches(fs.getPath(c.substring(1))), e.getKey() + " " + c);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> fs.getPathMatcher("*.txt"));
        assertThrows(UnsupportedOperationException.class, () -> fs.getPathMatcher("nope:*.txt"));
        assertThrows(PatternSyntaxException.class, () -> fs.getPathMatcher("glob:[a"));
        assertThrows(PatternSyntaxException.class, () -> fs.getPathMatcher("glob:{a,{b}}"));
    }
}
