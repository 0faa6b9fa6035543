package org.kerrighed.rpc.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time per key, in submission order, on threads from {@code executor}; different keys
 * run concurrently. A key's queue exists only while it has work, so idle keys cost nothing.
 */
final class SerialExecutor {
    private static final Logger log = LoggerFactory.getLogger(SerialExecutor.class);
    private final Executor executor;
    private final Map<Object, Queue> queues = new ConcurrentHashMap<>();

    SerialExecutor(Executor executor) {
        this.executor = executor;
    }

    void execute(Object key, Runnable task) {
        boolean start;
        Queue q;
        while (true) {
            q = queues.computeIfAbsent(key, k -> new Queue(k));
            synchronized (q) {
                if (q.dead) {
                    continue;                      // raced with the drainer removing it; take a fresh one
                }
                q.tasks.add(task);
                start = !q.running;
                q.running = true;
            }
            break;
        }
        if (start) {
            Queue queue = q;
            executor.execute(() -> drain(queue));
        }
    }

    private void drain(Queue q) {
        while (true) {
            Runnable next;
            synchronized (q) {
                next = q.tasks.poll();
                if (next == null) {
                    q.running = false;
                    q.dead = true;
                    queues.remove(q.key, q);
                    return;
                }
            }
            try {
                next.run();
            } catch (Throwable t) {
                log.error("ordered task for key {} failed", q.key, t);
            }
        }
    }

    int activeKeys() {
        return queues.size();
    }

    private static final class Queue {
        final Object key;
        final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        boolean running;
        boolean dead;

        Queue(Object key) {
            this.key = key;
        }
    }
}
