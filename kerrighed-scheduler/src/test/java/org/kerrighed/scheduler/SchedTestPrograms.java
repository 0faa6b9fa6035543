package org.kerrighed.scheduler;

import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.rpc.TypeRegistrar;

/** Programs the scheduler's tests run (registered: they travel). */
final class SchedTestPrograms {
    static final TypeRegistrar TYPES = b -> b.range("scheduler-tests", 31_000, 31_019)
            .register(31_000, Spin.class)
            .register(31_001, Spawner.class);

    private SchedTestPrograms() {
    }

    /**
     * Starts {@code children} short children with no node named (the placement hook decides), waits for them, and
     * exits with the set of nodes they ran on as a bit mask.
     */
    record Spawner(int children) implements org.kerrighed.epm.Program {
        @Override
        public int run(ProcessContext ctx) throws Exception {
            int nodes = 0;
            for (int i = 0; i < children; i++) {
                org.kerrighed.epm.ClusterProcess c = ctx.spawn(new Spin(1, 1), org.kerrighed.epm.SpawnOptions.defaults());
                nodes |= 1 << c.node();
                c.waitFor();
            }
            return nodes;
        }
    }

    /**
     * A CPU-bound program: {@code steps} steps of about {@code stepMillis} of computation each; exits with the
     * number of steps it ran (so a lost or repeated step shows).
     */
    static final class Spin implements StepProgram {
        private final int steps;
        private final long stepNanos;
        private int done;
        private long sink;

        Spin() {
            this(0, 0);                                         // for Kryo
        }

        Spin(int steps, long stepMillis) {
            this.steps = steps;
            this.stepNanos = stepMillis * 1_000_000;
        }

        @Override
        public boolean step(ProcessContext ctx) {
            long end = System.nanoTime() + stepNanos;
            long x = sink;
            while (System.nanoTime() < end) {
                for (int i = 0; i < 1000; i++) {
                    x = x * 6364136223846793005L + 1442695040888963407L;
                }
            }
            sink = x;
            return ++done >= steps;
        }

        @Override
        public int exitCode() {
            return done;
        }
    }
}
