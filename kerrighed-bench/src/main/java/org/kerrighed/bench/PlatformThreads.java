package org.kerrighed.bench;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Where the benchmark nodes time their work: control handlers run on virtual threads, measurements must not. */
final class PlatformThreads {
    private PlatformThreads() {
    }

    /** Runs {@code work} on a platform thread of its own named {@code name}, bounded by 10 minutes. */
    static long[] run(String name, Callable<long[]> work) throws Exception {
        CompletableFuture<long[]> f = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name(name).start(() -> {
            try {
                f.complete(work.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        try {
            return f.get(10, TimeUnit.MINUTES);
        } finally {
            t.interrupt();
        }
    }
}
