package org.kerrighed.scheduler;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default policies' decisions for given port values, read through {@link Values}, a context holding them.
 * Loads are in processes (one process's load is 1.0), as on a one-processor node.
 */
class MosixBalancerTest {
    private static final long SECOND = 1_000_000_000L;

    /** A {@link PolicyContext} of fixed values, as the engine would give them at one decision. */
    static final class Values implements PolicyContext {
        int node = 0;
        int[] nodes = {0, 1, 2, 3};
        long now = 100 * SECOND;
        final Map<String, Double> local = new HashMap<>(Map.of("single_process_load", 1.0));
        final Map<Integer, Double> remote = new HashMap<>();
        final Map<Integer, Long> polledAt = new HashMap<>();
        final Map<Integer, Double> processLoad = new HashMap<>();
        final List<ProcessSample> movable = new ArrayList<>();
        final Map<String, String> params = new HashMap<>();
        final List<long[]> sent = new ArrayList<>();                 // {time, node}: what the engine would record

        Values load(double l) {
            local.put("local_load", l);
            return this;
        }

        /** Node {@code n}'s {@code remote_load}, polled {@code agoSeconds} ago. */
        Values remote(int n, double l, double agoSeconds) {
            remote.put(n, l);
            polledAt.put(n, now - (long) (agoSeconds * SECOND));
            return this;
        }

        /** A process that may move, with its {@code process_load}. */
        Values process(int pid, double load) {
            movable.add(new ProcessSample(pid, 1, pid, pid, 0, true, true, 0, "p" + pid));
            processLoad.put(pid, load);
            return this;
        }

        @Override
        public int node() {
            return node;
        }

        @Override
        public int sentSince(int n, long sinceNanos) {
            return (int) sent.stream().filter(x -> x[1] == n && x[0] > sinceNanos).count();
        }

        @Override
        public int[] nodes() {
            return nodes.clone();
        }

        @Override
        public long nanoTime() {
            return now;
        }

        @Override
        public double value(String port) {
            return local.getOrDefault(port, Double.NaN);
        }

        @Override
        public double remote(String port, int n) {
            if (n == node) {
                return value(port);
            }
            return port.equals("remote_load") ? remote.getOrDefault(n, Double.NaN) : Double.NaN;
        }

        @Override
        public long remoteAge(String port, int n) {
            Long at = polledAt.get(n);
            return n == node ? 0 : at == null ? Long.MAX_VALUE : now - at;
        }

        @Override
        public Map<Integer, Double> perProcess(String port) {
            return port.equals("process_load") ? processLoad : Map.of();
        }

        @Override
        public List<ProcessSample> movable() {
            return List.copyOf(movable);
        }

        @Override
        public String param(String name, String otherwise) {
            return params.getOrDefault(name, otherwise);
        }

        @Override
        public double param(String name, double otherwise) {
            String v = params.get(name);
            return v == null ? otherwise : Double.parseDouble(v);
        }
    }

    private static Values threeProcesses() {
        return new Values().process(10, 0.5).process(11, 0.3).process(12, 0.2);
    }

    @Test
    void noMoveWhileTheLightestNodePlusTheStabilityFactorIsNotBelowTheLocalLoad() {
        Values v = threeProcesses().load(2.2).remote(1, 0.9, 0.5).remote(2, 1.5, 0.5).remote(3, 2.0, 0.5);
        v.params.put("choices", "0");                           // Kerrighed's rule: the lightest node
        assertEquals(List.of(), new MosixBalancer().decide("local_load", v), "0.9 + 1.3 >= 2.2");
        v.load(2.3);
        assertEquals(List.of(new Move(11, 1)), new MosixBalancer().decide("local_load", v), "0.9 + 1.3 < 2.3");
    }

    @Test
    void theStabilityFactorIsAParameter() {
        Values v = threeProcesses().load(2.2).remote(1, 0.9, 0.5);
        v.params.put("stab_factor", "100");
        assertEquals(List.of(new Move(11, 1)), new MosixBalancer().decide("local_load", v), "0.9 + 1.0 < 2.2");
    }

    @Test
    void aSmallGapMovesTheProcessWithTheSecondHighestLoadToTheLightestNode() {
        Values v = threeProcesses().load(3.0).remote(1, 1.5, 0.5).remote(2, 1.0, 0.5).remote(3, 1.2, 0.5);
        v.params.put("choices", "0");
        assertEquals(List.of(new Move(11, 2)), new MosixBalancer().decide("local_load", v),
                "a gap of 2 processes is not more than spread_above: one move, Kerrighed's choice");
    }

    @Test
    void aLoneProcessIsTheOneThatMoves() {
        Values v = new Values().process(10, 0.9).load(2.0).remote(1, 0.0, 0.5);
        assertEquals(List.of(new Move(10, 1)), new MosixBalancer().decide("local_load", v));
    }

    @Test
    void aGapOfMoreThanTwoProcessesMovesSeveralSpreadOverTheLightestNodes() {
        Values v = threeProcesses().process(13, 0.1).process(14, 0.05).load(6.0)
                .remote(1, 0.0, 0.5).remote(2, 1.0, 0.5).remote(3, 4.0, 0.5);
        v.params.put("choices", "0");
        // Estimates 0, 1, 4. Move 1 to node 1 (0 -> 1, local 5); tie at 1: lower id, node 1 (1 -> 2, local 4);
        // node 2 (1 -> 2, local 3); then the lightest, 2, plus 1.3 is not below 3: stop.
        assertEquals(List.of(new Move(11, 1), new Move(10, 1), new Move(12, 2)),
                new MosixBalancer().decide("local_load", v),
                "second-highest load first, then the highest, then down; each to the lightest estimate");
    }

    @Test
    void withManyLightNodesEachNodeSendsToTheLighterOfTwoDrawnAtRandomSoLoadedNodesDoNotHerd() {
        java.util.Set<Integer> targets = new java.util.TreeSet<>();
        for (int self = 0; self < 10; self++) {
            Values v = threeProcesses().load(2.0);                // a gap of 2: one move
            v.node = self;
            v.nodes = java.util.stream.IntStream.concat(java.util.stream.IntStream.of(self),
                    java.util.stream.IntStream.range(10, 30)).toArray();
            for (int n = 10; n < 30; n++) {
                v.remote(n, n == 29 ? 2.0 : 0.0, 0.5);
            }
            List<Move> moves = new MosixBalancer().decide("local_load", v);
            assertEquals(1, moves.size());
            assertTrue(moves.getFirst().node() != 29, "node 29 is never lighter than the other one drawn");
            targets.add(moves.getFirst().node());
            assertEquals(moves, new MosixBalancer().decide("local_load", v), "the same node draws the same");
        }
        assertTrue(targets.size() >= 5, "ten loaded nodes spread their moves: " + targets);
    }

    @Test
    void maxMovesCapsOneDecision() {
        Values v = threeProcesses().process(13, 0.1).load(8.0).remote(1, 0.0, 0.5).remote(2, 0.0, 0.5);
        v.params.put("max_moves", "2");
        assertEquals(List.of(new Move(11, 1), new Move(10, 2)), new MosixBalancer().decide("local_load", v));
    }

    @Test
    void processesSentSinceARemoteValueWasPolledCountOnThatNode() {
        MosixBalancer b = new MosixBalancer();
        Values first = threeProcesses().load(2.0).remote(1, 0.0, 1).remote(2, 0.2, 1);
        assertEquals(List.of(new Move(11, 1)), b.decide("local_load", first));

        Values stale = threeProcesses().load(2.0);
        stale.now = first.now + 2 * SECOND;
        stale.sent.add(new long[] {first.now, 1});                // the move of the first decision
        stale.remote(1, 0.0, 3).remote(2, 0.2, 3);
        assertEquals(List.of(new Move(11, 2)), b.decide("local_load", stale),
                "node 1's value predates the move there: estimated 0 + 1, so node 2 (0.2) is lighter");

        Values fresh = threeProcesses().load(2.0);
        fresh.now = first.now + 4 * SECOND;
        fresh.sent.add(new long[] {first.now, 1});
        fresh.remote(1, 0.0, 0.5).remote(2, 0.2, 0.5);
        assertEquals(List.of(new Move(11, 1)), b.decide("local_load", fresh),
                "values polled after the moves already count them: node 1 is taken at 0 again");
    }

    @Test
    void onlyProcessesOfMovableAreEverMoved() {
        Values v = new Values().process(10, 0.2).process(11, 0.1).load(9.0).remote(1, 0.0, 0.5).remote(2, 0.0, 0.5);
        v.processLoad.put(99, 5.0);
        v.processLoad.put(98, 4.0);
        List<Move> moves = new MosixBalancer().decide("local_load", v);
        assertEquals(List.of(new Move(11, 1), new Move(10, 2)), moves,
                "processes 98 and 99 have the highest loads but are not movable");

        Values none = new Values().load(9.0).remote(1, 0.0, 0.5);
        none.processLoad.put(99, 5.0);
        assertEquals(List.of(), new MosixBalancer().decide("local_load", none));
    }

    @Test
    void noDecisionWithoutValues() {
        MosixBalancer b = new MosixBalancer();
        assertEquals(List.of(), b.decide("local_load", threeProcesses().load(5.0)), "no remote value yet");
        assertEquals(List.of(), b.decide("local_load", threeProcesses().remote(1, 0.0, 0.5)), "no local load yet");
        assertEquals(List.of(), b.decide("remote_load", threeProcesses().load(5.0).remote(1, 0.0, 0.5)),
                "only local_load triggers a decision");
        assertTrue(b.triggers().equals(java.util.Set.of("local_load")));
    }

    @Test
    void roundRobinPlacesOnTheNodesOfItsSetInTurn() {
        RoundRobinPolicy rr = new RoundRobinPolicy();
        Values v = new Values();
        v.nodes = new int[] {1, 4, 6};
        List<Integer> placed = new ArrayList<>();
        NewProcess p = new NewProcess("job", 1, 0, 0, 0);
        for (int i = 0; i < 7; i++) {
            placed.add(rr.place(p, v));
        }
        assertEquals(List.of(1, 4, 6, 1, 4, 6, 1), placed);
        v.nodes = new int[0];
        assertEquals(Policy.NO_CHOICE, rr.place(p, v), "no node to place on");
    }
}
