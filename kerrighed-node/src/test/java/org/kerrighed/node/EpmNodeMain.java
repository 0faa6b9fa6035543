package org.kerrighed.node;

import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.epm.StepProgram;
import org.kerrighed.rpc.TypeRegistrar;

import java.time.Duration;

/**
 * A node in a JVM of its own for {@link ProcessCrashTest} and {@link CheckpointCrashTest}: {@code CLUSTER SECRET-FILE
 * ID [JOIN-ADDRESS]}, with the tests' programs registered. Prints {@code ONLINE id address} when joined, like {@link TestNodeMain}.
 */
public final class EpmNodeMain {
    /** Sleeps in the runtime for {@code millis}. */
    public record Sleep(long millis) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(millis));
            return 0;
        }
    }

    /** Starts a {@link Sleep} on {@code node} and exits with its exit code. */
    public record WaitRemote(int node) implements Program {
        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            ClusterProcess c = ctx.spawn(new Sleep(120_000), SpawnOptions.defaults().onNode(node));
            return ctx.waitFor(c.pid()).code();
        }
    }

    /**
     * Sums {@code (i * 31 + 7) % 1009} over [from, to), {@value #PER_STEP} numbers a step with a 2 ms sleep; result:
     * the sum. Its state is its fields.
     */
    public static final class SumPart implements StepProgram {
        static final int PER_STEP = 5_000;
        private long to;
        private long i;
        private long sum;

        private SumPart() {
        }

        public SumPart(long from, long to) {
            this.i = from;
            this.to = to;
        }

        @Override
        public boolean step(ProcessContext ctx) throws InterruptedException {
            ctx.sleep(Duration.ofMillis(2));
            for (long end = Math.min(i + PER_STEP, to); i < end; i++) {
                sum += (i * 31 + 7) % 1009;
            }
            if (i < to) {
                return false;
            }
            ctx.setResult(sum);
            return true;
        }
    }

    /**
     * Starts one {@link SumPart} of [0, n) per node of {@code on} and returns their total. Its progress is its fields
     * (parts started, parts ended, total so far), each changed between two safe points, so {@code run} entered again
     * after a restart goes on where the checkpoint found it.
     */
    public static final class SumJob implements Program {
        private int[] on;
        private long n;
        private int started;
        private int ended;
        private long total;

        private SumJob() {
        }

        public SumJob(long n, int... on) {
            this.n = n;
            this.on = on;
        }

        @Override
        public int run(ProcessContext ctx) throws InterruptedException {
            while (started < on.length) {
                int k = started;
                ctx.spawn(new SumPart(n * k / on.length, n * (k + 1) / on.length),
                        SpawnOptions.defaults().onNode(on[k]).name("part " + k));
                started++;
            }
            while (ended < on.length) {
                ProcessContext.ChildExit e = ctx.waitAny();
                if (e.status().code() != 0) {
                    return 1;
                }
                total += (Long) e.result();
                ended++;
            }
            ctx.setResult(total);
            return 0;
        }

        /** What an uninterrupted run of a job of {@code n} returns, computed in one thread. */
        public static long expected(long n) {
            long s = 0;
            for (long i = 0; i < n; i++) {
                s += (i * 31 + 7) % 1009;
            }
            return s;
        }
    }

    public static final TypeRegistrar TYPES = b -> b.range("epm-crash-test", 30_130, 30_139)
            .register(30_130, Sleep.class)
            .register(30_131, WaitRemote.class)
            .register(30_132, SumPart.class)
            .register(30_133, SumJob.class);

    private EpmNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        Node node = ChildNodes.join(args, TYPES);
        ChildNodes.serveUntilStopped(node);
    }
}
