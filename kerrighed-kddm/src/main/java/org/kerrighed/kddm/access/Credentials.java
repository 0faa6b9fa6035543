package org.kerrighed.kddm.access;

/**
 * Who a caller is, for permission checks on cluster objects (segments, IPC objects, files): a user id and a
 * group id, as on Unix. uid 0 is the superuser and passes every check. Until processes exist, a caller's
 * credentials are its node's ({@code node.uid} / {@code node.gid} in the node's configuration).
 */
public record Credentials(int uid, int gid) {
    public static final Credentials ROOT = new Credentials(0, 0);

    public Credentials {
        if (uid < 0 || gid < 0) {
            throw new IllegalArgumentException("uid and gid must be >= 0, got " + uid + "/" + gid);
        }
    }

    public boolean isRoot() {
        return uid == 0;
    }

    @Override
    public String toString() {
        return "uid=" + uid + " gid=" + gid;
    }
}
