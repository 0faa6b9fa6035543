package org.kerrighed.kddm;

/**
 * Which node is an object's default owner (its <em>home</em>): where requests go when no node holds a hint, which
 * knows the object's owner, and which decides its first touch. Homes follow the membership: when nodes join or
 * leave, homes move and what the old home knew is handed over, so no object is lost.
 *
 * @param kind the policy
 * @param node the node for {@link Kind#FIXED}; ignored otherwise
 */
public record DefaultOwner(Kind kind, int node) {
    public enum Kind {
        /** One node; round robin while it is not a member. */
        FIXED,
        /** The n-th live node (sorted by id), n = id mod the number of live nodes. */
        ROUND_ROBIN,
        /** The node in bits 48-55 of the id ({@link #idOnNode}); round robin while it is not a member. */
        NODE_IN_ID,
        /** The set's linker decides ({@link IoLinker#defaultOwner}). */
        CUSTOM
    }

    public DefaultOwner {
        if (kind == null) {
            throw new NullPointerException("kind");
        }
    }

    public static DefaultOwner fixed(int node) {
        return new DefaultOwner(Kind.FIXED, node);
    }

    public static DefaultOwner roundRobin() {
        return new DefaultOwner(Kind.ROUND_ROBIN, -1);
    }

    public static DefaultOwner nodeInId() {
        return new DefaultOwner(Kind.NODE_IN_ID, -1);
    }

    public static DefaultOwner custom() {
        return new DefaultOwner(Kind.CUSTOM, -1);
    }

    /** An object id whose home, under {@link Kind#NODE_IN_ID}, is {@code node}: the node in bits 48-55. */
    public static long idOnNode(int node, long local) {
        if (node < 0 || node > 255 || local < 0 || local >= (1L << 48)) {
            throw new IllegalArgumentException("node must be 0-255 and local 0-2^48, got " + node + ", " + local);
        }
        return ((long) node << 48) | local;
    }

    /**
     * The home of {@code id} among {@code live} (sorted ascending, not empty).
     *
     * @param custom the linker's choice for {@link Kind#CUSTOM}; a node that is not live falls back to round robin
     */
    public int homeOf(long id, int[] live, int custom) {
        int preferred = switch (kind) {
            case FIXED -> node;
            case NODE_IN_ID -> (int) ((id >>> 48) & 0xff);
            case CUSTOM -> custom;
            case ROUND_ROBIN -> -1;
        };
        if (preferred >= 0 && java.util.Arrays.binarySearch(live, preferred) >= 0) {
            return preferred;
        }
        return live[(int) Math.floorMod(id, (long) live.length)];
    }
}
