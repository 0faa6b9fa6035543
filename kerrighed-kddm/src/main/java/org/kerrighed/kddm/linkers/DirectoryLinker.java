package org.kerrighed.kddm.linkers;

import org.kerrighed.kddm.IoLinker;
import org.kerrighed.kddm.KddmException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Byte arrays backed by a storage directory on each node (for the file system): an object's first touch loads
 * its file if the node has one (else an empty array), {@code sync} writes it durably (write to a temporary
 * file, fsync, atomic rename), and {@code remove} deletes it on every node. Files are named by object id.
 */
public final class DirectoryLinker implements IoLinker<byte[]> {
    private final Path dir;

    public DirectoryLinker(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new KddmException("cannot create KDDM storage directory " + dir + ": " + e.getMessage(), e);
        }
    }

    public Path directory() {
        return dir;
    }

    private Path file(long id) {
        return dir.resolve(Long.toUnsignedString(id));
    }

    @Override
    public Class<?> type() {
        return byte[].class;
    }

    @Override
    public byte[] firstTouch(long id) {
        try {
            return Files.readAllBytes(file(id));
        } catch (NoSuchFileException e) {
            return new byte[0];
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file(id), e);
        }
    }

    @Override
    public Object export(long id, byte[] object) {
        return object;
    }

    @Override
    public byte[] importObject(long id, Object wire) {
        return (byte[]) wire;
    }

    @Override
    public void sync(long id, byte[] object) {
        Path f = file(id);
        Path tmp = dir.resolve(f.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(object == null ? new byte[0] : object));
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + tmp, e);
        }
        try {
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rename " + tmp + " to " + f, e);
        }
    }

    @Override
    public void remove(long id, byte[] object) {
        try {
            Files.deleteIfExists(file(id));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + file(id), e);
        }
    }
}
