package org.kerrighed.fs.internal;

import org.kerrighed.fs.FsConfig;
import org.kerrighed.fs.FsStatus;
import org.kerrighed.fs.ProcSource;
import org.kerrighed.kddm.Kddm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * One node's file-system machinery, under the {@code java.nio.file} provider: the namespace (inodes in a replicated
 * KDDM set), file data (chunks on the nodes' disks, written through each chunk's primary to every replica) and
 * repair. Paths given to it are absolute, normalized and {@code /}-separated ({@code "/"} is the root, no trailing
 * slash otherwise). Errors are the standard {@code java.nio.file} exceptions. Thread-safe; every method may block
 * (bounded by the node's call timeout).
 */
public final class FsEngine implements AutoCloseable {
    public FsEngine(Kddm kddm, FsConfig config) {
        throw new UnsupportedOperationException("not yet");
    }

    public int nodeId() {
        throw new UnsupportedOperationException("not yet");
    }

    /** The cluster's name, the authority of its {@code krg://} URIs. */
    public String clusterName() {
        throw new UnsupportedOperationException("not yet");
    }

    public void setProcSource(ProcSource source) {
        throw new UnsupportedOperationException("not yet");
    }

    /** The inode at {@code path}. @throws java.nio.file.NoSuchFileException when it or a parent is missing */
    public Inode stat(String path) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** The current value of inode {@code id}. @throws java.nio.file.NoSuchFileException once it was deleted */
    public Inode inode(long id) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * The file at {@code path}, created empty with {@code mode} when absent.
     *
     * @param exclusive fail with {@code FileAlreadyExistsException} when it exists (atomic check-and-create)
     * @throws java.nio.file.FileSystemException "Is a directory" when {@code path} names a directory
     */
    public Inode createFile(String path, int mode, boolean exclusive) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Creates a directory. @throws java.nio.file.FileAlreadyExistsException when the name is taken */
    public Inode createDirectory(String path, int mode) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Deletes a file or an empty directory. @throws java.nio.file.DirectoryNotEmptyException */
    public void delete(String path) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Renames atomically: at no time is the entry under both names or neither.
     *
     * @param replace replace an existing target (a file, or an empty directory); else
     *                {@code FileAlreadyExistsException}
     */
    public void rename(String source, String target, boolean replace) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** The names in directory {@code path}, sorted. @throws java.nio.file.NotDirectoryException */
    public List<String> list(String path) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Sets the times given (epoch microseconds; null keeps one). */
    public void setTimes(String path, Long modified, Long accessed, Long created) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Sets the permission bits (owner or root only). */
    public void setMode(String path, int mode) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Sets the owner and group (-1 keeps one; root only, or the owner changing the group). */
    public void setOwner(String path, int uid, int gid) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Sets a file's replication (repair adds or drops copies) or a directory's default for new files. */
    public void setReplication(String path, int replication) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Checks the caller's access. @throws java.nio.file.AccessDeniedException */
    public void checkAccess(String path, boolean read, boolean write, boolean execute) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Reads from {@code position} into {@code dst} up to its remaining bytes or the end of the file.
     *
     * @return the bytes read, or -1 when {@code position} is at or past the end
     */
    public int read(long ino, long position, ByteBuffer dst) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Writes all of {@code src} at {@code position}, growing the file if needed. Returns once every live replica of
     * the chunks written holds the bytes.
     */
    public int write(long ino, long position, ByteBuffer src) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Writes all of {@code src} at the end of the file, atomically with respect to other appends. @return the
     * position it was written at */
    public long append(long ino, ByteBuffer src) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Cuts the file to {@code size} bytes (no effect when it is not longer). */
    public void truncate(long ino, long size) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Returns once the file's bytes are on the disks (fsynced) of every live replica. */
    public void force(long ino, boolean metadata) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * For a file under {@code /proc}: its text, generated now. Empty for other paths.
     *
     * @throws java.nio.file.NoSuchFileException for a missing {@code /proc} file
     */
    public Optional<byte[]> procFile(String path) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    public FsStatus status() {
        throw new UnsupportedOperationException("not yet");
    }

    @Override
    public void close() {
    }
}
