package org.kerrighed.kddm.internal;

import org.kerrighed.kddm.SetSpec;
import org.kerrighed.kddm.SetStats;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.util.List;

/**
 * KDDM's messages and services (service ids 100-119, type ids 3000-3039). Protocol messages are one-way and
 * handled on I/O threads; per link they arrive in send order, which the protocol relies on (a copy is always
 * followed, never overtaken, by the invalidation its sender sends later).
 */
public final class Wire {
    private Wire() {
    }

    // request operations and flags
    static final byte READ = 0;
    static final byte WRITE = 1;
    static final byte F_NO_FT = 1;
    static final byte F_TRY = 2;
    static final byte F_HAS_COPY = 4;

    /** A request for a copy or for ownership, following probable-owner hints ({@code hops}: forwards so far). */
    record Req(long set, long id, int requester, byte op, byte flags, long reqId, int hops) {
        Req forwarded() {
            return new Req(set, id, requester, op, flags, reqId, hops + 1);
        }
    }

    // grant kinds
    static final byte G_COPY = 0;          // a read copy
    static final byte G_OWN_WRITE = 1;     // write ownership; nodes = readers whose invalidation acks to wait for
    static final byte G_HANDOFF = 2;       // read ownership handed over by a flushing owner; nodes = copyset
    static final byte G_GHOST = 3;         // the sole copy pushed by a flushing (or leaving) owner
    static final byte G_FIRST_TOUCH = 4;   // nobody has it: create it yourself and own it
    static final byte G_NO_OBJECT = 5;     // nobody has it and the request said no first touch
    static final byte G_BUSY = 6;          // a try request hit a pinned object
    static final byte G_LOST = 7;          // every copy died
    static final byte G_PROMOTE = 8;       // recovery: become the owner with the data you hold; nodes = copyset

    /** The wire form of an object whose value is null (a null {@code data} means "no data sent"). */
    record NullValue() {
        static final NullValue INSTANCE = new NullValue();
    }

    /**
     * An answer to a request (or a recovery order). {@code data} is the linker's wire form, or null.
     * {@code ownerDied}: with ownership, the object was recovered after its owner died and no write pin has
     * been told yet (see {@link org.kerrighed.kddm.Handle#ownerDied}).
     */
    record Grant(long set, long id, byte kind, Object data, long version, long ownSeq, long reqId, int[] nodes,
                 boolean ownerDied) {
        Grant(long set, long id, byte kind, Object data, long version, long ownSeq, long reqId, int[] nodes) {
            this(set, id, kind, data, version, ownSeq, reqId, nodes, false);
        }
    }

    /** Drop your read copy; acknowledge to {@code newOwner}. */
    record Inv(long set, long id, int newOwner, long ownSeq) {
    }

    static final byte A_INV = 0;           // invalidation done
    static final byte A_CHG_OWN = 1;       // hand-off received

    record Ack(long set, long id, byte kind, int from, long ownSeq) {
    }

    /** Tells an object's home (and, for unreplicated sets where the home owns it, a witness) who owns it. */
    record OwnerIs(long set, long id, int owner, long ownSeq) {
    }

    /** A replicated write: keep this version as a backup. */
    record Backup(long set, long id, long version, long ownSeq, int owner, Object data) {
    }

    /** The object was removed cluster-wide: forget it. */
    record Removed(long set, long id) {
    }

    // report item kinds
    static final byte R_OWNER = 0;
    static final byte R_HINT = 1;
    static final byte R_COPY = 2;
    static final byte R_BACKUP = 3;
    static final byte R_LOST = 4;

    record Item(long set, long id, byte kind, long version, long ownSeq, int node) {
    }

    /** What one node knows about objects whose home is the receiver, sent by every member on every view change. */
    record Report(long epoch, int from, boolean failure, List<Item> items) {
        Report {
            items = List.copyOf(items);
        }
    }

    /**
     * Sent by every member to every other when it installs a view, after the messages it sent before: a node
     * that has every member's marker has received every ownership transfer made before the view changed.
     */
    record Marker(long epoch, int from) {
    }

    record SetInfo(long set, SetSpec spec) {
    }

    static final ServiceKey<Req, Void> REQ = ServiceKey.oneWay(100, "kddm.req", Req.class);
    static final ServiceKey<Grant, Void> GRANT = ServiceKey.oneWay(101, "kddm.grant", Grant.class);
    static final ServiceKey<Inv, Void> INV = ServiceKey.oneWay(102, "kddm.inv", Inv.class);
    static final ServiceKey<Ack, Void> ACK = ServiceKey.oneWay(103, "kddm.ack", Ack.class);
    static final ServiceKey<OwnerIs, Void> OWNER_IS = ServiceKey.oneWay(104, "kddm.owner-is", OwnerIs.class);
    static final ServiceKey<Backup, Boolean> BACKUP = ServiceKey.of(105, "kddm.backup", Backup.class, Boolean.class);
    static final ServiceKey<Removed, Boolean> REMOVED = ServiceKey.of(106, "kddm.removed", Removed.class, Boolean.class);
    static final ServiceKey<Report, Void> REPORT = ServiceKey.oneWay(107, "kddm.report", Report.class);
    static final ServiceKey<Long, SetInfo> LOOKUP = ServiceKey.of(108, "kddm.lookup", Long.class, SetInfo.class);
    static final ServiceKey<Long, Boolean> DESTROY = ServiceKey.of(109, "kddm.destroy", Long.class, Boolean.class);
    static final ServiceKey<Marker, Void> MARKER = ServiceKey.oneWay(111, "kddm.marker", Marker.class);
    /** Counters of every set instantiated on the node (what {@code krg kddm stats} shows); the argument is ignored. */
    public static final ServiceKey<Long, org.kerrighed.kddm.KddmStats> STATS = ServiceKey.of(110, "kddm.stats",
            Long.class, org.kerrighed.kddm.KddmStats.class);

    /** KDDM's types; every node and tool of a cluster registers them. */
    public static void registerTypes(TypeRegistry.Builder b) {
        b.range("kerrighed-kddm", 3000, 3039)
                .register(3000, Req.class)
                .register(3001, Grant.class)
                .register(3002, Inv.class)
                .register(3003, Ack.class)
                .register(3004, OwnerIs.class)
                .register(3005, Backup.class)
                .register(3006, Removed.class)
                .register(3007, Item.class)
                .register(3008, Report.class)
                .register(3009, SetInfo.class)
                .register(3010, SetSpec.class)
                .register(3011, org.kerrighed.kddm.DefaultOwner.class)
                .register(3012, org.kerrighed.kddm.DefaultOwner.Kind.class)
                .register(3013, org.kerrighed.kddm.SetFlag.class)
                .register(3014, SetStats.class)
                .register(3015, org.kerrighed.kddm.KddmStats.class)
                .register(3016, Marker.class)
                .register(3017, NullValue.class)
                .register(3020, org.kerrighed.kddm.access.Credentials.class)
                .register(3021, org.kerrighed.kddm.access.Caller.class)
                .register(3022, org.kerrighed.kddm.access.IpcPerm.class);
    }
}
