package org.kerrighed.fs.internal;

import java.util.function.BooleanSupplier;

/**
 * A change that has to happen but failed (KDDM recovering from a failure, say), tried again on a virtual thread of its
 * own: after 1 s, then after pauses doubling up to 30 s, until it is done or its file system closes.
 */
final class BackgroundRetry {
    private static final long FIRST_MS = 1000;
    private static final long MAX_MS = 30_000;

    private BackgroundRetry() {
    }

    /**
     * Starts thread {@code name}, which runs {@code attempt} (true: done; it logs its own failures) until it is done,
     * {@code closed} holds or the thread is interrupted, then {@code after}.
     */
    static void start(String name, BooleanSupplier closed, BooleanSupplier attempt, Runnable after) {
        Thread.ofVirtual().name(name).start(() -> {
            try {
                long pause = FIRST_MS;
                while (!closed.getAsBoolean()) {
                    Thread.sleep(pause);
                    if (attempt.getAsBoolean()) {
                        return;
                    }
                    pause = Math.min(pause * 2, MAX_MS);
                }
            } catch (InterruptedException e) {
                // stopped: what was left undone stays so
            } finally {
                after.run();
            }
        });
    }
}
