package org.kerrighed.fs.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * This node's chunk files: {@code DIR/INODE/INDEX.GENERATION}, plain files holding a chunk's bytes from its start
 * (shorter than the chunk when its end was never written: the rest reads as zeros). Writes of one chunk are
 * ordered by the caller (its primary); this class keeps the byte count under the quota and refuses a write that
 * would pass it, or the disk's free space, before writing anything. Thread-safe.
 */
final class ChunkStore {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ChunkStore.class);
    /** Space kept free on the disk besides the quota. */
    private static final long DISK_RESERVE = 16L << 20;
    private static final int STRIPES = 64;

    private final Path dir;
    private final long quota;
    private final int node;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong files = new AtomicLong();
    private final Object[] stripes = new Object[STRIPES];
    private final long storageId;

    ChunkStore(Path dir, long quota, int node) {
        this.dir = dir;
        this.quota = quota;
        this.node = node;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
        try {
            Files.createDirectories(dir);
            storageId = storageId(dir.resolve("storage-id"));
            for (Chunk c : list()) {
                used.addAndGet(c.bytes());
                files.incrementAndGet();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the chunk store " + dir, e);
        }
    }

    /** The id in {@code file}, made (random, never 0) when the file does not exist: a new or emptied store. */
    private static long storageId(Path file) throws IOException {
        if (Files.exists(file)) {
            return Long.parseUnsignedLong(Files.readString(file).strip(), 16);
        }
        long id = 0;
        while (id == 0) {
            id = new java.security.SecureRandom().nextLong();
        }
        Path tmp = file.resolveSibling("storage-id.tmp");
        Files.writeString(tmp, Long.toHexString(id) + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return id;
    }

    /**
     * This store's id: it changes when the store's directory was emptied or replaced, so a node that comes back
     * under the same id without its chunk files can be told from one that kept them.
     */
    long storageId() {
        return storageId;
    }

    /** One chunk file. */
    record Chunk(long inode, int index, int generation, long bytes, long modifiedMillis) {
    }

    Path dir() {
        return dir;
    }

    long usedBytes() {
        return used.get();
    }

    long chunkFiles() {
        return files.get();
    }

    long quota() {
        return quota;
    }

    /**
     * The free bytes of the disk under the storage directory, 0 when unknown: a {@code statvfs} of the directory,
     * checked at each growth (not {@code Files.getFileStore}, which reads the mount table first).
     */
    long freeBytes() {
        return dir.toFile().getUsableSpace();
    }

    private Path file(long inode, int index, int generation) {
        return dir.resolve(Long.toHexString(inode)).resolve(index + "." + generation);
    }

    private Object lock(long inode, int index) {
        return stripes[(int) ((inode * 31 + index) & (STRIPES - 1))];
    }

    /**
     * Writes {@code data[0..length)} at {@code offset} of the chunk.
     *
     * @param whole the bytes are the chunk's whole content: anything after them is dropped
     * @throws FileSystemException "no space left" when the write would pass the quota or the disk's free space
     */
    void write(long inode, int index, int generation, long offset, ByteBuffer data, boolean whole)
            throws IOException {
        int length = data.remaining();
        Path f = file(inode, index, generation);
        synchronized (lock(inode, index)) {
            long before = Files.exists(f) ? Files.size(f) : -1;
            long after = whole ? offset + length : Math.max(Math.max(before, 0), offset + length);
            long growth = after - Math.max(before, 0);
            if (growth > 0) {
                reserve(growth, f);
            }
            try (FileChannel ch = openForWrite(f)) {
                if (whole) {
                    ch.truncate(0);
                }
                ByteBuffer b = data.duplicate();
                long at = offset;
                while (b.hasRemaining()) {
                    at += ch.write(b, at);
                }
            } catch (IOException e) {
                // Written in part, or cut and not rewritten: the count follows what the file holds now.
                long now;
                try {
                    now = Files.exists(f) ? Files.size(f) : -1;
                } catch (IOException unknown) {
                    now = before;
                }
                used.addAndGet(Math.max(now, 0) - Math.max(before, 0) - Math.max(growth, 0));
                if (before < 0 && now >= 0) {
                    files.incrementAndGet();
                }
                throw e;
            }
            if (growth < 0) {
                used.addAndGet(growth);                        // a whole copy shorter than the old one
            }
            if (before < 0) {
                files.incrementAndGet();
            }
        }
    }

    /**
     * Opens a chunk file for writing, creating it and its file's directory, which the deletion of the file's last
     * other chunk file (under another stripe) may remove at any time until this one exists.
     */
    private static FileChannel openForWrite(Path f) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            } catch (NoSuchFileException e) {
                if (attempt == 10) {
                    throw e;
                }
                try {
                    Files.createDirectories(f.getParent());
                } catch (java.nio.file.FileAlreadyExistsException deletedMeanwhile) {
                    // made and removed again between its creation and the check that it is a directory
                }
            }
        }
    }

    /** Counts {@code growth} more bytes as used, or refuses them when they would pass the quota or the disk. */
    private void reserve(long growth, Path f) throws FileSystemException {
        long now;
        do {
            now = used.get();
            if (now + growth > quota) {
                throw new FileSystemException(f.toString(), null, "no space left on node " + node + ": quota of "
                        + quota + " bytes reached (" + now + " used)");
            }
        } while (!used.compareAndSet(now, now + growth));
        if (freeBytes() < growth + DISK_RESERVE) {
            used.addAndGet(-growth);
            throw new FileSystemException(f.toString(), null, "no space left on node " + node + "'s disk ("
                    + freeBytes() + " bytes free)");
        }
    }

    /**
     * Reads up to {@code length} bytes at {@code offset}: fewer when the chunk file ends first (the rest is zeros).
     *
     * @return the bytes read, or -1 when this node has no file for the chunk
     */
    int read(long inode, int index, int generation, long offset, ByteBuffer dst, int length) throws IOException {
        Path f = file(inode, index, generation);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = dst.slice(dst.position(), length);
            long at = offset;
            while (b.hasRemaining()) {
                int n = ch.read(b, at);
                if (n < 0) {
                    break;
                }
                at += n;
            }
            int got = b.position();
            dst.position(dst.position() + got);
            return got;
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    /** True when this node holds a file for the chunk. */
    boolean has(long inode, int index, int generation) {
        return Files.exists(file(inode, index, generation));
    }

    /** The chunk's whole content as stored here (up to its file's length). */
    byte[] readWhole(long inode, int index, int generation) throws IOException {
        Path f = file(inode, index, generation);
        synchronized (lock(inode, index)) {
            try {
                return Files.readAllBytes(f);
            } catch (NoSuchFileException e) {
                return new byte[0];
            }
        }
    }

    /** Cuts the chunk's file to {@code length} bytes. */
    void truncate(long inode, int index, int generation, long length) throws IOException {
        Path f = file(inode, index, generation);
        synchronized (lock(inode, index)) {
            if (!Files.exists(f)) {
                return;
            }
            long before = Files.size(f);
            if (before <= length) {
                return;
            }
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(length);
            }
            used.addAndGet(length - before);
        }
    }

    /** Deletes a chunk file, if present. */
    void delete(long inode, int index, int generation) throws IOException {
        Path f = file(inode, index, generation);
        synchronized (lock(inode, index)) {
            if (Files.exists(f)) {
                long size = Files.size(f);
                Files.delete(f);
                used.addAndGet(-size);
                files.decrementAndGet();
            }
        }
        try {
            Files.deleteIfExists(f.getParent());
        } catch (java.nio.file.DirectoryNotEmptyException busy) {
            // other chunks of the file remain
        }
    }

    /**
     * Deletes chunk file {@code c} (as {@link #list} saw it) unless it was written since: a caller that decided from
     * {@code c} that nobody needs the file does not delete a copy written meanwhile (by repair, say).
     *
     * @return whether it was deleted
     */
    boolean deleteIfUnchanged(Chunk c) throws IOException {
        Path f = file(c.inode(), c.index(), c.generation());
        synchronized (lock(c.inode(), c.index())) {
            try {
                if (Files.getLastModifiedTime(f).toMillis() != c.modifiedMillis() || Files.size(f) != c.bytes()) {
                    return false;
                }
            } catch (NoSuchFileException gone) {
                return false;
            }
            delete(c.inode(), c.index(), c.generation());
            return true;
        }
    }

    /**
     * Fsyncs every chunk file of {@code inode} held here, then the directories that name them (a new chunk file is
     * only durable once its directory entry is).
     */
    void force(long inode) throws IOException {
        Path d = dir.resolve(Long.toHexString(inode));
        List<Path> chunks;
        try (Stream<Path> s = Files.list(d)) {
            chunks = s.toList();
        } catch (NoSuchFileException gone) {
            return;                                            // no chunk here (or the last one deleted meanwhile)
        }
        for (Path f : chunks) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.force(true);
            } catch (NoSuchFileException gone) {
                // deleted meanwhile
            }
        }
        fsyncDirectory(d);
        fsyncDirectory(dir);
    }

    /**
     * Fsyncs directory {@code d}: where the platform cannot open a directory, nothing; a directory deleted meanwhile
     * is skipped; a failed fsync is an error.
     */
    private static void fsyncDirectory(Path d) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(d, StandardOpenOption.READ);
        } catch (NoSuchFileException gone) {
            return;                                            // deleted meanwhile: nothing of it to keep
        } catch (IOException notSupported) {
            log.debug("fs: directory {} cannot be opened to fsync it here: {}", d, notSupported.toString());
            return;
        }
        try (ch) {
            ch.force(true);
        }
    }

    /** Every chunk file held here. */
    List<Chunk> list() throws IOException {
        List<Chunk> out = new ArrayList<>();
        try (Stream<Path> inodes = Files.list(dir)) {
            for (Path d : inodes.toList()) {
                long inode;
                try {
                    inode = Long.parseUnsignedLong(d.getFileName().toString(), 16);
                } catch (NumberFormatException notOurs) {
                    continue;
                }
                try (Stream<Path> chunks = Files.list(d)) {
                    for (Path f : chunks.toList()) {
                        String[] parts = f.getFileName().toString().split("\\.");
                        if (parts.length != 2) {
                            continue;
                        }
                        try {
                            out.add(new Chunk(inode, Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                                    Files.size(f), Files.getLastModifiedTime(f).toMillis()));
                        } catch (NumberFormatException | NoSuchFileException skip) {
                            // not a chunk, or deleted meanwhile
                        }
                    }
                } catch (NoSuchFileException gone) {
                    // the file's last chunk was deleted meanwhile
                }
            }
        }
        return out;
    }
}
