package org.kerrighed.fs;

import org.kerrighed.fs.internal.Inode;

import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** A snapshot of an inode's attributes. The file key is the inode number (a {@code Long}). */
record KrgFileAttributes(Inode inode) implements PosixFileAttributes {
    private static final PosixFilePermission[] BY_BIT = {       // bit 8 (0400) first
        PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
        PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE};

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < BY_BIT.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                s.add(BY_BIT[i]);
            }
        }
        return s;
    }

    static int mode(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission p : permissions) {
            mode |= 0400 >> p.ordinal();
        }
        return mode;
    }

    static FileTime time(long micros) {
        return FileTime.from(micros, TimeUnit.MICROSECONDS);
    }

    static long micros(FileTime t) {
        return t.to(TimeUnit.MICROSECONDS);
    }

    @Override
    public FileTime lastModifiedTime() {
        return time(inode.modified());
    }

    @Override
    public FileTime lastAccessTime() {
        return time(inode.accessed());
    }

    @Override
    public FileTime creationTime() {
        return time(inode.created());
    }

    @Override
    public boolean isRegularFile() {
        return !inode.isDirectory();
    }

    @Override
    public boolean isDirectory() {
        return inode.isDirectory();
    }

    @Override
    public boolean isSymbolicLink() {
        return false;
    }

    @Override
    public boolean isOther() {
        return false;
    }

    @Override
    public long size() {
        return inode.size();
    }

    @Override
    public Object fileKey() {
        return inode.id();
    }

    @Override
    public UserPrincipal owner() {
        return new KrgPrincipals.User(inode.uid());
    }

    @Override
    public GroupPrincipal group() {
        return new KrgPrincipals.Group(inode.gid());
    }

    @Override
    public Set<PosixFilePermission> permissions() {
        return permissions(inode.mode());
    }
}
