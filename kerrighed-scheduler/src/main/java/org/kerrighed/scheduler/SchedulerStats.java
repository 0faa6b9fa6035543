package org.kerrighed.scheduler;

import java.util.Map;

/**
 * One scheduler's counters on one node, since it was (re)created there: what {@code krg sched stats} shows.
 *
 * @param decisions  calls of the policy's {@code decide}
 * @param placements new processes it placed
 * @param migrations moves it asked for that completed
 * @param failed     moves it asked for that failed (the process stays where it was)
 * @param errors     policy exceptions and invalid answers
 * @param disabled   why the scheduler does not run on this node (a missing type, repeated errors), or null
 * @param seen       the values the policy saw at its last decision: ports ({@code local_load}) and remote values
 *                   ({@code remote_load@2})
 * @param last       the last decision, in words
 */
public record SchedulerStats(int node, String scheduler, String policy, long decisions, long placements,
                             long migrations, long failed, long errors, String disabled, Map<String, Double> seen,
                             String last) {
    public SchedulerStats {
        seen = Map.copyOf(seen);
    }
}
