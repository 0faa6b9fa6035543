package org.kerrighed.node;

import org.kerrighed.epm.ClusterProcess;
import org.kerrighed.epm.ProcessContext;
import org.kerrighed.epm.Program;
import org.kerrighed.epm.SpawnOptions;
import org.kerrighed.rpc.TypeRegistrar;

import java.time.Duration;

/**
 * A node in a JVM of its own for {@link ProcessCrashTest}: {@code CLUSTER SECRET-FILE ID [JOIN-ADDRESS]}, with the
 * test's programs registered. Prints {@code ONLINE id address} when joined, like {@link TestNodeMain}.
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

    public static final TypeRegistrar TYPES = b -> b.range("epm-crash-test", 30_130, 30_139)
            .register(30_130, Sleep.class)
            .register(30_131, WaitRemote.class);

    private EpmNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        Node node = ChildNodes.join(args, TYPES);
        ChildNodes.serveUntilStopped(node);
    }
}
