package org.kerrighed.fs.internal;

import org.kerrighed.fs.ProcSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.List;

/**
 * The read-only {@code /proc} tree: directories and files the {@link ProcSource} answers for, generated when
 * listed or read. Its inodes are made up on the spot (negative numbers, never stored).
 */
final class ProcTree {
    static final String ROOT = "/proc";

    private volatile ProcSource source = new ProcSource() {
        @Override
        public List<String> list(String dir) {
            return dir.isEmpty() ? List.of() : null;
        }

        @Override
        public String read(String file) {
            return null;
        }
    };

    void setSource(ProcSource source) {
        this.source = source;
    }

    static boolean covers(String path) {
        return path.equals(ROOT) || path.startsWith(ROOT + "/");
    }

    private static String relative(String path) {
        return path.equals(ROOT) ? "" : path.substring(ROOT.length() + 1);
    }

    /** The made-up inode of a {@code /proc} path. */
    Inode stat(String path) throws NoSuchFileException {
        String rel = relative(path);
        long now = Clock.micros();
        long id = -1 - (rel.hashCode() & 0x7fffffffL);
        if (source.list(rel) != null) {
            return new Inode(id, 0, Inode.Kind.DIRECTORY, 0555, 0, 0, 0, now, now, now, now, 0, 0, null, null, null, 0);
        }
        String text = source.read(rel);
        if (text == null) {
            throw new NoSuchFileException(path);
        }
        return new Inode(id, 0, Inode.Kind.FILE, 0444, 0, 0, text.getBytes(StandardCharsets.UTF_8).length, now, now,
                now, now, 0, 0, null, null, null, 0);
    }

    List<String> list(String path) throws NoSuchFileException, java.nio.file.NotDirectoryException {
        List<String> names = source.list(relative(path));
        if (names == null) {
            stat(path);
            throw new java.nio.file.NotDirectoryException(path);
        }
        return names.stream().sorted().toList();
    }

    byte[] read(String path) throws NoSuchFileException, java.nio.file.FileSystemException {
        String rel = relative(path);
        String text = source.read(rel);
        if (text == null) {
            if (source.list(rel) != null) {
                throw new java.nio.file.FileSystemException(path, null, "Is a directory");
            }
            throw new NoSuchFileException(path);
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static AccessDeniedException readOnly(String path) {
        return new AccessDeniedException(path, null, "/proc is read-only");
    }
}
