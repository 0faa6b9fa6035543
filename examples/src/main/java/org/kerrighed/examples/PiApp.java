package org.kerrighed.examples;

import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;

/**
 * {@link MonteCarloPi} as an application JAR for {@code krg run}: nothing of it is registered or on the nodes'
 * classpath; the cluster ships the JAR and its worker programs travel as images.
 *
 * <pre>
 * krg run --caps +DISTANT_FORK examples.jar org.kerrighed.examples.PiApp [WORKERS [POINTS-PER-WORKER]]
 * </pre>
 *
 * Runs a {@link MonteCarloPi.Job} in its own process (6 workers of 5,000,000 points by default) and prints the
 * estimate with {@code ctx.out()}, on the node it runs on.
 */
public final class PiApp implements Program {
    @Override
    public int run(ProcessContext ctx) throws InterruptedException {
        int workers = ctx.args().isEmpty() ? 6 : Integer.parseInt(ctx.args().get(0));
        long points = ctx.args().size() < 2 ? 5_000_000 : Long.parseLong(ctx.args().get(1));
        return new MonteCarloPi.Job(workers, points, 42).run(ctx);
    }
}
