package org.kerrighed.fs;

import java.util.List;

/**
 * The file system's health as one node sees it: every live node's storage, and the chunks' replication.
 *
 * @param nodes            one row per live node, by node id
 * @param files            files in the namespace
 * @param directories      directories in the namespace
 * @param chunks           chunks in all files
 * @param underReplicated  chunks with fewer live copies than their file asks for
 * @param lost             chunks with no live copy (their bytes read as an error until a copy comes back)
 * @param repairsDone      chunks copied by repair since this node started
 * @param repairBytes      bytes copied by repair since this node started
 * @param repairing        true while a repair pass runs somewhere
 */
public record FsStatus(List<NodeStorage> nodes, long files, long directories, long chunks, long underReplicated,
                       long lost, long repairsDone, long repairBytes, boolean repairing) {
    /**
     * One node's storage.
     *
     * @param node      node id
     * @param usedBytes bytes of chunk files stored there
     * @param chunks    chunk files stored there
     * @param quota     its quota ({@code Long.MAX_VALUE}: none)
     * @param freeBytes free space on its storage disk
     */
    public record NodeStorage(int node, long usedBytes, long chunks, long quota, long freeBytes) {
    }

    /** True when every chunk has all its copies. */
    public boolean healthy() {
        return underReplicated == 0 && lost == 0;
    }
}
