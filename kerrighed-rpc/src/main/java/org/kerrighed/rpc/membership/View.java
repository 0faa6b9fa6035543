package org.kerrighed.rpc.membership;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The membership at one epoch: the live members in join order (the first is the master), the members
 * that departed in this epoch (failed or left), and the ids that stay retired. Immutable; every change
 * makes a new view with a higher epoch.
 *
 * @param epoch    increases by one on every membership change
 * @param master   node id of the member that made this view
 * @param members  live members (joining, online, leaving), oldest first
 * @param departed members that failed or left in this epoch (state FAILED or LEFT)
 * @param retired  ids of departed nodes not to be reused while anything born under them may live
 */
public record View(long epoch, int master, List<Member> members, List<Member> departed, Set<Integer> retired) {
    public View {
        members = List.copyOf(members);
        departed = List.copyOf(departed);
        retired = Set.copyOf(retired);
    }

    public static View empty() {
        return new View(0, -1, List.of(), List.of(), Set.of());
    }

    public Optional<Member> member(int nodeId) {
        for (Member m : members) {
            if (m.nodeId() == nodeId) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    public boolean contains(int nodeId, long incarnation) {
        return member(nodeId).map(m -> m.incarnation() == incarnation).orElse(false);
    }

    /** Ids of the live members, sorted. */
    public Set<Integer> nodeIds() {
        Set<Integer> s = new TreeSet<>();
        for (Member m : members) {
            s.add(m.nodeId());
        }
        return s;
    }

    /** Ids of the ONLINE members, sorted. */
    public Set<Integer> onlineIds() {
        Set<Integer> s = new TreeSet<>();
        for (Member m : members) {
            if (m.state() == NodeState.ONLINE) {
                s.add(m.nodeId());
            }
        }
        return s;
    }

    public int size() {
        return members.size();
    }
}
