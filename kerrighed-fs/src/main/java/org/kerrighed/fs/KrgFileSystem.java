package org.kerrighed.fs;

/** Placeholder: the file system is being written. */
public abstract class KrgFileSystem extends java.nio.file.FileSystem {
    KrgFileSystem(KrgFileSystemProvider provider, org.kerrighed.fs.internal.FsEngine engine) {
    }
}
