package org.kerrighed.node;

import org.kerrighed.ipc.ClusterCyclicBarrier;
import org.kerrighed.ipc.ClusterLock;
import org.kerrighed.rpc.HandlerKind;
import org.kerrighed.rpc.ServiceKey;
import org.kerrighed.rpc.TypeRegistrar;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A node in a JVM of its own for {@link IpcCrashTest}: {@code CLUSTER SECRET-FILE ID [JOIN-ADDRESS]}. Serves
 * {@link #HOLD_LOCK} (a thread takes a cluster lock and never releases it; the reply says it is held) and
 * {@link #BARRIER} (a thread awaits a cluster barrier once and prints {@code BARRIER name outcome}). Prints
 * {@code ONLINE id address} when joined, like {@link TestNodeMain}.
 */
public final class IpcNodeMain {
    public record BarrierReq(String name, int parties) {
    }

    public static final TypeRegistrar TYPES = b -> b.range("ipc-crash-test", 30_120, 30_129)
            .register(30_120, BarrierReq.class);

    public static final ServiceKey<String, Boolean> HOLD_LOCK = ServiceKey.of(5010, "test.ipc.hold-lock",
            String.class, Boolean.class);
    public static final ServiceKey<BarrierReq, Boolean> BARRIER = ServiceKey.of(5011, "test.ipc.barrier",
            BarrierReq.class, Boolean.class);

    private IpcNodeMain() {
    }

    static void serve(Node node) {
        node.rpc().register(HOLD_LOCK, HandlerKind.BLOCKING, (ctx, name) -> {
            CountDownLatch held = new CountDownLatch(1);
            Thread.ofPlatform().daemon().name("holder").start(() -> {
                ClusterLock l = node.ipc().lock(name);
                l.lock();
                System.out.println("HOLDING " + name);
                held.countDown();                     // never unlocks
            });
            return held.await(30, TimeUnit.SECONDS);
        });
        node.rpc().register(BARRIER, HandlerKind.BLOCKING, (ctx, r) -> {
            ClusterCyclicBarrier b = node.ipc().cyclicBarrier(r.name(), r.parties());
            Thread.ofPlatform().daemon().name("party").start(() -> {
                String outcome;
                try {
                    b.await(60, TimeUnit.SECONDS);
                    outcome = "passed";
                } catch (Exception e) {
                    outcome = e.getClass().getSimpleName();
                }
                System.out.println("BARRIER " + r.name() + " " + outcome);
            });
            return true;
        });
    }

    public static void main(String[] args) throws Exception {
        Node node = ChildNodes.join(args, TYPES);
        serve(node);
        ChildNodes.serveUntilStopped(node);
    }
}
