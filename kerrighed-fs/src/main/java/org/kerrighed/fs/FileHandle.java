package org.kerrighed.fs;

/**
 * A {@link KrgFileChannel} as it travels to another node ({@link KrgFileChannel#handle()}): the file, the channel's
 * mode, and its position, which becomes one position shared by every channel opened from the handle and by the
 * channel it came from, on any node ({@link KrgFileSystem#open(FileHandle)}). A plain value: send it in a message.
 *
 * @param cluster    the cluster's name
 * @param path       the file's path when the handle was made (the channel follows the file, not the name)
 * @param inode      the file's inode number
 * @param readable   the channel reads
 * @param writable   the channel writes
 * @param append     the channel appends
 * @param positionId the shared position's id
 * @param position   the position when the handle was made (what a restarted copy starts from)
 */
public record FileHandle(String cluster, String path, long inode, boolean readable, boolean writable, boolean append,
                         long positionId, long position) {
}
