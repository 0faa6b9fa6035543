package org.kerrighed.kddm.access;

/**
 * The owner and permission mode of a cluster object, as SysV's {@code ipc_perm}: owner {@code uid}/{@code gid},
 * creator {@code cuid}/{@code cgid}, and {@code mode}'s low 9 bits (owner, group, others; read 4, write 2).
 * Immutable.
 */
public record IpcPerm(int uid, int gid, int cuid, int cgid, int mode) {
    public IpcPerm {
        if ((mode & ~0777) != 0) {
            throw new IllegalArgumentException("mode has bits other than 0777: 0" + Integer.toOctalString(mode));
        }
    }

    /** The permissions of an object {@code creator} makes with {@code mode}. */
    public static IpcPerm createdBy(Credentials creator, int mode) {
        return new IpcPerm(creator.uid(), creator.gid(), creator.uid(), creator.gid(), mode);
    }

    /** True when {@code c} may {@code access} the object (root always may). */
    public boolean allows(Credentials c, Access access) {
        if (c.isRoot()) {
            return true;
        }
        int shift = c.uid() == uid || c.uid() == cuid ? 6 : c.gid() == gid || c.gid() == cgid ? 3 : 0;
        return ((mode >> shift) & access.bit) != 0;
    }

    /**
     * Checks that {@code c} may {@code access} {@code what}.
     *
     * @throws PermissionDeniedException when it may not, naming the object, the access and the modes
     */
    public void check(Credentials c, Access access, String what) {
        if (!allows(c, access)) {
            throw new PermissionDeniedException(access.name().toLowerCase() + " access to " + what
                    + " denied for " + c + " (owner " + uid + ":" + gid + ", mode 0" + Integer.toOctalString(mode)
                    + ")");
        }
    }

    /** True when {@code c} may change or remove the object: root, its owner or its creator. */
    public boolean ownedBy(Credentials c) {
        return c.isRoot() || c.uid() == uid || c.uid() == cuid;
    }

    /** Checks {@link #ownedBy}; {@code what} names the object and the operation for the error. */
    public void checkOwner(Credentials c, String what) {
        if (!ownedBy(c)) {
            throw new PermissionDeniedException(what + " denied for " + c + ": only the owner (uid " + uid
                    + "), the creator (uid " + cuid + ") or root may");
        }
    }

    public IpcPerm withMode(int newMode) {
        return new IpcPerm(uid, gid, cuid, cgid, newMode);
    }

    @Override
    public String toString() {
        return uid + ":" + gid + " 0" + Integer.toOctalString(mode);
    }
}
