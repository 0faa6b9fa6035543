package org.kerrighed.fs.internal;

import java.util.Arrays;

/**
 * One file or directory's metadata, an immutable value kept in the replicated inode set (changed by replacing it
 * under a KDDM write pin).
 *
 * <p>A file's data is cut into chunks of {@code chunkSize} bytes. {@code chunks[i]} is null for a chunk never
 * written (a hole, read as zeros), else {@code {generation, node, node...}}: the generation names the chunk's files
 * (a chunk dropped by a truncation and written again gets a new one, so no old bytes come back), and the nodes
 * hold it, the first being its primary (which orders the writes to it). A node is listed only while its copy is
 * current: a replica that missed a write is removed before the write returns, and added back by repair once it
 * holds a whole copy again.
 *
 * @param id          inode number (1 is the root)
 * @param version     bumped by every change (readers compare it to validate what they read ahead)
 * @param kind        file or directory
 * @param mode        permission bits (the low 12 bits of POSIX {@code st_mode})
 * @param uid         owner
 * @param gid         group
 * @param size        file size in bytes (0 for directories)
 * @param created     creation time, epoch microseconds
 * @param modified    last modification time, epoch microseconds
 * @param accessed    last access time, epoch microseconds (set explicitly; reads do not change it)
 * @param changed     last status change, epoch microseconds
 * @param replication copies of each chunk; for a directory, the default of files created in it (0 = the file
 *                    system's default)
 * @param chunkSize   bytes per chunk
 * @param chunks      replica lists by chunk index (files); empty for directories
 * @param names       entry names, sorted (directories); empty for files
 * @param targets     the inode numbers of {@code names}, in the same order
 * @param truncations bumped by every truncation (a write that sees it change while it writes does it again, since
 *                    the truncation may have cut its bytes)
 */
public record Inode(long id, long version, Kind kind, int mode, int uid, int gid, long size, long created, long modified,
                    long accessed, long changed, int replication, int chunkSize, int[][] chunks,
                    String[] names, long[] targets, long truncations) {
    /** The root directory's inode number. */
    public static final long ROOT = 1;

    public enum Kind { FILE, DIRECTORY }

    public Inode {
        chunks = chunks == null ? new int[0][] : chunks;
        names = names == null ? NO_NAMES : names;
        targets = targets == null ? NO_TARGETS : targets;
    }

    private static final String[] NO_NAMES = new String[0];
    private static final long[] NO_TARGETS = new long[0];

    /** The inode number of entry {@code name}, or -1. */
    public long lookup(String name) {
        int i = Arrays.binarySearch(names, name);
        return i >= 0 ? targets[i] : -1;
    }

    public int entryCount() {
        return names.length;
    }

    public boolean isDirectory() {
        return kind == Kind.DIRECTORY;
    }

    /** The nodes holding chunk {@code index}, primary first, or null for a hole. */
    public int[] replicas(int index) {
        int[] c = index < chunks.length ? chunks[index] : null;
        return c == null ? null : Arrays.copyOfRange(c, 1, c.length);
    }

    /** The generation of chunk {@code index} (its files' name); 0 for a hole. */
    public int generation(int index) {
        int[] c = index < chunks.length ? chunks[index] : null;
        return c == null ? 0 : c[0];
    }

    /**
     * The chunks that hold the file's bytes: those below its size (a writer that extends a file places a few chunks
     * past its end ahead of time).
     */
    public int usedChunks() {
        return chunkSize == 0 ? 0 : (int) Math.min(chunks.length, (size + chunkSize - 1) / chunkSize);
    }

    /** The number of chunk slots (holes included) up to the last allocated one. */
    public int chunkCount() {
        return chunks.length;
    }

    public Inode withSize(long newSize, long now) {
        return new Inode(id, version + 1, kind, mode, uid, gid, newSize, created, now, accessed, now, replication, chunkSize,
                chunks, names, targets, truncations);
    }

    public Inode withTimes(long newModified, long newAccessed, long newCreated, long now) {
        return new Inode(id, version + 1, kind, mode, uid, gid, size, newCreated, newModified, newAccessed, now, replication,
                chunkSize, chunks, names, targets, truncations);
    }

    public Inode withMode(int newMode, long now) {
        return new Inode(id, version + 1, kind, newMode & 07777, uid, gid, size, created, modified, accessed, now, replication,
                chunkSize, chunks, names, targets, truncations);
    }

    public Inode withOwner(int newUid, int newGid, long now) {
        return new Inode(id, version + 1, kind, mode, newUid, newGid, size, created, modified, accessed, now, replication,
                chunkSize, chunks, names, targets, truncations);
    }

    public Inode withReplication(int r, long now) {
        return new Inode(id, version + 1, kind, mode, uid, gid, size, created, modified, accessed, now, r, chunkSize, chunks,
                names, targets, truncations);
    }

    /**
     * A copy with chunk {@code index} of generation {@code generation} held by {@code nodes} (null drops the chunk),
     * the table grown or cut as needed.
     */
    public Inode withChunk(int index, int generation, int[] nodes) {
        int[][] c = Arrays.copyOf(chunks, Math.max(chunks.length, index + 1));
        if (nodes == null) {
            c[index] = null;
        } else {
            int[] e = new int[nodes.length + 1];
            e[0] = generation;
            System.arraycopy(nodes, 0, e, 1, nodes.length);
            c[index] = e;
        }
        return new Inode(id, version + 1, kind, mode, uid, gid, size, created, modified, accessed, changed, replication, chunkSize,
                trim(c), names, targets, truncations);
    }

    /** A copy cut to {@code newSize} bytes and its first {@code count} chunks, counted as a truncation. */
    public Inode truncated(long newSize, int count, long now) {
        return new Inode(id, version + 1, kind, mode, uid, gid, newSize, created, now, accessed, now, replication, chunkSize,
                trim(Arrays.copyOf(chunks, Math.min(count, chunks.length))), names, targets, truncations + 1);
    }

    /** A copy with entry {@code name} naming {@code target}, or removed when {@code target} is -1. */
    public Inode withEntry(String name, long target, long now) {
        int i = Arrays.binarySearch(names, name);
        String[] n;
        long[] t;
        if (target < 0) {
            if (i < 0) {
                return this;
            }
            n = new String[names.length - 1];
            t = new long[names.length - 1];
            System.arraycopy(names, 0, n, 0, i);
            System.arraycopy(names, i + 1, n, i, n.length - i);
            System.arraycopy(targets, 0, t, 0, i);
            System.arraycopy(targets, i + 1, t, i, t.length - i);
        } else if (i >= 0) {
            n = names;
            t = targets.clone();
            t[i] = target;
        } else {
            int at = -i - 1;
            n = new String[names.length + 1];
            t = new long[names.length + 1];
            System.arraycopy(names, 0, n, 0, at);
            System.arraycopy(names, at, n, at + 1, names.length - at);
            System.arraycopy(targets, 0, t, 0, at);
            System.arraycopy(targets, at, t, at + 1, targets.length - at);
            n[at] = name;
            t[at] = target;
        }
        return new Inode(id, version + 1, kind, mode, uid, gid, size, created, now, accessed, now, replication, chunkSize, chunks,
                n, t, truncations);
    }

    private static int[][] trim(int[][] c) {
        int n = c.length;
        while (n > 0 && c[n - 1] == null) {
            n--;
        }
        return n == c.length ? c : Arrays.copyOf(c, n);
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(id);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + " #" + id + " mode " + Integer.toOctalString(mode) + " size " + size
                + (isDirectory() ? " entries " + names.length : " chunks " + chunks.length);
    }
}
