package org.kerrighed.rpc.membership;

import org.kerrighed.rpc.HostAndPort;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistry;

import java.util.ArrayList;
import java.util.List;

/** The membership protocol's messages and services (service ids 10-19, type ids 1000-1029). */
final class Messages {
    private Messages() {
    }

    /** Asked of any node by a joiner (as an authenticated client): where is the cluster? */
    record InfoRequest(String clusterName) {
    }

    record Info(View view, List<HostAndPort> discoveryAddresses) {
        Info {
            discoveryAddresses = new ArrayList<>(discoveryAddresses);
        }
    }

    /** Asked of the master: an id for a new node (-1: any free id). */
    record AllocateId(int requested) {
    }

    /** A node that started its endpoint with its id asks the master to be admitted. */
    record Join(Member candidate) {
    }

    /** Suspicion of a node, sent to the master. */
    record Suspect(int nodeId, long incarnation, String reason) {
    }

    /** A graceful leave, asked of the master. */
    record Leave(int nodeId, long incarnation) {
    }

    /** Am I (still) a member? Asked of the master by a node that was paused or lost its links. */
    record Check(int nodeId, long incarnation) {
    }

    record CheckReply(boolean member, View view) {
    }

    /** A new view pushed by the master; the reply is sent after the hooks ran. */
    record Install(View view) {
    }

    record Ack(long epoch) {
    }

    static final ServiceKey<InfoRequest, Info> INFO = ServiceKey.of(10, "membership.info", InfoRequest.class, Info.class);
    static final ServiceKey<AllocateId, Integer> ALLOCATE = ServiceKey.of(11, "membership.allocate", AllocateId.class, Integer.class);
    static final ServiceKey<Join, View> JOIN = ServiceKey.of(12, "membership.join", Join.class, View.class);
    static final ServiceKey<Suspect, Void> SUSPECT = ServiceKey.oneWay(13, "membership.suspect", Suspect.class);
    static final ServiceKey<Leave, View> LEAVE = ServiceKey.of(14, "membership.leave", Leave.class, View.class);
    static final ServiceKey<Check, CheckReply> CHECK = ServiceKey.of(15, "membership.check", Check.class, CheckReply.class);
    static final ServiceKey<Install, Ack> INSTALL = ServiceKey.of(16, "membership.install", Install.class, Ack.class);
    static final ServiceKey<Long, Long> PROBE = ServiceKey.of(17, "membership.probe", Long.class, Long.class);

    /** Registers the membership types; part of every registry (kerrighed-rpc's system range). */
    static void register(TypeRegistry.Builder b) {
        b.range("kerrighed-rpc.membership", 1000, 1029)
                .register(1000, NodeState.class)
                .register(1001, Member.class)
                .register(1002, View.class)
                .register(1003, InfoRequest.class)
                .register(1004, Info.class)
                .register(1005, AllocateId.class)
                .register(1006, Join.class)
                .register(1007, Suspect.class)
                .register(1008, Leave.class)
                .register(1009, Check.class)
                .register(1010, CheckReply.class)
                .register(1011, Install.class)
                .register(1012, Ack.class);
    }
}
