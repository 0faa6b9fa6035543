package org.kerrighed.fs;

import org.kerrighed.fs.internal.FsEngine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;

/** The bytes behind a {@link KrgFileChannel}: a file of the cluster, or a read-only snapshot (a /proc file). */
interface FileContent {
    /** Reads from {@code position} into {@code dst}; -1 at or past the end. */
    int read(long position, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src} at {@code position}. */
    int write(long position, ByteBuffer src) throws IOException;

    /** Writes all of {@code src} at the end; returns where. */
    long append(ByteBuffer src) throws IOException;

    long size() throws IOException;

    /** Cuts to {@code size} bytes when longer. */
    void truncate(long size) throws IOException;

    void force(boolean metadata) throws IOException;

    /** Inode {@code ino} through {@code engine}. */
    static FileContent of(FsEngine engine, long ino) {
        return new FileContent() {
            @Override
            public int read(long position, ByteBuffer dst) throws IOException {
                return engine.read(ino, position, dst);
            }

            @Override
            public int write(long position, ByteBuffer src) throws IOException {
                return engine.write(ino, position, src);
            }

            @Override
            public long append(ByteBuffer src) throws IOException {
                return engine.append(ino, src);
            }

            @Override
            public long size() throws IOException {
                return engine.inode(ino).size();
            }

            @Override
            public void truncate(long size) throws IOException {
                engine.truncate(ino, size);
            }

            @Override
            public void force(boolean metadata) throws IOException {
                engine.force(ino, metadata);
            }
        };
    }

    /** Fixed bytes, read-only: the writing methods throw {@link NonWritableChannelException}. */
    static FileContent snapshot(byte[] bytes) {
        return new FileContent() {
            @Override
            public int read(long position, ByteBuffer dst) {
                if (position >= bytes.length) {
                    return -1;
                }
                int n = (int) Math.min(dst.remaining(), bytes.length - position);
                dst.put(bytes, (int) position, n);
                return n;
            }

            @Override
            public int write(long position, ByteBuffer src) {
                throw new NonWritableChannelException();
            }

            @Override
            public long append(ByteBuffer src) {
                throw new NonWritableChannelException();
            }

            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public void truncate(long size) {
                throw new NonWritableChannelException();
            }

            @Override
            public void force(boolean metadata) {
            }
        };
    }
}
